"""Memory per request is bounded: SQLite refuses values beyond its length limit, results
are refused while they are fetched once they pass the row or byte limit, and
`generate_series` cannot loop forever. Each answers LIMIT_EXCEEDED (413) naming the limit,
or a clear 4xx, and changes nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.sql.bounded import ResultLimits
from projections.limits import LENGTH_LIMIT
from tests.http.conftest import Api, make_data_dir, open_api


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Api]:
    yield from open_api(make_data_dir(tmp_path), result_limits=ResultLimits(1000, 200_000))


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("SELECT printf('%.*c', 1e9, 'x')", None),
        ("SELECT printf('%.*c', $1, 'x') || 'y'", [-(10**9)]),
        ("SELECT length(printf('%1000000000d', 1))", None),
        ("SELECT randomblob(1e9)", None),
        ("SELECT zeroblob(1e9)", None),
        ("SELECT length(zeroblob($1))", [10**9]),
        ("SELECT replace(hex(zeroblob(40000000)), '00', 'abcd')", None),
    ],
)
def test_values_beyond_the_length_limit_fail_fast(
    limited: Api, sql: str, params: list[int] | None
) -> None:
    began = time.monotonic()
    response = limited.query(sql, params=params)
    assert time.monotonic() - began < 10
    if response.status_code == 200:  # a width from a parameter: SQLite's NULL, at once
        assert response.json()["rows"] == [[None]]
        return
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "LIMIT_EXCEEDED"
    assert error["detail"] == {"limit": "length", "value": LENGTH_LIMIT}


def test_printf_within_the_limit_still_works(limited: Api) -> None:
    assert limited.rows("SELECT length(printf('%.*c', 1000, 'x')), printf('%5d', 42)") == [
        [1000, "   42"]
    ]


def test_a_result_beyond_the_row_limit_is_refused(limited: Api) -> None:
    assert len(limited.rows("SELECT * FROM generate_series(1, 1000)")) == 1000
    response = limited.query("SELECT * FROM generate_series(1, 1001)")
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "LIMIT_EXCEEDED"
    assert error["detail"] == {"limit": "max_result_rows", "value": 1000}


def test_a_result_beyond_the_byte_limit_is_refused(limited: Api) -> None:
    response = limited.query("SELECT printf('%.*c', 1000, 'x') FROM generate_series(1, 500)")
    assert response.status_code == 413, response.text
    assert response.json()["error"]["detail"] == {"limit": "max_result_bytes", "value": 200_000}


def test_returning_beyond_the_row_limit_changes_nothing(limited: Api) -> None:
    limited.ok("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    head = limited.head
    response = limited.query("INSERT INTO t SELECT * FROM generate_series(1, 2000) RETURNING id")
    assert response.status_code == 413, response.text
    assert limited.head == head
    assert limited.rows("SELECT count(*) FROM t") == [[0]]


def test_generate_series_refuses_a_zero_step(limited: Api) -> None:
    for step in ("0", "0.0", "-0", "(0)"):
        response = limited.query(f"SELECT * FROM generate_series(1, 10, {step})")
        assert response.status_code == 400, response.text
        assert response.json()["error"]["message"] == "step size cannot equal zero"


def test_generate_series_with_a_zero_step_at_run_time_ends(limited: Api) -> None:
    assert limited.rows("SELECT * FROM generate_series(1, 10, $1)", params=[0]) == [[1]]
    assert limited.rows("SELECT * FROM generate_series(1, 5, $1)", params=[2]) == [[1], [3], [5]]


@pytest.mark.parametrize(
    "sql", ["SELECT printf($1, 1000000000, 'x')", "SELECT format(v, 1) FROM (SELECT '%s' AS v)"]
)
def test_a_format_string_that_is_not_a_literal_is_refused(limited: Api, sql: str) -> None:
    params = ["%.*c"] if "$1" in sql else None
    response = limited.query(sql, params=params)
    assert response.status_code == 501, response.text
    assert "format string" in response.json()["error"]["message"]
