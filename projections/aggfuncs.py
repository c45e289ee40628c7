"""Ordered aggregates SQLite 3.40 lacks, registered on every projection connection:
``string_agg``/``array_agg``/``jsonb_agg`` with ``ORDER BY`` inside the call (SQLite accepts
that from 3.44 only), and the ordered-set aggregates ``percentile_cont``,
``percentile_disc`` and ``mode`` (``WITHIN GROUP (ORDER BY ...)``).

The SQL dialect (`api.sql.aggregates`) rewrites those calls into the functions here, passing
each row's value, its sort keys and a constant *spec* saying how to sort: ``u`` (DISTINCT)
or ``a``, then per key ``A``/``D`` (ascending, descending) and ``F``/``L`` (NULLs first,
last). The rows of a group are kept and sorted when the group ends, comparing as SQLite does
(numbers before text before blobs, text by code point, which is the order of its UTF-8
bytes); rows that compare equal keep the order they came in.

Each function is pure, so statements that use them replay as row images like any other.
"""

from __future__ import annotations

import functools
import json
import math
import sqlite3
from typing import Any

from projections.bounds import Refusal, record_refusal

TEXT_AGGREGATE = "_bkg_agg_text"
JSON_AGGREGATE = "_bkg_agg_json"
PERCENTILE_CONT = "_bkg_percentile_cont"
PERCENTILE_DISC = "_bkg_percentile_disc"
MODE_AGGREGATE = "_bkg_mode"
AGGREGATE_FUNCTIONS = (
    TEXT_AGGREGATE,
    JSON_AGGREGATE,
    PERCENTILE_CONT,
    PERCENTILE_DISC,
    MODE_AGGREGATE,
)


def register(conn: sqlite3.Connection) -> None:
    """Register the aggregates on ``conn``."""
    conn.create_aggregate(TEXT_AGGREGATE, -1, _TextAgg)  # type: ignore[arg-type]
    conn.create_aggregate(JSON_AGGREGATE, -1, _JsonAgg)  # type: ignore[arg-type]
    conn.create_aggregate(PERCENTILE_CONT, 3, _PercentileCont)  # type: ignore[arg-type]
    conn.create_aggregate(PERCENTILE_DISC, 3, _PercentileDisc)  # type: ignore[arg-type]
    conn.create_aggregate(MODE_AGGREGATE, 2, _Mode)  # type: ignore[arg-type]


def _rank(value: Any) -> int:
    if isinstance(value, int | float):
        return 0
    return 1 if isinstance(value, str) else 2


def _compare_values(left: Any, right: Any) -> int:
    """SQLite's order of two non-NULL values."""
    rank_left, rank_right = _rank(left), _rank(right)
    if rank_left != rank_right:
        return -1 if rank_left < rank_right else 1
    return -1 if left < right else (1 if left > right else 0)


def _compare(spec: str, left: tuple[Any, ...], right: tuple[Any, ...]) -> int:
    """Compare two rows' sort keys as ``spec`` (pairs of direction, NULL placement) says."""
    for index, (x, y) in enumerate(zip(left, right, strict=True)):
        descending, nulls_first = spec[2 * index] == "D", spec[2 * index + 1] == "F"
        if x is None or y is None:
            if x is None and y is None:
                continue
            return (-1 if nulls_first else 1) * (1 if x is None else -1)
        order = _compare_values(x, y)
        if order:
            return -order if descending else order
    return 0


class _Ordered:
    """Rows of one group with their sort keys, sorted when the group ends."""

    def __init__(self) -> None:
        self.spec = ""
        self.rows: list[tuple[tuple[Any, ...], Any]] = []

    def add(self, spec: Any, value: Any, keys: tuple[Any, ...]) -> None:
        self.spec = str(spec)
        self.rows.append((keys, value))

    def ordered(self) -> list[Any]:
        keys_spec = self.spec[1:]

        def compare(left: tuple[tuple[Any, ...], Any], right: tuple[tuple[Any, ...], Any]) -> int:
            return _compare(keys_spec, left[0], right[0])

        rows = sorted(self.rows, key=functools.cmp_to_key(compare))
        values = [value for _, value in rows]
        if self.spec.startswith("u"):
            seen: set[Any] = set()
            unique = []
            for value in values:
                marker = json.dumps(value) if not isinstance(value, bytes) else value
                if marker not in seen:
                    seen.add(marker)
                    unique.append(value)
            values = unique
        return values


