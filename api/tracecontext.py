"""The trace id of the work in progress, for whatever reports on it (request logs, errors).

Tracing sets `current_trace_id` (32 hex digits, W3C) when it starts or continues a trace
around a request or statement; the request log and every structured log line read it.
Nothing here depends on a tracing library: without tracing it stays None.
"""

from __future__ import annotations

from contextvars import ContextVar

current_trace_id: ContextVar[str | None] = ContextVar("current_trace_id", default=None)
