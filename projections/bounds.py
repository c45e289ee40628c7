"""Bounds on the arguments that make SQLite's string functions quadratic.

``instr``/``replace`` compare their needle at every position of the haystack, the trim
family tests every character of the haystack against every character of its set,
LIKE/GLOB retry the part of the pattern after the first wildcard at every position, and
``json_patch`` looks each key of its patch up among the target's keys (and the keys it has
added: a patch of 40,000 keys into ``{}`` takes 2.6 s). Each
runs inside a single VM step, so neither the statement deadline (a progress handler) nor
``interrupt()`` can stop one: over a haystack at the length limit (64 MiB) a 100 KiB needle
or a 1 KiB trim set holds a connection for many minutes. Bounding that argument makes the
worst case over any haystack the limit allows about a second or two (measured on SQLite
3.40 over a 64 MiB haystack, including the ~0.5 s it takes to build it: instr/replace with
a 1 KiB needle 1.6 s, LIKE/GLOB with 16 characters after the wildcard 2.1 s, trim with 8
characters 2.3 s; json_patch with a 1 KiB patch into a 12 MiB object of a million keys
0.27 s).

The SQL dialect checks literal arguments when it generates a statement and routes every
other one through ``_bkg_bound(value, limit)`` (LIKE/GLOB patterns through
``_bkg_bound_match(value, pattern, limit)``, which weighs the tail against the value),
registered on every connection with the divisor function (`projections.meta.configure`).
sqlite3 reports any exception raised by a registered function as the same generic error,
so the functions record which refusal it was (per thread: statements run and their errors
are mapped in one thread) for the SQL layer to read back with `take_refusal`.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BOUND_FUNCTION = "_bkg_bound"
MATCH_FUNCTION = "_bkg_bound_match"

LIMITS: dict[str, int] = {
    # instr/position/strpos/starts_with and replace: bytes of the needle
    "needle_bytes": 1024,
    # trim/ltrim/rtrim/btrim: characters of the set
    "trim_characters": 8,
    # LIKE/ILIKE: pattern characters after the first '%'; GLOB: after the first '*'
    "like_tail_characters": 16,
    "glob_tail_characters": 16,
    # json_patch: bytes of the patch (each of its keys is looked up among the target's)
    "json_patch_bytes": 1024,
}
MATCH_WORK = 16 << 26
"""LIKE/GLOB: the most pattern-tail characters times value characters one match may cost
(16 characters over a 64 MiB value, the measured ~2 s). A tail longer than its limit is
allowed against values short enough: `'%' || a long search term || '%'` over a title is
fine, over a 64 MiB value it is refused."""
_BYTES = frozenset({"needle_bytes", "json_patch_bytes"})
_WILDCARDS = {"like_tail_characters": "%", "glob_tail_characters": "*"}


@dataclass(frozen=True)
class Refusal:
    """Why a registered function raised: a named limit and its value, a message with its
    SQLSTATE (the sequence functions), or else division by zero."""

    limit: str | None
    value: int = 0
    message: str | None = None
    sqlstate: str | None = None


_LAST = threading.local()


def record_refusal(refusal: Refusal) -> None:
    """Note the refusal a registered function is about to raise (in this thread)."""
    _LAST.refusal = refusal


def refusing(function: Callable[..., Any]) -> Callable[..., Any]:
    """A registered function whose failures reach the SQL layer as errors with Postgres's
    SQLSTATEs (SQLite only reports that a function raised): invalid JSON 22P02, nesting too
    deep 54001, any other bad argument 22023. Refusals a function records itself stand."""

    @functools.wraps(function)
    def run(*args: Any) -> Any:
        try:
            return function(*args)
        except json.JSONDecodeError as exc:
            record_refusal(Refusal(None, 0, "invalid input syntax for type json", "22P02"))
            raise ValueError(str(exc)) from None
        except RecursionError:
            record_refusal(Refusal(None, 0, "stack depth limit exceeded", "54001"))
            raise ValueError("stack depth limit exceeded") from None
        except (ValueError, TypeError, OverflowError, IndexError) as exc:
            if getattr(_LAST, "refusal", None) is None:
                record_refusal(Refusal(None, 0, str(exc)[:200], "22023"))
            raise

    return run


def take_refusal() -> Refusal | None:
    """The refusal last recorded in this thread, cleared (None if there is none)."""
    refusal: Refusal | None = getattr(_LAST, "refusal", None)
    _LAST.refusal = None
    return refusal


def measure(limit: str, value: Any) -> int:
    """The size of `value` as `limit` counts it (0 for NULL and numbers, which are short)."""
    if isinstance(value, bytes):
        # One character per byte: never fewer than SQLite counts in the same bytes.
        return len(value) if limit in _BYTES else _measure_text(limit, value.decode("latin-1"))
    if isinstance(value, str):
        return _measure_text(limit, value)
    return 0


def _measure_text(limit: str, text: str) -> int:
    if limit in _BYTES:
        return len(text) if len(text) > LIMITS[limit] else len(text.encode("utf-8"))
    wildcard = _WILDCARDS.get(limit)
    if wildcard is None:
        return len(text)
    start = text.find(wildcard)
    if start < 0:
        return 0
    # Every character after the first wildcard but the wildcards themselves: an escaped
    # wildcard still counts through its escape character, so this never undercounts.
    tail = text[start + 1 :]
    return len(tail) - tail.count(wildcard)


def within(limit: str, value: Any) -> bool:
    """Whether `value` is within `limit`."""
    return measure(limit, value) <= LIMITS[limit]


def bound(value: Any, limit: str) -> Any:
    """``_bkg_bound(value, limit)``: `value` unchanged if within `limit`, else an error."""
    if not within(limit, value):
        record_refusal(Refusal(limit, LIMITS[limit]))
        raise ValueError(f"argument exceeds the {limit} limit")
    return value


def bound_match(value: Any, pattern: Any, limit: str) -> Any:
    """``_bkg_bound_match(value, pattern, limit)``: `pattern` unchanged if its tail is within
    `limit`, or if the tail times the length of `value` is within `MATCH_WORK`; else an
    error."""
    tail = measure(limit, pattern)
    if tail <= LIMITS[limit] or tail * _length(value) <= MATCH_WORK:
        return pattern
    record_refusal(Refusal(limit, LIMITS[limit]))
    raise ValueError(f"pattern exceeds the {limit} limit for a value this long")


def _length(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    return 0 if value is None else len(str(value))
