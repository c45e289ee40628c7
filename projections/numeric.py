"""``numeric(p, s)`` on a projection connection: values written to such a column are rounded
to ``s`` decimal places (half away from zero, as Postgres rounds) and refused (22003) when
they need more than ``p - s`` digits before the point. Values are stored as REAL, so the
rounding is of the decimal the value prints as; the rounded value is what the row image
carries, so replay stores the same."""

from __future__ import annotations

import decimal
import sqlite3
from typing import Any

from projections.bounds import Refusal, record_refusal

NUMERIC_FUNCTION = "_bkg_numeric"


class NumericOverflowError(Exception):
    """A value does not fit its column's precision."""


def register(conn: sqlite3.Connection) -> None:
    """Register the function on ``conn``."""
    conn.create_function(NUMERIC_FUNCTION, 3, fit_numeric, deterministic=True)


def fit_numeric(value: Any, precision: int, scale: int) -> Any:
    """``value`` rounded to ``scale`` places; refused beyond ``precision`` digits."""
    if value is None or isinstance(value, bytes):
        return value
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        return value  # not a number: the column's type refuses it
    if not number.is_finite():
        return value
    rounded = number.quantize(decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)
    if rounded.adjusted() >= precision - scale:
        message = (
            f"numeric field overflow: a field with precision {precision}, scale {scale} must"
            f" round to an absolute value less than 10^{precision - scale}"
        )
        record_refusal(Refusal(None, 0, message, "22003"))
        raise NumericOverflowError(message)
    return float(rounded) if scale > 0 else int(rounded)
