"""One log line per HTTP request (logger `bkgdb.request`, level info), written by the
request layer (`api.http.layer`).

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
from contextvars import ContextVar, Token
from typing import Any, Protocol

log = logging.getLogger("bkgdb.request")
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class Caller(Protocol):
    """What the log takes of a principal: its id and namespace, never its credential."""

    @property
    def id(self) -> str: ...
    @property
    def namespace(self) -> str | None: ...


_caller: ContextVar[list[Caller] | None] = ContextVar("request_caller", default=None)
"""The request's slot for its caller: a list the request layer creates, so that a principal
noted in a copied context (a handler's thread) still reaches the request line."""


def note_principal(principal: Caller) -> None:
    """Record who the current request is (a no-op outside a logged request)."""
    slot = _caller.get()
    if slot is not None:
        slot.append(principal)


Slot = tuple[list[Caller], Token[list[Caller] | None]]


def open_slot() -> Slot:
    """Start noting the caller of the request about to run (`api.http.layer`)."""
    callers: list[Caller] = []
    return callers, _caller.set(callers)


def close_slot(slot: Slot) -> Caller | None:
    """Stop noting; the caller noted last, if any."""
    callers, token = slot
    _caller.reset(token)
    return callers[-1] if callers else None


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
