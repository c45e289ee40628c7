"""Text and binary formats of every listed type: what the server encodes, it (and so a
client following the same format) decodes back to the same value."""

from __future__ import annotations

import datetime
import decimal
import struct
import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from api.pgwire import types as t

VALUES: list[tuple[int, st.SearchStrategy[Any]]] = [
    (t.INT2, st.integers(-(2**15), 2**15 - 1)),
    (t.INT4, st.integers(-(2**31), 2**31 - 1)),
    (t.INT8, st.integers(-(2**63), 2**63 - 1)),
    (t.FLOAT8, st.floats(allow_nan=False)),
    (t.BOOL, st.booleans()),
    (t.TEXT, st.text()),
    (t.BYTEA, st.binary()),
    (t.DATE, st.dates(datetime.date(1, 1, 1), datetime.date(9999, 12, 31))),
    (t.UUID, st.uuids()),
    (
        t.NUMERIC,
        st.decimals(
            allow_nan=False, allow_infinity=False, places=4, min_value=-(10**12), max_value=10**12
        ),
    ),
]


@given(st.data())
def test_values_round_trip_in_both_formats(data: st.DataObject) -> None:
    for oid, strategy in VALUES:
        value = data.draw(strategy)
        for binary in (False, True):
            encoded = t.encode(value, oid, binary)
            assert encoded is not None
            assert t.decode(encoded, oid, binary) == value, (oid, binary, value)


@given(st.datetimes(datetime.datetime(1, 1, 2), datetime.datetime(9999, 12, 30)))
def test_timestamps_round_trip(moment: datetime.datetime) -> None:
    stored = moment.isoformat(sep=" ")  # how the engine hands timestamps over
    for binary in (False, True):
        assert t.decode(t.encode(stored, t.TIMESTAMP, binary) or b"", t.TIMESTAMP, binary) == moment
        aware = moment.replace(tzinfo=datetime.UTC)
        back = t.decode(t.encode(stored, t.TIMESTAMPTZ, binary) or b"", t.TIMESTAMPTZ, binary)
        assert back == aware


def test_numeric_binary_matches_postgres_layout() -> None:
    # 12345.678 = 1 2345 . 6780: ndigits 3, weight 1, positive, dscale 3
    encoded = t.encode(decimal.Decimal("12345.678"), t.NUMERIC, True)
    assert encoded == bytes.fromhex("0003 0001 0000 0003 0001 0929 1a7c".replace(" ", ""))
    assert t.decode(encoded or b"", t.NUMERIC, True) == decimal.Decimal("12345.678")


def test_malformed_parameters_are_22p02_and_22p03() -> None:
    for data, binary, code in [(b"12x", False, "22P02"), (b"\x00\x01\x02", True, "22P03")]:
        try:
            t.decode(data, t.INT4, binary)
        except t.PgError as exc:
            assert exc.sqlstate == code
        else:
            raise AssertionError("accepted")
    assert t.decode(uuid.UUID(int=1).bytes, t.UUID, True) == uuid.UUID(int=1)


def test_arrays_in_binary_match_postgres_layout() -> None:
    """A one-dimensional text[] / int4[] as Postgres sends it (catalogue answers)."""
    encoded = t.encode("{a,NULL}", t.TEXT_ARRAY, True)
    assert encoded == (
        struct.pack("!iiiii", 1, 1, t.TEXT, 2, 1) + struct.pack("!i", 1) + b"a" + b"\xff" * 4
    )
    assert t.encode("{1,2}", t.INT4_ARRAY, True) == struct.pack(
        "!iiiiiiiii", 1, 0, 23, 2, 1, 4, 1, 4, 2
    )
    assert t.encode("{}", t.INT4_ARRAY, False) == b"{}"


def test_array_results_have_array_oids_and_postgres_text() -> None:
    assert t.oid_of_column("int[]", []) == t.INT4_ARRAY
    assert t.oid_of_column("bigint[]", []) == t.INT8_ARRAY
    assert t.oid_of_column("text[]", []) == t.TEXT_ARRAY
    assert t.oid_of_column("boolean[]", []) == t.BOOL_ARRAY
    assert t.encode([1, None, 3], t.INT4_ARRAY, False) == b"{1,NULL,3}"
    assert t.encode(["a", "b c", 'q"', "", "NULL"], t.TEXT_ARRAY, False) == (
        b'{a,"b c","q\\"","","NULL"}'
    )
    assert t.encode([True, False], t.BOOL_ARRAY, False) == b"{t,f}"
    assert t.encode([1, 2], t.INT4_ARRAY, True) == t.encode("{1,2}", t.INT4_ARRAY, True)
