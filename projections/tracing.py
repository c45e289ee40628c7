"""Spans around the work of a request, free when tracing is off.

The server turns tracing on (`enable`) with an OpenTelemetry tracer when an OTLP endpoint
is configured (`api.telemetry`); until then every helper here is a check of one module
global and returns at once, so a server without tracing pays no SDK cost and this module
imports nothing of OpenTelemetry. Work handed to another thread (the reader pool, the
commit pipeline) carries its caller's context with `capture` / `attached`, so its spans are
children of the request's span.

Attributes name what ran (an operation, a table, a record count), never a parameter value,
a token or a key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

T = TypeVar("T")
Attributes = Mapping[str, str | int | float | bool]

_tracer: Tracer | None = None
_current_span: Callable[[], Span] | None = None
_OFF: AbstractContextManager[None] = nullcontext()


def enable(tracer: Tracer) -> None:
    """Start making spans with `tracer` (called once by the server's wiring)."""
    global _tracer, _current_span
    from opentelemetry.trace import get_current_span

    _tracer, _current_span = tracer, get_current_span


def disable() -> None:
    """Stop making spans (the server's shutdown, tests)."""
    global _tracer
    _tracer = None


def enabled() -> bool:
    return _tracer is not None


def _in_sampled_trace() -> bool:
    """True inside a trace that is recorded. Outside one (no span current, or one the
    sampler dropped) no child span is made: under a dropped parent none would be kept (the
    sampler is parent-based, and a ratio sampler decides by trace id), and the work of a
    statement or a commit belongs to the request or statement that asked for it."""
    if _current_span is None:
        return False
    context = _current_span().get_span_context()
    return context.is_valid and context.trace_flags.sampled


def span(name: str, attributes: Attributes | None = None) -> AbstractContextManager[Any]:
    """A child span of the current one around a block (a no-op when tracing is off or no
    sampled trace is current)."""
    if _tracer is None or not _in_sampled_trace():
        return _OFF
    return _tracer.start_as_current_span(name, attributes=attributes)


def root_span(name: str, attributes: Attributes | None = None) -> AbstractContextManager[Any]:
    """A span that may start a trace (a pgwire statement, a consumer's batch, an archive
    pass): the sampler decides; a no-op when tracing is off."""
    if _tracer is None:
        return _OFF
    return _tracer.start_as_current_span(name, attributes=attributes)


def capture() -> Context | None:
    """The caller's trace context, to continue on another thread (None when off or no
    sampled trace is current)."""
    if _tracer is None or not _in_sampled_trace():
        return None
    from opentelemetry.context import get_current

    return get_current()


@contextmanager
def attached(context: Context | None) -> Iterator[None]:
    """Make a `capture`d context current on this thread while the block runs."""
    if context is None:
        yield
        return
    from opentelemetry.context import attach, detach

    token = attach(context)
    try:
        yield
    finally:
        detach(token)


def carried(fn: Callable[[], T]) -> Callable[[], T]:
    """`fn`, to run in the caller's trace context on whichever thread calls it."""
    context = capture()
    if context is None:
        return fn

    def run() -> T:
        with attached(context):
            return fn()

    return run


def record(
    name: str,
    context: Context | None,
    start_ns: int,
    end_ns: int,
    attributes: Attributes | None = None,
) -> None:
    """A finished span of a phase timed elsewhere (a wait in a queue, the log's fsync of a
    group), as a child of the `capture`d `context`."""
    if _tracer is None or context is None:
        return
    _tracer.start_span(name, context, attributes=attributes, start_time=start_ns).end(end_ns)


def now_ns() -> int:
    """The clock spans are stamped with (nanoseconds since the epoch)."""
    return time.time_ns()
