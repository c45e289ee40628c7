"""The policy check of written rows, through the served app: a user's INSERT or UPDATE is
checked on the rows it actually stored (the captured images that are logged), a row that
fails refuses the whole request with 403 FORBIDDEN (SQLSTATE 42501) and nothing is appended.

Namespace ``prop``: ``things`` rows belong to ``u1`` or ``u2`` (policy ``owner =
auth.uid()`` for every action, with the same ``check``); ``nums`` (1..4) is readable by
every user, as a multi-row source; ``dropbox`` is an insert-only drop box (check ``true``, rows
readable by their owner only); ``plain`` has one policy for every action with ``using``
only, which Postgres also applies as the check; ``teams`` rows may be written by members
of the team (a check with a subquery).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from api.rls.errors import AccessDeniedError, PolicyViolationError
from tests.http.conftest import Api, make_data_dir, open_api

VIOLATION = 'new row violates row-level security policy for table "{}"'
SETUP = [
    "CREATE SCHEMA prop",
    "CREATE TABLE prop.things (id SERIAL PRIMARY KEY, owner TEXT, v INTEGER)",
    "CREATE TABLE prop.nums (n INTEGER PRIMARY KEY)",
    "CREATE TABLE prop.dropbox (id SERIAL PRIMARY KEY, owner TEXT, body TEXT)",
    "CREATE TABLE prop.plain (id SERIAL PRIMARY KEY, owner TEXT DEFAULT 'u2', v INTEGER)",
    "CREATE TABLE prop.members (grp TEXT, sub TEXT, PRIMARY KEY (grp, sub))",
    "CREATE TABLE prop.teams (id SERIAL PRIMARY KEY, team TEXT, body TEXT)",
    "CREATE TABLE prop.squads (id SERIAL PRIMARY KEY, team TEXT)",
    "INSERT INTO prop.nums (n) VALUES (1), (2), (3), (4)",
    "INSERT INTO prop.things (owner, v) VALUES ('u1', 1), ('u1', 2), ('u2', 3), ('u2', 4)",
    "INSERT INTO prop.members (grp, sub) VALUES ('red', 'u1'), ('blue', 'u2')",
]
POLICIES: list[dict[str, Any]] = [
    {
        "name": "mine",
        "table": "prop.things",
        "actions": ["select", "insert", "update", "delete"],
        "using": "owner = auth.uid()",
        "check": "owner = auth.uid()",
    },
    {"name": "numbers", "table": "prop.nums", "actions": ["select"], "using": "true"},
    {"name": "dropbox in", "table": "prop.dropbox", "actions": ["insert"], "check": "true"},
    {
        "name": "dropbox out",
        "table": "prop.dropbox",
        "actions": ["select"],
        "using": "owner = auth.uid()",
    },
    {
        "name": "plain",
        "table": "prop.plain",
        "actions": ["select", "insert", "update", "delete"],
        "using": "owner = auth.uid()",
    },
    {
        "name": "members write",
        "table": "prop.teams",
        "actions": ["select", "insert"],
        "using": "EXISTS (SELECT 1 FROM members AS m WHERE m.grp = team AND m.sub = auth.uid())",
    },
    {
        "name": "own team",
        "table": "prop.squads",
        "actions": ["insert", "update"],
        "using": "team = auth.jwt() ->> 'team'",
    },
]
THINGS = "SELECT id, owner, v FROM prop.things ORDER BY id"


@pytest.fixture
def prop(tmp_path: Path) -> Iterator[Api]:
    for api in open_api(make_data_dir(tmp_path)):
        for sql in SETUP:
            api.ok(sql)
        for policy in POLICIES:
            api.add_policy(policy)
        yield api


def _refused(api: Api, response: Any, head: int, table: str = "things") -> None:
    """403 FORBIDDEN with Postgres' message, and nothing appended."""
    assert response.status_code == 403, response.text
    assert response.json()["error"] == {"code": "FORBIDDEN", "message": VIOLATION.format(table)}
    assert api.head == head


def test_a_volatile_owner_is_checked_on_the_rows_stored(prop: Api) -> None:
    u1 = prop.user_token("u1", "prop")
    sql = (
        "INSERT INTO things (owner, v) SELECT CASE WHEN random() < 0.5 THEN 'u1' ELSE 'u2' END,"
        " n + 30 FROM nums"
    )
    outcomes = []
    for _ in range(20):
        head, before = prop.head, prop.rows(THINGS)
        response = prop.query(sql, u1)
        outcomes.append(response.status_code)
        if response.status_code == 200:
            assert response.json()["rowcount"] == 4
            added = prop.rows(THINGS)[len(before) :]
            assert [(owner, v) for _, owner, v in added] == [("u1", n + 30) for n in range(1, 5)]
        else:
            _refused(prop, response, head)
            assert prop.rows(THINGS) == before
    assert 403 in outcomes
    assert [r for r in prop.rows(THINGS) if r[1] != "u1"] == [[3, "u2", 3], [4, "u2", 4]]


