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
  log) and in the `X-Trace-Id` and `traceresponse` headers of the response.
"""

from __future__ import annotations

from typing import Any, cast

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, format_span_id, format_trace_id, get_current_span

from api.tracecontext import current_trace_id

ORIGINAL_SCOPE = "bkg.scope"
TRACE_ID_HEADER = b"x-trace-id"


def _span_details(scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The span's first name: the method alone (renamed to the route once routed)."""
    return str(scope.get("method") or "HTTP"), {}


class TracedApp:
    """`app` inside a server span per HTTP request (see the module docstring)."""

    def __init__(self, app: ASGIApp, provider: TracerProvider) -> None:
        self.app = app
        self._traced = OpenTelemetryMiddleware(
            _RouteNamer(app),
            tracer_provider=provider,
            default_span_details=_span_details,
            exclude_spans=["receive", "send"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        info = cast("dict[str, Any]", scope)
        if info["type"] != "http":
            await self.app(scope, receive, send)
            return
        shown = {**info, "query_string": b"", ORIGINAL_SCOPE: scope}
        await self._traced(shown, cast("Any", receive), cast("Any", send))


class _RouteNamer:
    """Inside the server span: runs the app on the real scope, then names the span."""

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
        headers = [
            (TRACE_ID_HEADER, trace_id.encode()),
            (b"traceresponse", f"00-{trace_id}-{format_span_id(context.span_id)}-{flags}".encode()),
        ]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                _name(span, scope)
                message = cast(
                    "Message", {**message, "headers": [*(message.get("headers") or ()), *headers]}
                )
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
