"""One log line per HTTP request (logger `bkgdb.request`, level info).

Fields: method, route (the route template, `/rest/v1/{table}`, never the raw path with its
ids), status, duration_ms, bytes (response body bytes sent), principal (id), namespace,
trace_id (when tracing set one, `api.tracecontext`: read as the response starts, so a
tracing layer inside this one that resets it afterwards is still seen). Nothing of the
request's headers, query string or body is logged, so no key, token, password or parameter
value can leak into the log. The principal is the one `Backend.principal` resolved for the
request (every door authenticates there) and noted with `note_principal`; a request refused
before that logs none.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any, Protocol, cast

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.tracecontext import current_trace_id

log = logging.getLogger("bkgdb.request")
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class Caller(Protocol):
    """What the log takes of a principal: its id and namespace, never its credential."""

    @property
    def id(self) -> str: ...
    @property
    def namespace(self) -> str | None: ...


_caller: ContextVar[list[Caller] | None] = ContextVar("request_caller", default=None)
"""The request's slot for its caller: a list the middleware creates, so that a principal
noted in a copied context (a handler's thread) still reaches the request line."""


def note_principal(principal: Caller) -> None:
    """Record who the current request is (a no-op outside a logged request)."""
    slot = _caller.get()
    if slot is not None:
        slot.append(principal)


class RequestLog:
    """ASGI middleware writing the request line once the response has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        info = cast("dict[str, Any]", scope)
        if info["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status, sent, trace_id = 500, 0, None
        slot: list[Caller] = []
        token = _caller.set(slot)

        async def counting(message: Message) -> None:
            nonlocal status, sent, trace_id
            if message["type"] == "http.response.start":
                status = int(message["status"])
                trace_id = current_trace_id.get()  # as the layers inside see it
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            _caller.reset(token)
            caller = slot[-1] if slot else None
            trace_id = trace_id or current_trace_id.get()
            fields = request_fields(info, caller, status, sent, began)
            log.info("request", extra={**fields, "trace_id": trace_id})


def request_fields(
    scope: dict[str, Any], principal: Caller | None, status: int, sent: int, began: float
) -> dict[str, Any]:
    """The fields of one request line (see the module docstring)."""
    return {
        "method": scope["method"] if scope["method"] in METHODS else "OTHER",
        "route": str(scope.get("path_template") or "unmatched"),
        "status": status,
        "duration_ms": round((time.perf_counter() - began) * 1000, 3),
        "bytes": sent,
        "principal": principal.id if principal else None,
        "namespace": principal.namespace if principal else None,
    }
