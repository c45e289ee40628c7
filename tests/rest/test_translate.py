"""PostgREST's HTTP statuses for SQLSTATEs (its documented table), and errors of the lower
layers in PostgREST's body."""

from __future__ import annotations

import pytest

from api.auth.errors import RateLimitedError, UnauthorizedError
from api.auth.principal import Principal
from api.rest.translate import from_auth, from_sql, status_of
from api.sql.errors import ConflictError, QueryCanceledError, SqlValidationError, with_sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "anonymous", "status"),
    [
        ("23505", False, 409),
        ("23503", False, 409),
        ("23502", False, 400),
        ("23514", False, 400),
        ("42501", True, 401),
        ("42501", False, 403),
        ("42P01", False, 404),
        ("42883", False, 404),
        ("42703", False, 400),
        ("22P02", False, 400),
        ("57014", False, 500),
        ("53300", False, 503),
        ("54000", False, 413),
        ("XX001", False, 500),
        ("0A000", False, 400),
    ],
)
def test_statuses_follow_postgrest(sqlstate: str, anonymous: bool, status: int) -> None:
    assert status_of(sqlstate, anonymous) == status


def test_sql_errors_carry_their_sqlstate() -> None:
    anon = Principal(kind="anon", id="key:1", namespace="lib")
    conflict = from_sql(with_sqlstate(ConflictError("duplicate"), "23505"), anon)
    assert (conflict.status, conflict.code) == (409, "23505")
    canceled = from_sql(QueryCanceledError("canceling statement due to statement timeout"), None)
    assert (canceled.status, canceled.code) == (500, "57014")
    invalid = from_sql(SqlValidationError("bad", {"column": "x"}), None)
    assert invalid.body() == {
        "code": "22000",
        "message": "bad",
        "details": '{"column":"x"}',
        "hint": None,
    }


def test_auth_errors() -> None:
    assert from_auth(UnauthorizedError("missing bearer token")).status == 401
    limited = from_auth(RateLimitedError(1.2))
    assert limited.status == 429
    assert limited.headers["Retry-After"] == "2"
