"""A real SQLite database with rows of several owners, policies, and a runner that takes a
statement string through the RLS rewrite to SQLite the way the SQL layer does: parse
(Postgres dialect), rewrite each statement, map ``N.t`` to the physical table ``"N.t"`` and
execute."""

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from api.auth.principal import Principal, user_principal
from api.rls.policy import PolicySet, created_event, parse_policy
from api.rls.rewrite import RlsRewriter
from projections.meta import connect

Runner = Callable[..., list[tuple[Any, ...]]]

SCHEMA = [
    'CREATE TABLE "shop.todos" (id INTEGER PRIMARY KEY, owner TEXT, title TEXT, team TEXT)',
    'CREATE TABLE "shop.notes" (id INTEGER PRIMARY KEY, todo_id INTEGER, body TEXT)',
    'CREATE TABLE "shop.audit" (id INTEGER PRIMARY KEY, secret TEXT)',
    'CREATE TABLE "other.todos" (id INTEGER PRIMARY KEY, owner TEXT, title TEXT)',
]
ROWS: list[tuple[str, list[tuple[Any, ...]]]] = [
    (
        'INSERT INTO "shop.todos" VALUES (?, ?, ?, ?)',
        [
            (1, "alice", "alice-1", "red"),
            (2, "alice", "alice-2", "blue"),
            (3, "bob", "bob-1", "red"),
            (4, "carol", "carol-1", "blue"),
        ],
    ),
    ('INSERT INTO "shop.notes" VALUES (?, ?, ?)', [(1, 1, "n1"), (2, 3, "n3"), (3, 4, "n4")]),
    ('INSERT INTO "shop.audit" VALUES (?, ?)', [(1, "s3cret")]),
    ('INSERT INTO "other.todos" VALUES (?, ?, ?)', [(1, "alice", "elsewhere")]),
]
POLICIES = [
    {
        "name": "own todos",
        "table": "shop.todos",
        "actions": ["select", "update", "delete"],
        "using": "owner = auth.uid()",
    },
    {
        "name": "insert own",
        "table": "shop.todos",
        "actions": ["insert"],
        "check": "owner = auth.uid()",
    },
    {"name": "notes are public", "table": "shop.notes", "actions": ["select"], "using": "true"},
]


def build_db(
    keep: Callable[[str, tuple[Any, ...]], bool] = lambda stmt, row: True,
) -> sqlite3.Connection:
    """The fixture database in memory, with the rows ``keep`` accepts."""
    db = connect(":memory:")
    for statement in SCHEMA:
        db.execute(statement)
    for statement, rows in ROWS:
        db.executemany(statement, [row for row in rows if keep(statement, row)])
    return db


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    db = build_db()
    yield db
    db.close()


@pytest.fixture
def policy_documents() -> list[dict[str, Any]]:
    """Own todos (select/update/delete/insert), readable notes, no policy on audit."""
    return [dict(document) for document in POLICIES]


@pytest.fixture
def policies(policy_documents: list[dict[str, Any]]) -> PolicySet:
    found = PolicySet()
    for document in policy_documents:
        found.apply(created_event(parse_policy(document)))
    return found


@pytest.fixture
def alice() -> Principal:
    return user_principal("alice", "shop", {"team": "red"})


def physical(stmt: exp.Expr) -> exp.Expr:
    """``N.t`` -> the SQLite table ``"N.t"``, keeping ``t`` usable as a qualifier."""
    target = stmt.this.this if isinstance(stmt.this, exp.Schema) else stmt.this
    for table in list(stmt.find_all(exp.Table)):
        if not table.db:
            continue
        renamed = exp.Table(this=exp.to_identifier(f"{table.db}.{table.name}", quoted=True))
        alias = table.args.get("alias")
        if alias is None and not (isinstance(stmt, exp.Insert) and table is target):
            alias = exp.TableAlias(this=exp.to_identifier(table.name))
        if alias is not None:
            renamed.set("alias", alias)
        table.replace(renamed)
    return stmt


def make_runner(conn: sqlite3.Connection, policies: PolicySet) -> Runner:
    """Run statement strings on ``conn`` as a principal, through the rewrite."""

    def runner(sql: str, principal: Principal, params: Any = ()) -> list[tuple[Any, ...]]:
        rewriter = RlsRewriter(policies, principal)
        rows: list[tuple[Any, ...]] = []
        for parsed in sqlglot.parse(sql, read="postgres"):
            if parsed is not None:
                stmt = physical(rewriter.rewrite(parsed).copy())
                rows = conn.execute(stmt.sql(dialect="sqlite"), params).fetchall()
        return rows

    return runner


@pytest.fixture
def run(conn: sqlite3.Connection, policies: PolicySet) -> Runner:
    return make_runner(conn, policies)


def visible_pair() -> tuple[sqlite3.Connection, Runner, sqlite3.Connection, Runner]:
    """For differential tests: the full database with alice's runner (through RLS), and a
    database holding only the rows alice's policies show with a namespace key's runner."""
    policies = PolicySet()
    for document in POLICIES:
        policies.apply(created_event(parse_policy(document)))
    full = build_db()
    mine = build_db(
        lambda stmt, row: "audit" not in stmt and ("todos" not in stmt or row[1] == "alice")
    )
    return full, make_runner(full, policies), mine, make_runner(mine, PolicySet())


@pytest.fixture(scope="module")
def visible_only() -> tuple[Runner, Runner]:
    """Read-only differential pair (shared by every example of a property)."""
    _, through_rls, _, restricted = visible_pair()
    return through_rls, restricted


@pytest.fixture(scope="module")
def fresh_visible_pair() -> Callable[
    [], tuple[sqlite3.Connection, Runner, sqlite3.Connection, Runner]
]:
    """A factory of new differential pairs, for properties that write."""
    return visible_pair
