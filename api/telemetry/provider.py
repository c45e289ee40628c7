"""The OpenTelemetry SDK set up for one server: sampler, resource, OTLP/HTTP exporter.

The provider is the server's own (not the process-global one), so that a test can build
several servers in one process, each with its exporter; `start` also turns on the spans of
the layers below (`projections.tracing`) and `stop` flushes what is batched and turns them
off. The exporter takes the rest of its settings (`OTEL_EXPORTER_OTLP_HEADERS`, timeouts,
certificates, compression) from the standard variables.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextvars import ContextVar

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)

from api.telemetry.settings import TelemetrySettings
from projections import tracing

TRACER_NAME = "bkg-db"
VERSION = "0.1.0"
TRACE_ID_BITS = 128

preset_trace_id: ContextVar[int | None] = ContextVar("preset_trace_id", default=None)
"""The trace id the next root span of this context takes (see `root_decider`)."""


class PresetIds(RandomIdGenerator):
    """Random ids, except a root span's trace id when `preset_trace_id` is set."""

    def generate_trace_id(self) -> int:
        return preset_trace_id.get() or super().generate_trace_id()


def new_trace_id() -> int:
    return random.getrandbits(TRACE_ID_BITS) or 1


def root_decider(settings: TelemetrySettings) -> Callable[[int], bool] | None:
    """Whether a new trace (no incoming `traceparent`) with a given trace id is sampled, as
    the SDK's sampler would decide it, so that a request the sampler would drop skips the
    instrumentation altogether; None for the samplers that keep every new trace."""
    name = settings.sampler
    if name.endswith("always_on"):
        return None
    if name.endswith("always_off"):
        return lambda _trace_id: False
    ratio = TraceIdRatioBased(settings.ratio)
    return lambda trace_id: trace_id & ratio.TRACE_ID_LIMIT < ratio.bound


def sampler_of(settings: TelemetrySettings) -> Sampler:
    """The SDK sampler the settings name."""
    name = settings.sampler
    root: Sampler
    if name.endswith("traceidratio"):
        root = TraceIdRatioBased(settings.ratio)
    else:
        root = ALWAYS_OFF if name.endswith("always_off") else ALWAYS_ON
    return ParentBased(root) if name.startswith("parentbased_") else root


def build_provider(
    settings: TelemetrySettings, processor: SpanProcessor | None = None
) -> TracerProvider:
    """A provider sampling as `settings` say, exporting over OTLP/HTTP (or to `processor`,
    which tests give an in-memory exporter)."""
    resource = Resource.create({"service.name": settings.service_name, "service.version": VERSION})
    provider = TracerProvider(
        sampler=sampler_of(settings), resource=resource, id_generator=PresetIds()
    )
    if processor is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.endpoint))
    provider.add_span_processor(processor)
    return provider


def start(provider: TracerProvider) -> None:
    """Make the layers below (SQL, commit pipeline, consumers, pgwire) span with `provider`."""
    tracing.enable(provider.get_tracer(TRACER_NAME, VERSION))


def stop(provider: TracerProvider) -> None:
    """Stop spanning; export what is still batched."""
    tracing.disable()
    provider.shutdown()
