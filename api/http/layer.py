"""The one ASGI layer every HTTP request crosses: its metrics (count and latency by route
template, method and status, and where its time went: `api.stages`), its log line
(`api.http.request_log`) and the `X-Content-Type-Options: nosniff` header of its response.

One layer rather than three nested ones: each layer wrapped `send` in a closure of its own
and looked at every message again, and a request crosses them all on every message it sends.
It is the outermost layer of the app, so that 404s and errors raised before routing are
counted and logged too (tracing, when configured, wraps it: `api.telemetry.asgi`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from api import stages
from api.http.metrics import Metrics
from api.http.request_log import METHODS, Caller, close_slot, log, open_slot, request_fields
from api.tracecontext import current_trace_id

NOSNIFF = (b"x-content-type-options", b"nosniff")


class _Seen:
    """What the response told the layer as it went out."""

    __slots__ = ("sent", "status", "trace_id")

    def __init__(self) -> None:
        self.status = 500
        self.sent = 0
        self.trace_id: str | None = None


class RequestLayer:
    """Metrics, the request line and nosniff around `app` (see the module docstring)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        info = cast("dict[str, Any]", scope)
        if info["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        seen = _Seen()
        slot = open_slot() if log.isEnabledFor(logging.INFO) else None
        timed, token = stages.begin()

        async def timed_receive() -> ReceiveMessage:
            waiting = time.perf_counter()
            message = await receive()
            timed.add(stages.RECEIVE, time.perf_counter() - waiting)
            return message

        async def watched(message: Message) -> None:
            fields = cast("dict[str, Any]", message)
            kind = fields["type"]
            if kind == "http.response.start":
                seen.status = int(fields["status"])
                seen.trace_id = current_trace_id.get()  # as the layers inside see it
                message = _with_nosniff(fields)
            elif kind == "http.response.body":
                seen.sent += len(fields.get("body", b""))
            handing = time.perf_counter()
            await send(message)
            timed.add(stages.SEND, time.perf_counter() - handing)

        try:
            await self.app(scope, timed_receive, watched)
        finally:
            stages.end(token)
            self._count(info, seen.status, began, timed)
            if slot is not None:
                _write_line(info, close_slot(slot), seen, began)

    def _count(
        self, scope: dict[str, Any], status: int, began: float, timed: stages.Stages
    ) -> None:
        seconds = time.perf_counter() - began
        route = scope.get("path_template") or "unmatched"
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        where = (("route", str(route)), ("method", method))
        labels = (*where, ("status", str(status)))
        self._metrics.requests.inc(labels)
        self._metrics.latency.observe(seconds, labels)
        self._metrics.on_request(where, seconds, timed)


def _with_nosniff(message: dict[str, Any]) -> Message:
    """The response start with `X-Content-Type-Options: nosniff` (unless a handler set it):
    no browser runs a body (JSON, an error, a dashboard file, an object) as a type it was
    not sent as."""
    headers = list(message.get("headers") or ())
    if all(name.lower() != NOSNIFF[0] for name, _ in headers):
        headers.append(NOSNIFF)
    return cast("Message", {**message, "headers": headers})


def _write_line(scope: dict[str, Any], caller: Caller | None, seen: _Seen, began: float) -> None:
    """The request line, handed to the log's handlers directly: `Logger.info` would first
    walk the stack to find its caller, which no line of ours shows."""
    fields = request_fields(scope, caller, seen.status, seen.sent, began)
    fields["trace_id"] = seen.trace_id or current_trace_id.get()
    record = log.makeRecord(log.name, logging.INFO, __file__, 0, "request", (), None, extra=fields)
    log.handle(record)
