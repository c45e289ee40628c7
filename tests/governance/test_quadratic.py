"""String functions whose work grows with the product of two arguments run inside one
SQLite VM step, beyond the reach of the statement deadline: their quadratic argument (the
needle of instr/position/strpos/starts_with/replace, the set of the trim family, the pattern
of LIKE/ILIKE/GLOB after its first wildcard) is bounded for every principal. Beyond the
bound a statement is refused (413 LIMIT_EXCEEDED) at once and changes nothing, whether the
argument is a literal, a parameter or a column; within it, results are what SQLite gives."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.auth.principal import user_principal
from api.rls.policy import PolicySet, created_event, parse_policy
from api.rls.rowfilter import RowFilter
from projections.bounds import Refusal, take_refusal
from tests.governance.conftest import Background, Tenants, tenants
from tests.http.conftest import Api, make_data_dir, open_api
from tests.security.conftest import build_db

NEEDLE, TRIM, TAIL = 1024, 8, 16
LONG_NEEDLE = "x" * 2000


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for served in open_api(make_data_dir(tmp_path_factory.mktemp("quadratic"))):
        for sql in (
            "CREATE SCHEMA q",
            "CREATE TABLE q.t (id INTEGER PRIMARY KEY, v TEXT, p TEXT)",
            f"INSERT INTO q.t (id, v, p) VALUES (1, 'hello world', '{LONG_NEEDLE}'),"
            " (2, 'abc', 'b')",
        ):
            served.ok(sql)
        yield served


# (call with {a} for the bounded argument, limit, bound, an argument just beyond the bound)
CASES = [
    ("instr(v, {a})", "needle_bytes", NEEDLE, "x" * (NEEDLE + 1)),
    ("instr(v, {a})", "needle_bytes", NEEDLE, "é" * (NEEDLE // 2 + 1)),  # bytes, not characters
    ("position({a} IN v)", "needle_bytes", NEEDLE, "x" * (NEEDLE + 1)),
    ("strpos(v, {a})", "needle_bytes", NEEDLE, "x" * (NEEDLE + 1)),
    ("starts_with(v, {a})", "needle_bytes", NEEDLE, "x" * (NEEDLE + 1)),
    ("replace(v, {a}, 'y')", "needle_bytes", NEEDLE, "x" * (NEEDLE + 1)),
    ("trim(v, {a})", "trim_characters", TRIM, "abcdefghi"),
    ("btrim(v, {a})", "trim_characters", TRIM, "abcdefghi"),
    ("ltrim(v, {a})", "trim_characters", TRIM, "abcdefghi"),
    ("rtrim(v, {a})", "trim_characters", TRIM, "abcdefghi"),
    ("trim(both {a} FROM v)", "trim_characters", TRIM, "abcdefghi"),
    ("trim(leading {a} FROM v)", "trim_characters", TRIM, "abcdefghi"),
    ("json_patch('{{}}', {a})", "json_patch_bytes", NEEDLE, '{"a": "' + "x" * NEEDLE + '"}'),
]


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _refused(api: Api, sql: str, limit: str, bound: int, **body: object) -> None:
    head = api.head
    began = time.monotonic()
    response = api.query(sql, **body)  # type: ignore[arg-type]
    assert time.monotonic() - began < 5
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "LIMIT_EXCEEDED"
    assert error["detail"] == {"limit": limit, "value": bound}
    assert api.head == head


@pytest.mark.parametrize(("call", "limit", "bound", "beyond"), CASES)
def test_an_oversized_literal_is_refused(
    api: Api, call: str, limit: str, bound: int, beyond: str
) -> None:
    _refused(api, f"SELECT {call.format(a=_literal(beyond))} FROM q.t", limit, bound)


@pytest.mark.parametrize(("call", "limit", "bound", "beyond"), CASES)
def test_an_oversized_parameter_is_refused(
    api: Api, call: str, limit: str, bound: int, beyond: str
) -> None:
    _refused(api, f"SELECT {call.format(a='$1')} FROM q.t", limit, bound, params=[beyond])


@pytest.mark.parametrize(("call", "limit", "bound", "beyond"), CASES)
def test_an_oversized_insert_select_appends_nothing(
    api: Api, call: str, limit: str, bound: int, beyond: str
) -> None:
    sql = f"INSERT INTO q.t (id, v) SELECT id + 100, CAST({call.format(a='$1')} AS TEXT) FROM q.t"
    _refused(api, sql, limit, bound, params=[beyond])
    assert api.rows("SELECT count(*) FROM q.t") == [[2]]


@pytest.mark.parametrize(
    "call",
    [
        "instr(v, p)",
        "replace(v, p, '')",
        "trim(v, p)",
        "json_patch('{}', json_object('p', p))",
    ],
)
def test_an_oversized_column_is_refused(api: Api, call: str) -> None:
    response = api.query(f"SELECT {call} FROM q.t ORDER BY id")
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "LIMIT_EXCEEDED"


# An 8 MiB value: the pattern tails below cost more than `MATCH_WORK` against it.
BIG = "replace(hex(zeroblob(4194304)), '0', 'a')"
# (match with {v} for the value and {a} for the pattern, limit, a tail beyond its limit)
MATCHES = [
    ("{v} LIKE {a}", "like_tail_characters", "%" + "a" * 200),
    ("{v} NOT LIKE {a}", "like_tail_characters", "ab%" + "%a" * 200),
    ("{v} ILIKE {a}", "like_tail_characters", "%" + "a" * 200),
    ("{v} LIKE {a}", "like_tail_characters", "%" + "a\\%" * 200),  # escapes count
    ("{v} GLOB {a}", "glob_tail_characters", "*" + "a" * 200),
]


@pytest.mark.parametrize(("match", "limit", "pattern"), MATCHES)
def test_a_long_pattern_is_refused_against_a_long_value(
    api: Api, match: str, limit: str, pattern: str
) -> None:
    literal = match.format(v=BIG, a=_literal(pattern))
    _refused(api, f"SELECT {literal}", limit, TAIL)
    _refused(api, f"SELECT {match.format(v=BIG, a='$1')}", limit, TAIL, params=[pattern])
    sql = f"INSERT INTO q.t (id, v) SELECT 100, CAST({match.format(v=BIG, a='$1')} AS TEXT)"
    _refused(api, sql, limit, TAIL, params=[pattern])


@pytest.mark.parametrize(("match", "limit", "pattern"), MATCHES)
def test_a_long_pattern_matches_short_values(
    api: Api, match: str, limit: str, pattern: str
) -> None:
    """A search term longer than the tail limit is fine over values of ordinary size."""
    sql = f"SELECT id, {match.format(v='v', a='$1')} FROM q.t ORDER BY id"
    assert api.query(sql, params=[pattern]).status_code == 200
    assert api.rows(
        "SELECT id FROM q.t WHERE p LIKE '%' || $1 || '%' ORDER BY id", params=["x" * 100]
    ) == [[1]]


def test_arguments_at_the_bound_are_accepted(api: Api) -> None:
    sql = (
        "SELECT instr(v, $1), replace(v, $1, ''), trim(v, $2), v LIKE $3, v GLOB $4"
        " FROM q.t WHERE id = 2"
    )
    params = ["b" * NEEDLE, "abcdefgh", "%" + "a" * TAIL, "*" + "a" * TAIL]
    assert api.rows(sql, params=params) == [[0, "abc", "", False, False]]
    patch = '{"a": "' + "x" * (NEEDLE - 10) + '"}'
    assert api.rows("SELECT length(json_patch('{}', $1))", params=[patch]) == [[NEEDLE - 2]]
    assert api.rows(f"SELECT instr(v, {_literal('b' * NEEDLE)}) FROM q.t WHERE id = 2") == [[0]]


def test_division_by_zero_stays_its_own_error(api: Api) -> None:
    assert api.query("SELECT instr(v, $1) FROM q.t", params=[LONG_NEEDLE]).status_code == 413
    response = api.query("SELECT 1 / (id - id) FROM q.t")
    assert response.status_code != 413, response.text
    assert response.json()["error"]["message"] == "division by zero"
    assert api.query("SELECT instr(v, p) FROM q.t").status_code == 413


def test_a_policy_predicate_is_bounded_too(api: Api) -> None:
    api.add_policy(
        {
            "name": "q read",
            "table": "q.t",
            "actions": ["select"],
            "roles": ["user"],
            "using": "starts_with(v, p) OR v LIKE '%' || p",
        }
    )
    user = api.user_token("u1", ns="q")
    response = api.query("SELECT id FROM t", user)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["detail"]["limit"] == "needle_bytes"


# Small texts over an alphabet rich in wildcards: every guarded function answers what SQLite
# itself (unguarded, with the served pragmas) answers.
_TEXT = st.text(alphabet="ab%_*\\é", max_size=12)
_SHORT = st.text(alphabet="ab%_*\\é", max_size=TRIM)
_PLAIN = (
    "SELECT instr(?1, ?2), replace(?1, ?2, 'x'), trim(?1, ?2), ltrim(?1, ?2), rtrim(?1, ?2),"
    " ?1 LIKE ?2 ESCAPE '\\', ?1 GLOB ?2, lower(?1) LIKE lower(?2) ESCAPE '\\'"
)
_OURS = (
    "SELECT instr($1, $2), replace($1, $2, 'x'), trim($1, $2), ltrim($1, $2), rtrim($1, $2),"
    " $1 LIKE $2, $1 GLOB $2, $1 ILIKE $2"
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(haystack=_TEXT, argument=_SHORT)
def test_within_the_bounds_results_are_sqlites(api: Api, haystack: str, argument: str) -> None:
    plain = sqlite3.connect(":memory:")
    plain.execute("PRAGMA case_sensitive_like=ON")
    expected = list(plain.execute(_PLAIN, (haystack, argument)).fetchone())
    plain.close()
    expected[5:] = [bool(x) if x is not None else None for x in expected[5:]]
    assert api.rows(_OURS, params=[haystack, argument]) == [expected]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    with tenants(tmp_path_factory.mktemp("quadratic-served") / "data", {}) as served:
        yield served


# 32 MiB built inside the statement: users cannot reach zeroblob, but printf with a literal
# width within the length limit is theirs.
HAYSTACK = "printf('%.*c', 33554432, 'a')"


def test_a_users_insert_select_is_refused_and_another_tenant_writes(served: Tenants) -> None:
    head = served.head_lsn()
    sql = f"INSERT INTO t (id, v) SELECT 100, CAST(instr({HAYSTACK}, $1) AS TEXT)"
    refused = served.query(sql, served.users["a"], params=["a" * 100_000 + "b"])
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"]["detail"] == {"limit": "needle_bytes", "value": NEEDLE}
    assert served.head_lsn() == head
    # The most a needle may cost: it holds the writer about a second, not minutes.
    heaviest = Background(
        lambda: served.query(sql, served.users["a"], params=["a" * (NEEDLE - 1) + "b"])
    )
    time.sleep(0.2)
    began = time.monotonic()
    other = served.query("INSERT INTO t (id, v) VALUES (10, 'ten')", served.users["b"])
    assert other.status_code == 200, other.text
    assert time.monotonic() - began < 8
    assert heaviest.wait(30).status_code == 200
    assert served.query("SELECT v FROM t WHERE id = 100", served.users["a"]).json()["rows"] == [
        ["0"]
    ]


def test_a_users_read_with_a_long_pattern_is_refused_quickly(served: Tenants) -> None:
    began = time.monotonic()
    response = served.query(
        f"SELECT {HAYSTACK} LIKE $1", served.users["a"], params=["%" + "a" * 1000 + "b"]
    )
    assert response.status_code == 413, response.text
    assert time.monotonic() - began < 5


def test_a_realtime_row_filter_is_bounded_too() -> None:
    """Row images pushed to subscribers are judged by the same generated predicates."""
    conn = build_db()
    search = {
        "name": "prefix", "table": "shop.todos", "actions": ["select"],
        "using": "starts_with(title, owner)",
    }  # fmt: skip
    policies = PolicySet()
    policies.apply(created_event(parse_policy(search)))
    rows = RowFilter(policies, user_principal("alice", "shop"))
    assert rows.visible(conn, "shop.todos", {"id": 1, "owner": "ab", "title": "abc"})
    assert not rows.visible(conn, "shop.todos", {"id": 1, "owner": "b", "title": "abc"})
    with pytest.raises(sqlite3.OperationalError):
        rows.visible(conn, "shop.todos", {"id": 1, "owner": "a" * 2000, "title": "abc"})
    assert take_refusal() == Refusal("needle_bytes", NEEDLE)
    conn.close()
