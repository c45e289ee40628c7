"""Tracing settings, read once from the environment by `bkgdb serve`.

Tracing is on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or
`OTEL_EXPORTER_OTLP_ENDPOINT` (its `/v1/traces`) is set, and `OTEL_SDK_DISABLED` is not
`true`. The sampler: `CAVE_OTEL_SAMPLING_RATE` (0.0-1.0) asks for a parent-based trace-id
ratio; without it the standard `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` apply, by
default `parentbased_always_on`. The service is `bkg-db` unless `OTEL_SERVICE_NAME` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SERVICE_NAME = "bkg-db"
RATE_ENV = "CAVE_OTEL_SAMPLING_RATE"
SAMPLERS = frozenset(
    {
        "always_on",
        "always_off",
        "traceidratio",
        "parentbased_always_on",
        "parentbased_always_off",
        "parentbased_traceidratio",
    }
)


class TelemetrySettingError(ValueError):
    """A tracing variable the server cannot start with (it names the variable)."""


@dataclass(frozen=True)
class TelemetrySettings:
    """Where spans go and which are kept."""

    endpoint: str
    """The OTLP/HTTP traces URL (`.../v1/traces`)."""
    service_name: str = SERVICE_NAME
    sampler: str = "parentbased_always_on"
    """One of `SAMPLERS`; a ratio sampler takes `ratio`."""
    ratio: float = 1.0


def telemetry_settings(env: Mapping[str, str]) -> TelemetrySettings | None:
    """The tracing `env` asks for, or None when it asks for none."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    endpoint = _endpoint(env)
    if endpoint is None:
        return None
    sampler, ratio = _sampler(env)
    service = env.get("OTEL_SERVICE_NAME", "").strip() or SERVICE_NAME
    return TelemetrySettings(endpoint, service, sampler, ratio)


def _endpoint(env: Mapping[str, str]) -> str | None:
    traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if traces:
        return traces
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


def _sampler(env: Mapping[str, str]) -> tuple[str, float]:
    rate = env.get(RATE_ENV, "").strip()
    if rate:
        return "parentbased_traceidratio", _ratio(RATE_ENV, rate)
    name = env.get("OTEL_TRACES_SAMPLER", "").strip().lower() or "parentbased_always_on"
    if name not in SAMPLERS:
        known = ", ".join(sorted(SAMPLERS))
        raise TelemetrySettingError(f"OTEL_TRACES_SAMPLER={name!r} is not one of {known}")
    arg = env.get("OTEL_TRACES_SAMPLER_ARG", "").strip()
    ratio = _ratio("OTEL_TRACES_SAMPLER_ARG", arg) if arg and "ratio" in name else 1.0
    return name, ratio


def _ratio(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise TelemetrySettingError(f"{name} takes a number from 0.0 to 1.0, not {text!r}")
    return value
