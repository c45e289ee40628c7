"""Parsing and evaluating postgres_changes bindings, over many rows and literals."""

from __future__ import annotations

import operator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.realtime.errors import SubscriptionError
from api.realtime.phoenix.bindings import parse_bindings, parse_filter

OPS = {"eq": operator.eq, "neq": operator.ne, "lt": operator.lt, "lte": operator.le,
       "gt": operator.gt, "gte": operator.ge}  # fmt: skip


@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.sampled_from(sorted(OPS)))
def test_integer_filters_compare_as_integers(value: int, literal: int, op: str) -> None:
    flt = parse_filter(f"n={op}.{literal}")
    assert flt.matches({"n": value}) == OPS[op](value, literal)


@given(st.text(max_size=8).filter(lambda t: "," not in t), st.text(max_size=8))
def test_text_eq_and_null_never_matches(literal: str, value: str) -> None:
    flt = parse_filter(f"t=eq.{literal}")
    assert flt.matches({"t": value}) == (value == literal)
    assert not flt.matches({"t": None})
    assert not flt.matches({})


def test_in_booleans_and_bad_literals() -> None:
    assert parse_filter("id=in.(1,2,3)").matches({"id": 2})
    assert not parse_filter("id=in.(1,2,3)").matches({"id": 4})
    assert parse_filter("done=eq.true").matches({"done": True})
    assert not parse_filter("id=eq.abc").matches({"id": 1})
    assert not parse_filter("meta=eq.x").matches({"meta": {"a": 1}})


@pytest.mark.parametrize(
    "text", ["id", "id=eq", "id=like.%a%", "=eq.1", "id=not.eq.1", "a=eq.1,b=eq.2", "id=in.1"]
)
def test_malformed_filters_are_refused(text: str) -> None:
    with pytest.raises(SubscriptionError):
        parse_filter(text)


def test_bindings_default_schema_echo_and_stable_ids() -> None:
    one, two, three = parse_bindings(
        [
            {"event": "INSERT", "table": "t"},
            {"event": "INSERT", "table": "t"},
            {"event": "*", "schema": "lib", "table": "*"},
        ]
    )
    assert one.id == two.id != three.id and one.id > 0
    assert one.echo == {"event": "INSERT", "table": "t"}
    assert one.matches("public.t", "insert", {}) and not one.matches("public.t", "update", {})
    assert three.matches("lib.anything", "delete", None) and not three.matches("x.y", "insert", {})
    for bad in ("x", [1], [{"event": "TRUNCATE"}], [{"table": 5}], [{}] * 101):
        with pytest.raises(SubscriptionError):
            parse_bindings(bad)
