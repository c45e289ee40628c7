"""What the OTEL_* variables and CAVE_OTEL_SAMPLING_RATE turn into."""

from __future__ import annotations

import pytest

from api.telemetry.settings import TelemetrySettingError, TelemetrySettings, telemetry_settings

BASE = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}


def test_no_endpoint_means_no_tracing() -> None:
    assert telemetry_settings({}) is None
    assert telemetry_settings({"CAVE_OTEL_SAMPLING_RATE": "0.5"}) is None
    assert telemetry_settings({**BASE, "OTEL_SDK_DISABLED": "true"}) is None


def test_endpoints_defaults_and_service_name() -> None:
    assert telemetry_settings(BASE) == TelemetrySettings(
        "http://collector:4318/v1/traces", "bkg-db", "parentbased_always_on", 1.0
    )
    traces = {**BASE, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:1/x"}
    settings = telemetry_settings({**traces, "OTEL_SERVICE_NAME": "db-eu"})
    assert settings is not None
    assert (settings.endpoint, settings.service_name) == ("http://t:1/x", "db-eu")


def test_the_sampling_rate_is_a_parent_based_ratio_and_wins() -> None:
    env = {**BASE, "CAVE_OTEL_SAMPLING_RATE": "0.25", "OTEL_TRACES_SAMPLER": "always_off"}
    settings = telemetry_settings(env)
    assert settings is not None
    assert (settings.sampler, settings.ratio) == ("parentbased_traceidratio", 0.25)


def test_the_standard_sampler_variables_are_honoured() -> None:
    env = {**BASE, "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
    settings = telemetry_settings(env)
    assert settings is not None
    assert (settings.sampler, settings.ratio) == ("traceidratio", 0.1)
    off = telemetry_settings({**BASE, "OTEL_TRACES_SAMPLER": "ALWAYS_OFF"})
    assert off is not None and off.sampler == "always_off"


@pytest.mark.parametrize(
    "env",
    [
        {"CAVE_OTEL_SAMPLING_RATE": "1.5"},
        {"CAVE_OTEL_SAMPLING_RATE": "-0.1"},
        {"CAVE_OTEL_SAMPLING_RATE": "half"},
        {"CAVE_OTEL_SAMPLING_RATE": "nan"},
        {"OTEL_TRACES_SAMPLER": "sometimes"},
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
    ],
)
def test_bad_values_are_refused_naming_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(TelemetrySettingError) as caught:
        telemetry_settings({**BASE, **env})
    assert next(iter(env)) in str(caught.value) or "OTEL_TRACES_SAMPLER" in str(caught.value)
