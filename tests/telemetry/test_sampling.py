"""The sampling ratio holds within a binomial tolerance, for roots and through HTTP."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.telemetry.provider import build_provider
from api.telemetry.settings import TelemetrySettings
from tests.http.conftest import make_data_dir
from tests.telemetry.conftest import UNUSED_ENDPOINT, traced_api

SIGMAS = 4.5
"""How far from n*p a count may fall (a false failure about once in 150,000 runs)."""


def within_binomial(count: int, n: int, p: float) -> bool:
    return abs(count - n * p) <= SIGMAS * math.sqrt(n * p * (1 - p)) + 1


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_root_spans_are_sampled_at_the_ratio(ratio: float) -> None:
    exporter = InMemorySpanExporter()
    settings = TelemetrySettings(UNUSED_ENDPOINT, sampler="parentbased_traceidratio", ratio=ratio)
    provider = build_provider(settings, SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    n = 5000
    for _ in range(n):
        with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
            pass
    names = [s.name for s in exporter.get_finished_spans()]
    roots = names.count("root")
    assert names.count("child") == roots  # children follow their root's decision
    assert within_binomial(roots, n, ratio), (roots, n, ratio)
    provider.shutdown()


def test_requests_are_sampled_at_the_ratio(tmp_path: Path) -> None:
    ratio, n = 0.3, 300
    settings = TelemetrySettings(UNUSED_ENDPOINT, sampler="parentbased_traceidratio", ratio=ratio)
    for traced in traced_api(make_data_dir(tmp_path), settings):
        ids = {traced.api.client.get("/healthz").headers["x-trace-id"] for _ in range(n)}
        assert len(ids) == n  # every request has a trace id, sampled or not
        sampled = [s for s in traced.spans() if s.name == "GET /healthz"]
        assert within_binomial(len(sampled), n, ratio), len(sampled)
        assert {f"{s.context.trace_id:032x}" for s in sampled} <= ids