class _TextAgg(_Ordered):
    """``string_agg(value, separator ORDER BY ...)``: ``(value, separator, spec, keys...)``."""

    def step(self, value: Any, separator: Any, spec: Any, *keys: Any) -> None:
        if value is not None:
            self.add(spec, (_text(value), "" if separator is None else _text(separator)), keys)

    def finalize(self) -> str | None:
        pairs: list[tuple[str, str]] = self.ordered()
        if not pairs:
            return None
        return pairs[0][0] + "".join(separator + value for value, separator in pairs[1:])


class _JsonAgg(_Ordered):
    """``array_agg``/``jsonb_agg(value ORDER BY ...)``: ``(json_quote(value), spec, keys...)``."""

    def step(self, value: Any, spec: Any, *keys: Any) -> None:
        self.add(spec, "null" if value is None else str(value), keys)

    def finalize(self) -> str | None:
        values = self.ordered()
        return None if not self.rows else "[" + ",".join(values) + "]"


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class _Sorted:
    """The non-NULL values of a group, sorted by the ``WITHIN GROUP`` order."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.fraction: Any = None
        self.spec = "AL"

    def collect(self, value: Any, spec: Any) -> None:
        self.spec = str(spec)
        if value is not None:
            self.values.append(value)

    def sorted_values(self) -> list[Any]:
        return sorted(
            self.values, key=functools.cmp_to_key(lambda a, b: _compare(self.spec, (a,), (b,)))
        )

    def checked_fraction(self) -> float | None:
        if self.fraction is None:
            return None
        fraction = float(self.fraction)
        if not 0 <= fraction <= 1 or math.isnan(fraction):
            message = f"percentile value {self.fraction} is not between 0 and 1"
            record_refusal(Refusal(None, 0, message, "22003"))
            raise ValueError(message)
        return fraction


class _PercentileCont(_Sorted):
    """``percentile_cont(f) WITHIN GROUP (ORDER BY x)``: ``(f, x, spec)``, interpolated."""

    def step(self, fraction: Any, value: Any, spec: Any) -> None:
        self.fraction = fraction
        self.collect(None if value is None else float(value), spec)

    def finalize(self) -> float | None:
        fraction = self.checked_fraction()
        values = self.sorted_values()
        if fraction is None or not values:
            return None
        position = fraction * (len(values) - 1)
        lower, upper = math.floor(position), math.ceil(position)
        low, high = values[lower], values[upper]
        return float(low + (high - low) * (position - lower))


class _PercentileDisc(_Sorted):
    """``percentile_disc(f) WITHIN GROUP (ORDER BY x)``: the first value at or past ``f``."""

    def step(self, fraction: Any, value: Any, spec: Any) -> None:
        self.fraction = fraction
        self.collect(value, spec)

    def finalize(self) -> Any:
        fraction = self.checked_fraction()
        values = self.sorted_values()
        if fraction is None or not values:
            return None
        return values[max(math.ceil(fraction * len(values)) - 1, 0)]


class _Mode(_Sorted):
    """``mode() WITHIN GROUP (ORDER BY x)``: the most frequent value, the first in the
    order among equally frequent ones."""

    def step(self, value: Any, spec: Any) -> None:
        self.collect(value, spec)

    def finalize(self) -> Any:
        best, best_count, current, count = None, 0, None, 0
        for value in self.sorted_values():
            if count and _compare_values(value, current) == 0:
                count += 1
            else:
                current, count = value, 1
            if count > best_count:
                best, best_count = current, count
        return best
