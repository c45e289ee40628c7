"""The HTTP server span of every request: the OpenTelemetry ASGI instrumentation, with the
span named by the route template and the trace id handed back.

The instrumentation continues an incoming `traceparent`, starts the server span (with the
standard HTTP method and status attributes) and ends it. Around it, `TracedApp`:

- shows the instrumentation the request without its query string, so no filter value,
  signed-URL token or other parameter reaches a span attribute (the app gets the request
  untouched);
- names the span `METHOD /route/{template}` when the response starts, Litestar having
  routed the request by then (the instrumentation only knows the raw path, which carries
  ids; it ends the span with the last body message), and sets `http.route`;
- puts the trace id in `current_trace_id` (error bodies' `detail.trace_id`, the request
  log) and in the `X-Trace-Id` and `traceresponse` headers of the response;
- decides a new trace's sampling itself first (with the sampler's own rule on a trace id
  it draws, which the SDK then takes for the span): a request the sampler would drop skips
  the instrumentation, whose per-request cost is far above a cheap request's (measured in
  docs/operations.md), and only gets its trace id.
"""

from __future__ import annotations

from typing import Any, cast

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry.context import attach, detach
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    format_span_id,
    format_trace_id,
    get_current_span,
    set_span_in_context,
)

from api.telemetry.provider import new_trace_id, preset_trace_id, root_decider
from api.telemetry.settings import TelemetrySettings
from api.tracecontext import current_trace_id

ORIGINAL_SCOPE = "bkg.scope"
TRACE_ID_HEADER = b"x-trace-id"


def _span_details(scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The span's first name: the method alone (renamed to the route once routed)."""
    return str(scope.get("method") or "HTTP"), {}


class TracedApp:
    """`app` inside a server span per HTTP request (see the module docstring)."""

    def __init__(self, app: ASGIApp, provider: TracerProvider, settings: TelemetrySettings):
        self.app = app
        self._traced = OpenTelemetryMiddleware(
            _RouteNamer(app),
            tracer_provider=provider,
            default_span_details=_span_details,
            exclude_spans=["receive", "send"],
        )
        self._keeps = root_decider(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        info = cast("dict[str, Any]", scope)
        if info["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._keeps is None or _has_parent(info):
            await self._trace(info, receive, send)
            return
        trace_id = new_trace_id()
        if not self._keeps(trace_id):
            await _untraced(self.app, scope, receive, send, trace_id)
            return
        token = preset_trace_id.set(trace_id)
        try:
            await self._trace(info, receive, send)
        finally:
            preset_trace_id.reset(token)

    async def _trace(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        shown = {**scope, "query_string": b"", ORIGINAL_SCOPE: scope}
        await self._traced(shown, cast("Any", receive), cast("Any", send))


def _has_parent(scope: dict[str, Any]) -> bool:
    return any(name == b"traceparent" for name, _ in scope.get("headers") or ())


async def _untraced(app: ASGIApp, scope: Scope, receive: Receive, send: Send, trace: int) -> None:
    """A request of a new trace the sampler drops: no instrumentation, only its trace id
    (in `current_trace_id` and the response headers) and, current while it runs, the
    unsampled span context a dropped span has (so the layers below make no spans)."""
    trace_id = format_trace_id(trace)
    span_id = new_trace_id() >> 64 or 1
    headers = _trace_headers(trace_id, format_span_id(span_id), "00")
    dropped = NonRecordingSpan(SpanContext(trace, span_id, is_remote=False))

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = _with_headers(message, headers)
        await send(message)

    token, attached = current_trace_id.set(trace_id), attach(set_span_in_context(dropped))
    try:
        await app(scope, receive, send_with_id)
    finally:
        detach(attached)
        current_trace_id.reset(token)


def _trace_headers(trace_id: str, span_id: str, flags: str) -> list[tuple[bytes, bytes]]:
    return [
        (TRACE_ID_HEADER, trace_id.encode()),
        (b"traceresponse", f"00-{trace_id}-{span_id}-{flags}".encode()),
    ]


def _with_headers(message: Message, headers: list[tuple[bytes, bytes]]) -> Message:
    present = cast("dict[str, Any]", message).get("headers") or ()
    return cast("Message", {**message, "headers": [*present, *headers]})


class _RouteNamer:
    """Inside the server span: runs the app on the real scope, names the span."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, shown: Scope, receive: Receive, send: Send) -> None:
        scope = cast("dict[str, Any]", shown).get(ORIGINAL_SCOPE, shown)
        span = get_current_span()
        context = span.get_span_context()
        if not context.is_valid:
            await self.app(scope, receive, send)
            return
        trace_id = format_trace_id(context.trace_id)
        flags = f"{int(context.trace_flags):02x}"
        headers = _trace_headers(trace_id, format_span_id(context.span_id), flags)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                _name(span, scope)
                message = _with_headers(message, headers)
            await send(message)

        token = current_trace_id.set(trace_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_trace_id.reset(token)


def _name(span: Span, scope: dict[str, Any]) -> None:
    """Name the span by the route template Litestar matched (the method alone when none)."""
    template = scope.get("path_template")
    if template and span.is_recording():
        span.update_name(f"{scope['method']} {template}")
        span.set_attribute("http.route", str(template))
