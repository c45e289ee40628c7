"""OpenTelemetry traces of a served data directory (docs/operations.md, "Tracing").

    settings   what the standard OTEL_* variables and CAVE_OTEL_SAMPLING_RATE ask for
    provider   the SDK's tracer provider, OTLP/HTTP exporter and sampler, built from them
    asgi       the HTTP server span (the ASGI instrumentation), renamed to the route template

Nothing here is imported when no OTLP endpoint is configured: the spans of the layers below
(`projections.tracing`) are then no-ops.
"""