def test_an_update_cannot_give_rows_away(prop: Api) -> None:
    u1 = prop.user_token("u1", "prop")
    before, head = prop.rows(THINGS), prop.head
    for sql in (
        "UPDATE things SET owner = 'u2' WHERE id = 1",
        "UPDATE things SET owner = upper(owner)",
        "UPDATE things SET owner = CASE WHEN v = 2 THEN 'u2' ELSE owner END RETURNING id",
        "UPDATE things SET owner = NULL WHERE v = 1",
    ):
        _refused(prop, prop.query(sql, u1), head)
    assert prop.rows(THINGS) == before
    kept = prop.ok("UPDATE things SET v = v + 10, owner = auth.uid() RETURNING id, owner", u1)
    assert kept["rows"] == [[1, "u1"], [2, "u1"]]


def test_one_failing_statement_refuses_the_whole_batch(prop: Api) -> None:
    u1 = prop.user_token("u1", "prop")
    before, head = prop.rows(THINGS), prop.head
    statements = [
        {"sql": "INSERT INTO things (owner, v) VALUES ('u1', 50)"},
        {"sql": "UPDATE things SET v = 51 WHERE v = 50"},
        {"sql": "INSERT INTO things (owner, v) VALUES ($1, 52)", "params": ["u2"]},
    ]
    response = prop.client.post(
        "/query", json={"statements": statements}, headers={"Authorization": f"Bearer {u1}"}
    )
    _refused(prop, response, head)
    assert prop.rows(THINGS) == before


def test_columns_left_out_are_checked_with_the_values_stored(prop: Api) -> None:
    u1 = prop.user_token("u1", "prop")
    head = prop.head
    for sql in (
        "INSERT INTO plain (v) VALUES (1)",
        "INSERT INTO plain DEFAULT VALUES",
        "INSERT INTO things (v) VALUES (7)",
        "INSERT INTO things VALUES (100, 'u2', 8)",
    ):
        table = "plain" if "plain" in sql else "things"
        _refused(prop, prop.query(sql, u1), head, table)
    assert prop.ok("INSERT INTO things VALUES (100, 'u1', 8) RETURNING owner", u1)["rows"] == [
        ["u1"]
    ]


def test_a_policy_without_check_checks_with_its_using(prop: Api) -> None:
    u1 = prop.user_token("u1", "prop")
    _refused(
        prop, prop.query("INSERT INTO plain (owner, v) VALUES ('u2', 1)", u1), prop.head, "plain"
    )
    assert prop.ok("INSERT INTO plain (owner, v) VALUES ('u1', 1)", u1)["rowcount"] == 1
    _refused(prop, prop.query("UPDATE plain SET owner = 'u2'", u1), prop.head, "plain")


def test_returning_a_row_the_user_may_write_but_not_read_is_refused(prop: Api) -> None:
    u1 = prop.user_token("u1", "prop")
    given = prop.ok("INSERT INTO dropbox (owner, body) VALUES ('u2', 'for you')", u1)
    assert given["rowcount"] == 1
    head = prop.head
    sql = "INSERT INTO dropbox (owner, body) VALUES ('u2', 'x') RETURNING body"
    response = prop.query(sql, u1)
    _refused(prop, response, head, "dropbox")
    mine = "INSERT INTO dropbox (owner, body) VALUES ('u1', 'mine') RETURNING body"
    assert prop.rows(mine, u1) == [["mine"]]
    assert prop.rows("SELECT owner, body FROM prop.dropbox ORDER BY id") == [
        ["u2", "for you"],
        ["u1", "mine"],
    ]


def test_a_check_with_a_subquery_reads_the_current_state(prop: Api) -> None:
    u1 = prop.user_token("u1", "prop")
    head = prop.head
    _refused(
        prop, prop.query("INSERT INTO teams (team, body) VALUES ('blue', 'x')", u1), head, "teams"
    )
    assert prop.ok("INSERT INTO teams (team, body) VALUES ('red', 'ok')", u1)["rowcount"] == 1
    prop.ok("DELETE FROM prop.members WHERE sub = 'u1'")
    head = prop.head
    _refused(
        prop, prop.query("INSERT INTO teams (team, body) VALUES ('red', 'y')", u1), head, "teams"
    )


def test_a_check_may_read_the_tokens_claims(prop: Api) -> None:
    red = prop.user_token("u1", "prop", team="red")
    head = prop.head
    _refused(prop, prop.query("INSERT INTO squads (team) VALUES ('blue')", red), head, "squads")
    assert prop.ok("INSERT INTO squads (team) VALUES ('red')", red)["rowcount"] == 1
    no_team = prop.user_token("u2", "prop")
    head = prop.head
    _refused(prop, prop.query("INSERT INTO squads (team) VALUES ('red')", no_team), head, "squads")


def test_the_refusal_carries_sqlstate_42501_for_every_door(prop: Api) -> None:
    u1 = prop.backend.principal(prop.user_token("u1", "prop"))
    with pytest.raises(PolicyViolationError) as caught:
        prop.backend.db.execute("INSERT INTO things (owner) VALUES ('u2')", principal=u1)
    assert isinstance(caught.value, AccessDeniedError)
    assert (caught.value.code, caught.value.sqlstate) == ("FORBIDDEN", "42501")
    assert caught.value.table == "prop.things"


