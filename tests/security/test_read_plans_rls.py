"""Remembered read plans and authorizers under row-level security: a user's repeated read
follows every policy change, users alike share one authorizer (and no one else does),
and a pooled connection serves users, admins and the server's own reads in turn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.auth.apikeys import ApiKeyRecord
from api.auth.keyfiles import load_jwt_secret
from api.auth.principal import ADMIN, Principal, key_principal, user_principal
from api.auth.tokens import TokenConfig, TokenService
from api.database import Database, DatabaseOptions
from api.datadir import DataDir
from api.initialise import initialise
from api.rls.access import SecurityLayer
from api.rls.errors import AccessDeniedError
from api.rls.policy import created_event, dropped_event, parse_policy
from api.sql.errors import SqlError
from eventlog import Entry
from tests.http.conftest import SHOP_POLICIES, SHOP_SETUP

MINE = "SELECT id FROM todos WHERE id = $1 OR id = $2 OR id = $3"


class Served:
    def __init__(self, db: Database, layer: SecurityLayer) -> None:
        self.db, self.layer = db, layer

    def append(self, kind: str, payload: dict[str, Any]) -> None:
        self.db.append_event(Entry(kind, payload, actor="admin"))
        with self.db.store.snapshot() as snap:
            self.layer.refresh(snap.conn)

    def ids(self, principal: Principal | None, sql: str = MINE) -> list[int]:
        return sorted(row[0] for row in self.db.execute(sql, [1, 2, 3], principal).rows)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    root = tmp_path / "data"
    initialise(DataDir(root), 1 << 20)
    tokens = TokenService(TokenConfig(secret=load_jwt_secret(DataDir(root).keys, environ={})))
    layer = SecurityLayer(tokens)
    with Database.open(root, DatabaseOptions(access=layer)) as db:
        for sql in SHOP_SETUP:
            db.execute(sql)
        env = Served(db, layer)
        for document in SHOP_POLICIES:
            env.append("policy", created_event(parse_policy(document)))
        yield env


def test_a_users_repeated_read_follows_every_policy_change(served: Served) -> None:
    alice = user_principal("alice", "shop")
    assert served.ids(alice) == [1, 2]
    assert served.ids(alice) == [1, 2]
    served.append("policy", dropped_event("shop", "own"))
    assert served.ids(alice) == []  # no policy, no rows
    everyone = {"name": "all", "table": "shop.todos", "actions": ["select"], "using": "true"}
    served.append("policy", created_event(parse_policy(everyone)))
    assert served.ids(alice) == [1, 2, 3]
    assert served.ids(ADMIN, "SELECT id FROM shop.todos WHERE id IN ($1, $2, $3)") == [1, 2, 3]


def test_users_alike_share_an_authorizer_and_no_one_else_does(served: Served) -> None:
    layer = served.layer
    alice, bob = user_principal("alice", "shop"), user_principal("bob", "shop")
    stranger = user_principal("alice", "other")
    owner = key_principal(ApiKeyRecord("k1", "bkg_", "", "namespace", "shop", None, 0.0, None))
    assert layer.authorizer_for(alice) is layer.authorizer_for(bob)
    assert layer.authorizer_for(alice) is not layer.authorizer_for(stranger)
    assert layer.authorizer_for(alice) is not layer.authorizer_for(owner)
    assert layer.authorizer_for(ADMIN) is None


def test_one_connection_serves_users_admins_and_the_server_in_turn(served: Served) -> None:
    alice, bob = user_principal("alice", "shop"), user_principal("bob", "shop")
    for _ in range(2):
        assert served.ids(alice) == [1, 2]
        assert served.ids(bob) == [3]
        assert served.ids(None, "SELECT id FROM other.secrets WHERE id IN ($1, $2, $3)") == [1]
        with pytest.raises((AccessDeniedError, SqlError)):
            served.ids(alice, "SELECT id FROM other.secrets WHERE id IN ($1, $2, $3)")
        served.append("policy", created_event(parse_policy(_notes_policy())))
        served.append("policy", dropped_event("shop", "notes"))
    assert len(served.db.store._all_readers) == 1


def _notes_policy() -> dict[str, Any]:
    return {"name": "notes", "table": "shop.notes", "actions": ["select"], "using": "true"}
