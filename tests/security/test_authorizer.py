"""The SQLite authorizer on its own: statements that skip the rewrite still cannot escape."""

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.auth.principal import ADMIN, Principal, user_principal
from api.rls.authorizer import make_authorizer

SHOP_KEY = Principal(kind="namespace", id="key:k", namespace="shop")


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute('CREATE TABLE "shop.todos" (id INTEGER PRIMARY KEY, owner TEXT)')
    conn.execute('CREATE TABLE "other.secrets" (id INTEGER PRIMARY KEY, value TEXT)')
    conn.execute("CREATE TABLE _bkg_api_keys (id TEXT, hash TEXT)")
    conn.execute("INSERT INTO \"other.secrets\" VALUES (1, 'top secret')")
    yield conn
    conn.close()


def _denied(conn: sqlite3.Connection, sql: str) -> bool:
    try:
        conn.execute(sql).fetchall()
    except sqlite3.DatabaseError as exc:
        return any(m in str(exc) for m in ("not authorized", "prohibited", "may not be modified"))
    return False


@pytest.mark.parametrize("principal", [user_principal("alice", "shop"), SHOP_KEY])
def test_non_admins_are_walled_in(db: sqlite3.Connection, principal: Principal) -> None:
    db.set_authorizer(make_authorizer(principal))
    assert db.execute('SELECT count(*), max(abs(id)) FROM "shop.todos"').fetchall() == [(0, None)]
    for sql in (
        'SELECT * FROM "other.secrets"',
        'SELECT (SELECT value FROM "other.secrets")',
        "INSERT INTO \"other.secrets\" VALUES (2, 'x')",
        "SELECT * FROM _bkg_api_keys",
        "INSERT INTO sqlite_master VALUES ('table', 'x', 'x', 0, 'CREATE TABLE x (a)')",
        "UPDATE sqlite_master SET sql = 'x'",
        "SELECT * FROM pragma_table_info('other.secrets')",
        "PRAGMA table_info('other.secrets')",
        "PRAGMA writable_schema = ON",
        "ATTACH DATABASE ':memory:' AS x",
        "SELECT load_extension('x')",
        "SELECT sqlite_version()",
        'CREATE TEMP TRIGGER t AFTER INSERT ON "shop.todos" BEGIN SELECT 1; END',
        'CREATE TABLE "other.evil" (a)',
    ):
        assert _denied(db, sql), sql


def test_users_may_not_change_the_schema(db: sqlite3.Connection) -> None:
    db.set_authorizer(make_authorizer(user_principal("alice", "shop")))
    assert _denied(db, "SELECT * FROM sqlite_master")
    assert _denied(db, 'CREATE TABLE "shop.mine" (a)')
    assert _denied(db, 'DROP TABLE "shop.todos"')
    assert _denied(db, 'CREATE INDEX "shop.i" ON "shop.todos" (owner)')


def test_namespace_keys_may_change_their_own_schema(db: sqlite3.Connection) -> None:
    db.set_authorizer(make_authorizer(SHOP_KEY))
    db.execute('CREATE TABLE "shop.items" (id INTEGER PRIMARY KEY)')
    db.execute('CREATE INDEX "shop.items_id" ON "shop.items" (id)')
    db.execute('ALTER TABLE "shop.items" ADD COLUMN name TEXT')
    db.execute('ALTER TABLE "shop.items" RENAME TO "shop.things"')
    db.execute('DROP TABLE "shop.things"')
    assert not _denied(db, "INSERT INTO \"shop.todos\" (owner) VALUES ('k')")
    assert _denied(db, 'DROP TABLE "other.secrets"')
    assert _denied(db, 'CREATE INDEX "shop.x" ON "other.secrets" (value)')


def test_admin_is_only_refused_pragma_and_attach(db: sqlite3.Connection) -> None:
    db.set_authorizer(make_authorizer(ADMIN))
    assert db.execute('SELECT value FROM "other.secrets"').fetchall() == [("top secret",)]
    assert _denied(db, "PRAGMA table_info('other.secrets')")
    assert _denied(db, "ATTACH DATABASE ':memory:' AS x")


def test_statements_prepared_before_the_authorizer_are_checked_again(
    db: sqlite3.Connection,
) -> None:
    sql = 'SELECT value FROM "other.secrets"'
    assert db.execute(sql).fetchall() == [("top secret",)]
    db.set_authorizer(make_authorizer(user_principal("alice", "shop")))
    assert _denied(db, sql)


@given(
    questions=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    sqlite3.SQLITE_READ,
                    sqlite3.SQLITE_INSERT,
                    sqlite3.SQLITE_FUNCTION,
                    sqlite3.SQLITE_CREATE_TABLE,
                    sqlite3.SQLITE_PRAGMA,
                ]
            ),
            st.sampled_from(
                [None, "shop.todos", "other.secrets", "_bkg_sql_meta", "sqlite_master"]
            ),
            st.sampled_from([None, "id", "abs", "load_extension", "shop.todos"]),
            st.sampled_from([None, "main", "temp"]),
        ),
        max_size=30,
    )
)
def test_remembered_decisions_are_the_decisions(
    questions: list[tuple[int, str | None, str | None, str | None]],
) -> None:
    """An authorizer remembers its answers; asked again, it answers as a fresh one would."""
    for principal in (user_principal("alice", "shop"), SHOP_KEY):
        remembering = make_authorizer(principal)
        for action, arg1, arg2, db in questions + questions:
            fresh = make_authorizer(principal)
            assert remembering(action, arg1, arg2, db, None) == fresh(action, arg1, arg2, db, None)
