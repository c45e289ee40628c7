"""RLS, namespaces, keys and policies end to end through ``api.Database`` and the real SQL
engine: policies and keys are log events folded into the projection, statements run with the
rewrite and the SQLite authorizer installed."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.auth.errors import UnauthorizedError
from api.auth.keyfiles import load_jwt_secret
from api.auth.principal import Principal, user_principal
from api.auth.registry import revoke_event
from api.auth.tokens import TokenConfig, TokenService
from api.database import Database, DatabaseOptions
from api.datadir import DataDir
from api.initialise import initialise
from api.rls.access import RlsHook, SecurityLayer
from api.rls.errors import AccessDeniedError, PolicyViolationError
from api.rls.policy import created_event, dropped_event, parse_policy
from api.sql.errors import SqlError
from eventlog import Entry
from tests.http.conftest import SHOP_SETUP


class Env:
    def __init__(self, root: Path, admin_key: str, db: Database, layer: SecurityLayer) -> None:
        self.root, self.admin_key, self.db, self.layer = root, admin_key, db, layer

    def append(self, kind: str, payload: dict[str, object]) -> None:
        self.db.append_event(Entry(kind, payload, actor="admin"))
        self.refresh()

    def refresh(self) -> None:
        with self.db.store.snapshot() as snap:
            self.layer.refresh(snap.conn)

    def rows(self, sql: str, principal: Principal | None) -> list[list[Any]]:
        return self.db.execute(sql, principal=principal).rows


def _open(root: Path) -> tuple[Database, SecurityLayer]:
    tokens = TokenService(TokenConfig(secret=load_jwt_secret(DataDir(root).keys, environ={})))
    layer = SecurityLayer(tokens)
    return Database.open(root, DatabaseOptions(access=layer)), layer


@pytest.fixture
def env(tmp_path: Path, policy_documents: list[dict[str, object]]) -> Iterator[Env]:
    root = tmp_path / "data"
    admin_key = initialise(DataDir(root), 1 << 20)["admin_key"]
    db, layer = _open(root)
    environment = Env(root, admin_key, db, layer)
    for sql in SHOP_SETUP:
        db.execute(sql)
    for document in policy_documents:
        environment.append("policy", created_event(parse_policy(document)))
    yield environment
    environment.db.close()


@pytest.fixture
def alice() -> Principal:
    return user_principal("alice", "shop")


def _ids(rows: list[list[Any]]) -> list[Any]:
    return sorted(row[0] for row in rows)


def test_user_sees_own_rows_through_every_query_shape(env: Env, alice: Principal) -> None:
    for sql in (
        "SELECT id FROM todos",
        "SELECT id FROM shop.todos WHERE owner <> 'alice' OR true",
        "WITH t AS (SELECT * FROM todos) SELECT id FROM t",
        "SELECT id FROM todos UNION SELECT id FROM todos WHERE owner = 'bob'",
        "SELECT id FROM (SELECT id FROM todos) AS s",
        "SELECT todos.id FROM notes JOIN todos ON todos.id = notes.todo_id UNION ALL SELECT 2",
    ):
        assert set(_ids(env.rows(sql, alice))) <= {1, 2}, sql
    probe = "SELECT body FROM notes WHERE EXISTS (SELECT 1 FROM todos WHERE id = notes.todo_id)"
    assert env.rows(probe, alice) == [["n1"]]


def test_user_writes_are_confined(env: Env, alice: Principal) -> None:
    assert _ids(env.rows("UPDATE todos SET title = 'x' RETURNING id", alice)) == [1, 2]
    head = env.db.log.head_lsn
    for refused in (
        "UPDATE todos SET owner = 'bob' WHERE id = 1",
        "INSERT INTO todos (id, owner, title) VALUES (10, 'bob', 'forged')",
    ):
        with pytest.raises(PolicyViolationError, match="row-level security policy") as caught:
            env.db.execute(refused, principal=alice)
        assert (caught.value.code, caught.value.sqlstate) == ("FORBIDDEN", "42501")
    assert env.db.log.head_lsn == head
    assert env.rows("DELETE FROM todos WHERE id = 3 RETURNING id", alice) == []
    own = "INSERT INTO todos (id, owner, title) VALUES (11, 'alice', 'mine') RETURNING id"
    assert env.rows(own, alice) == [[11]]
    state = env.rows("SELECT id, owner, title FROM shop.todos ORDER BY id", None)
    assert state == [[1, "alice", "x"], [2, "alice", "x"], [3, "bob", "b1"], [11, "alice", "mine"]]


def test_cross_namespace_and_system_tables_are_refused(env: Env, alice: Principal) -> None:
    shop_key = Principal(kind="namespace", id="key:test", namespace="shop")
    for principal in (alice, shop_key):
        for sql in (
            "SELECT * FROM other.secrets",
            "SELECT * FROM todos JOIN other.secrets AS s ON s.id = todos.id",
            "INSERT INTO other.secrets (id, value) VALUES (5, 'x')",
            "SELECT * FROM sqlite_master",
            "SELECT * FROM _bkg_api_keys",
            "SELECT * FROM pragma_table_info('other.secrets')",
            "PRAGMA table_info('other.secrets')",
            "SELECT 1; SELECT * FROM other.secrets",
            'SELECT * FROM "other.secrets"',
        ):
            with pytest.raises((AccessDeniedError, SqlError)):
                env.db.execute(sql, principal=principal)
    assert env.rows("SELECT value FROM other.secrets", None) == [["top secret"]]


def test_namespace_key_bypasses_rls_inside_its_namespace(env: Env) -> None:
    shop_key = Principal(kind="namespace", id="key:test", namespace="shop")
    assert _ids(env.rows("SELECT id FROM todos", shop_key)) == [1, 2, 3]
    for sql in (
        "CREATE TABLE items (id SERIAL PRIMARY KEY, name TEXT)",
        "CREATE INDEX items_name ON items (name)",
        "ALTER TABLE items ADD COLUMN price NUMERIC",
        "INSERT INTO items (name, price) VALUES ('i', 1.5)",
        "ALTER TABLE items RENAME COLUMN name TO label",
        "DROP INDEX items_name",
    ):
        env.db.execute(sql, principal=shop_key)
    assert env.rows("SELECT id, label, price FROM shop.items", None) == [[1, "i", 1.5]]
    env.db.execute("DROP TABLE items", principal=shop_key)
    for sql in (
        "CREATE TABLE other.evil (id INTEGER)",
        "DROP TABLE other.secrets",
        "ALTER TABLE todos RENAME TO other.todos",
        "CREATE SCHEMA evil",
    ):
        with pytest.raises((AccessDeniedError, SqlError)):
            env.db.execute(sql, principal=shop_key)


def test_dropping_a_policy_hides_the_rows(env: Env, alice: Principal) -> None:
    env.append("policy", dropped_event("shop", "own todos"))
    assert env.rows("SELECT id FROM todos", alice) == []


def test_keys_and_policies_come_back_after_a_rebuild(env: Env, alice: Principal) -> None:
    admin = env.layer.bearers.resolve(env.admin_key)
    assert admin.kind == "admin"
    env.append("auth", revoke_event(admin.id.removeprefix("key:"), time.time() + 3600))
    env.db.close()
    for path in (env.root / "projections").iterdir():
        path.unlink()
    for path in (env.root / "checkpoints").iterdir():
        if path.is_file():
            path.unlink()
    db, layer = _open(env.root)
    env.db, env.layer = db, layer
    env.refresh()
    assert env.layer.bearers.resolve(env.admin_key).kind == "admin"
    with pytest.raises(UnauthorizedError, match="invalid API key"):
        env.layer.bearers.resolve(env.admin_key, now_s=time.time() + 7200)
    assert [p.name for p in env.layer.policies.all()] == [
        "insert own",
        "notes are public",
        "own todos",
    ]
    assert _ids(env.rows("SELECT id FROM todos", alice)) == [1, 2]


def test_token_with_another_namespace_claim_stays_in_that_namespace(env: Env) -> None:
    token = env.layer.bearers.tokens.mint("alice", "user", "other", ttl=60)
    mallory = env.layer.bearers.resolve(token)
    assert mallory.namespace == "other"
    with pytest.raises((AccessDeniedError, SqlError)):
        env.db.execute("SELECT * FROM shop.todos", principal=mallory)
    assert env.rows("SELECT value FROM secrets", mallory) == []


def test_rotated_key_works_through_the_grace_period_only(env: Env) -> None:
    now = time.time()
    admin = env.layer.bearers.resolve(env.admin_key, now_s=now)
    key_id = admin.id.removeprefix("key:")
    new_key, event = env.layer.bearers.keys.rotate_event(key_id, 30, None, now_s=now)
    env.append("auth", event)
    assert env.layer.bearers.resolve(env.admin_key, now_s=now + 29).id == admin.id
    assert env.layer.bearers.resolve(new_key, now_s=now + 29).kind == "admin"
    with pytest.raises(UnauthorizedError):
        env.layer.bearers.resolve(env.admin_key, now_s=now + 30)
    assert env.layer.bearers.resolve(new_key, now_s=now + 3600).kind == "admin"


def test_errors_do_not_leak_values_of_hidden_rows(env: Env, alice: Principal) -> None:
    with pytest.raises(SqlError) as info:
        env.db.execute(
            "INSERT INTO todos (id, owner, title) VALUES (3, 'alice', 'x')", principal=alice
        )
    text = f"{info.value} {info.value.detail}"
    assert "bob" not in text and "b1" not in text


def test_first_write_after_ddl_installs_capture_under_the_users_authorizer(
    env: Env, alice: Principal
) -> None:
    env.db.execute("CREATE TABLE shop.serials (id SERIAL PRIMARY KEY, owner TEXT)")
    env.append(
        "policy",
        created_event(
            parse_policy(
                {
                    "name": "own serials",
                    "table": "shop.serials",
                    "actions": ["insert", "select"],
                    "using": "owner = auth.uid()",
                }
            )
        ),
    )
    sql = "INSERT INTO serials (owner) VALUES ('alice') RETURNING id"
    assert env.rows(sql, alice) == [[1]]
    assert env.rows("SELECT id, owner FROM serials", alice) == [[1, "alice"]]


def test_rewrite_cache_key_follows_principal_and_policy_version(env: Env, alice: Principal) -> None:
    hooks = [
        env.layer.rewrite_for(p)
        for p in (alice, user_principal("alice", "shop"), user_principal("bob", "shop"))
    ]
    assert all(isinstance(h, RlsHook) for h in hooks)
    first, again, bob = (h.cache_key for h in hooks if isinstance(h, RlsHook))
    assert first == again and first != bob
    env.append("policy", dropped_event("shop", "notes are public"))
    after = env.layer.rewrite_for(alice)
    assert isinstance(after, RlsHook) and after.cache_key != first
    assert env.layer.rewrite_for(Principal(kind="admin", id="key:a")) is None
    assert env.layer.authorizer_for(Principal(kind="admin", id="key:a")) is None
