"""Postgres date/time functions that answer intervals, registered on every projection
connection: ``ts - ts`` (``_bkg_ts_diff``) and ``age(ts, ts)``. Intervals are returned as
Postgres's text output (``IntervalStyle = postgres``): ``1 day 12:00:00``, ``-1 days
-02:00:00``, ``1 year 4 mons 16 days``."""

from __future__ import annotations

import calendar
import datetime
import sqlite3
from typing import Any

from projections.bounds import refusing

DIFF_FUNCTION = "_bkg_ts_diff"
DATETIME_FUNCTIONS = (DIFF_FUNCTION, "age")


def register(conn: sqlite3.Connection) -> None:
    """Register the functions on ``conn``."""
    conn.create_function(DIFF_FUNCTION, 2, refusing(_difference), deterministic=True)
    conn.create_function("age", 2, refusing(_age), deterministic=True)


def _parse(value: Any) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(str(value).strip())
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed


def _difference(left: Any, right: Any) -> str | None:
    if left is None or right is None:
        return None
    delta = _parse(left) - _parse(right)
    micros = delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds
    negative = micros < 0
    days, rest = divmod(abs(micros), 86_400_000_000)
    parts = []
    if days:
        parts.append(_unit(-days if negative else days, "day", "days"))
    if rest or not days:
        parts.append(_clock(rest, negative))
    return " ".join(parts)


def _age(left: Any, right: Any) -> str | None:
    """Symbolic difference in years, months, days and time, borrowing as Postgres does."""
    if left is None or right is None:
        return None
    a, b = _parse(left), _parse(right)
    sign = 1
    if a < b:
        a, b, sign = b, a, -1
    fields = [a.year - b.year, a.month - b.month, a.day - b.day]
    micros = (
        (a.hour - b.hour) * 3_600_000_000
        + (a.minute - b.minute) * 60_000_000
        + (a.second - b.second) * 1_000_000
        + (a.microsecond - b.microsecond)
    )
    if micros < 0:
        micros += 86_400_000_000
        fields[2] -= 1
    if fields[2] < 0:
        fields[2] += calendar.monthrange(b.year, b.month)[1]
        fields[1] -= 1
    if fields[1] < 0:
        fields[1] += 12
        fields[0] -= 1
    years, months, days = (sign * f for f in fields)
    parts = []
    if years:
        parts.append(_unit(years, "year", "years"))
    if months:
        parts.append(_unit(months, "mon", "mons"))
    if days:
        parts.append(_unit(days, "day", "days"))
    if micros or not parts:
        parts.append(_clock(micros, sign < 0))
    return " ".join(parts)


def _unit(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _clock(micros: int, negative: bool) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if fraction:
        text += f".{fraction:06d}".rstrip("0")
    return ("-" if negative else "") + text