# -- the property ------------------------------------------------------------------------

LEAVES = ["'u1'", "'u2'", "'U1'", "''", "NULL", "auth.uid()", "'u' || '1'"]
CHANCES = ["0", "0.5", "1"]


def _owners(extra_leaves: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """Owner expressions: literals, auth.uid(), CASE over random(), coalesce, ||, lower."""

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(
                lambda p, a, b: f"CASE WHEN random() < {p} THEN {a} ELSE {b} END",
                st.sampled_from(CHANCES),
                children,
                children,
            ),
            st.builds(lambda a, b: f"coalesce({a}, {b})", children, children),
            st.builds(lambda a, b: f"({a} || {b})", children, children),
            st.builds(lambda a: f"lower({a})", children),
            st.builds(
                lambda a, b: f"CASE WHEN auth.uid() = 'u1' THEN {a} ELSE {b} END",
                children,
                children,
            ),
        )

    return st.recursive(st.sampled_from([*LEAVES, *extra_leaves]), extend, max_leaves=5)


def _statement(owner: str, kind: str, returning: bool) -> tuple[str, str]:
    """A write and the query (run as the user) giving the owner each written row gets,
    when the owner expression is not volatile."""
    tail = " RETURNING id, owner" if returning else ""
    if kind == "values":
        return (
            f"INSERT INTO things (owner, v) VALUES ({owner}, 20), ({owner}, 21){tail}",
            f"SELECT {owner} FROM nums WHERE n <= 2",
        )
    if kind == "select":
        return (
            f"INSERT INTO things (owner, v) SELECT {owner}, n + 30 FROM nums{tail}",
            f"SELECT {owner} FROM nums",
        )
    if kind == "copy":
        return (
            f"INSERT INTO things (owner, v) SELECT {owner}, v + 40 FROM things WHERE v < 10{tail}",
            f"SELECT {owner} FROM things WHERE v < 10",
        )
    if kind == "update":
        return (f"UPDATE things SET owner = {owner}{tail}", f"SELECT {owner} FROM things")
    return (f"DELETE FROM things WHERE v >= 20{tail}", "SELECT 'u1' WHERE false")


inserts = st.builds(
    _statement,
    _owners(),
    st.sampled_from(["values", "select", "copy"]),
    st.booleans(),
)
updates = st.builds(_statement, _owners(("owner",)), st.just("update"), st.booleans())
deletes = st.builds(_statement, st.just("'u1'"), st.just("delete"), st.booleans())
requests = st.lists(st.one_of(inserts, updates, deletes), min_size=1, max_size=3)


def _changes_since(api: Api, head: int) -> list[dict[str, Any]]:
    """The row changes of the records appended after ``head``."""
    if api.head == head:
        return []
    return [
        change
        for record in api.backend.db.log.read(head + 1, api.head)
        for change in record.payload.get("changes") or ()
    ]


def _applied(before: list[list[Any]], changes: list[dict[str, Any]]) -> list[list[Any]]:
    """``before`` with the logged changes applied: what the projection must hold."""
    rows = {row[0]: row for row in before}
    for change in changes:
        assert change["table"] == "prop.things", change
        image = change["new"] or change["old"]
        if change["op"] == "delete":
            rows.pop(image["id"])
        else:
            rows[image["id"]] = [image["id"], image["owner"], image["v"]]
    return [rows[key] for key in sorted(rows)]


def _expected_to_pass(api: Api, token: str, statements: list[tuple[str, str]]) -> bool | None:
    """For a single statement whose owner is not volatile: whether every row it writes is
    the user's (None: volatile, or a batch whose later statements see earlier effects)."""
    if len(statements) != 1 or "random() < 0.5" in statements[0][0]:
        return None
    return all(row[0] == "u1" for row in api.rows(statements[0][1], token))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(statements=requests)
def test_a_user_never_stores_a_row_its_check_rejects(
    prop: Api, statements: list[tuple[str, str]]
) -> None:
    u1 = prop.user_token("u1", "prop")
    others = [row for row in prop.rows(THINGS) if row[1] != "u1"]
    before, head = prop.rows(THINGS), prop.head
    expected = _expected_to_pass(prop, u1, statements)
    body = {"statements": [{"sql": sql} for sql, _ in statements]}
    response = prop.client.post("/query", json=body, headers={"Authorization": f"Bearer {u1}"})
    after = prop.rows(THINGS)
    event(f"answer {response.status_code}, predicted {expected}")
    if response.status_code == 200:
        assert expected in (None, True), statements
        changes = _changes_since(prop, head)
        assert all(c["new"]["owner"] == "u1" for c in changes if c["new"] is not None)
        assert after == _applied(before, changes)
    else:
        assert expected in (None, False), (statements, response.text)
        _refused(prop, response, head)
        assert after == before
    assert [row for row in after if row[1] != "u1"] == others
