"""A data directory holding every kind of record rebuilds, in a fresh process, to the state
the live server had: the folds a rebuild or replay knows do not depend on which modules
happened to be imported (`api.folds.all_folds` names them all)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from api.auth.apikeys import new_api_key
from api.auth.principal import ADMIN, Principal
from api.auth.registry import KeyRegistry, revoke_event
from api.auth.store import KEYS_TABLE, load_key_registry
from api.database import Database
from api.datadir import DataDir
from api.folds import all_folds
from api.gotrue import records
from api.initialise import initialise
from api.migrations.files import Migration, statements_of
from api.migrations.ledger import LEDGER_TABLE
from api.rls.policy import PolicySet, created_event, dropped_event, parse_policy
from api.rls.store import POLICIES_TABLE
from api.storage.meta import BUCKETS, OBJECTS
from api.storage.service import ObjectService
from eventlog import Entry
from eventlog.keys import KEY_EVENT_KIND
from projections.blobs.local import LocalBlobStore
from projections.store import STORE_FILE
from tests.projections.projkit import dump

SHOP = Principal(kind="namespace", id="key:shop", namespace="shop")
POLICY = {
    "name": "own rows",
    "table": "shop.items",
    "actions": ["select"],
    "roles": ["user"],
    "using": "owner = auth.uid()",
}


def write_sql(db: Database) -> None:
    """Tables, rows, an index, a changed and a dropped table: "ddl" and "dml" records."""
    db.execute("CREATE SCHEMA shop")
    db.execute("CREATE TABLE shop.items (id integer primary key, owner text, n integer)")
    db.execute("CREATE TABLE shop.gone (id integer primary key)")
    db.execute("INSERT INTO shop.items (id, owner, n) VALUES (1, 'a', 1), (2, 'b', 2)")
    db.execute("UPDATE shop.items SET n = n + 10 WHERE id = 1")
    db.execute("DELETE FROM shop.items WHERE id = 2")
    db.execute("ALTER TABLE shop.items ADD COLUMN note text")
    db.execute("CREATE INDEX items_owner ON shop.items (owner)")
    db.execute("DROP TABLE shop.gone")


def write_auth_and_policies(db: Database) -> None:
    """Keys created, rotated and revoked ("auth"); a policy created, one dropped ("policy")."""
    now = time.time()
    for name in ("shop", "spare"):
        _, record = new_api_key("namespace", "shop", name, None, now)
        db.append_event(Entry("auth", record.to_event_payload(), actor="admin"))
    with db.store.snapshot() as snap:
        registry: KeyRegistry = load_key_registry(snap.conn)
    spare = next(s.record.id for s in registry.states() if s.record.name == "spare")
    shop = next(s.record.id for s in registry.states() if s.record.name == "shop")
    _, rotated = registry.rotate_event(shop, 60.0, None, now)
    db.append_event(Entry("auth", rotated, actor="admin"))
    db.append_event(Entry("auth", revoke_event(spare, now), actor="admin"))
    db.append_event(Entry("policy", created_event(parse_policy(POLICY)), actor="admin"))
    dropped = parse_policy({**POLICY, "name": "dropped"})
    db.append_event(Entry("policy", created_event(dropped), actor="admin"))
    db.append_event(Entry("policy", dropped_event("shop", "dropped"), actor="admin"))


def write_storage(db: Database, root: Path) -> None:
    """Buckets and objects put, replaced, copied and deleted ("storage")."""
    service = ObjectService(db, LocalBlobStore(root / "objects"), lambda: PolicySet([]))
    try:
        service.create_bucket(ADMIN, "assets", public=True)
        service.create_bucket(SHOP, "files", public=False)
        service.put_object(SHOP, "files", "a.txt", [b"first"], 5)
        service.put_object(SHOP, "files", "a.txt", [b"second"], 6)
        service.put_object(SHOP, "files", "b.txt", [b"bee"], 3)
        service.copy_object(SHOP, "files", "b.txt", "files", "c.txt")
        service.delete_object(SHOP, "files", "b.txt")
    finally:
        service.close()


def write_accounts(db: Database) -> None:
    """Two users signed up with sessions, a refresh token rotated, a recovery requested,
    one user deleted ("accounts")."""
    now = time.time()
    for n, user_id in enumerate(("u-kept", "u-gone")):
        user = {"id": user_id, "namespace": "shop", "email": f"{user_id}@x.io", "created_at": now}
        identity = {"id": user_id, "user_id": user_id, "namespace": "shop", "provider": "email"}
        session = {"id": f"s{n}", "user_id": user_id, "namespace": "shop", "created_at": now}
        token = {"hash": f"h{n}", "session_id": f"s{n}", "user_id": user_id, "namespace": "shop"}
        ops = [records.put(t, r) for t, r in (("users", user), ("identities", identity))]
        ops += [records.put("sessions", session), records.put("refresh_tokens", token)]
        db.append_event(Entry(records.KIND, records.record("user.signed_up", *ops), actor="k"))
    rotated = records.record(
        "token.refreshed",
        records.put("refresh_tokens", {"hash": "h0", "session_id": "s0", "revoked_at": now}),
        records.put("refresh_tokens", {"hash": "h2", "session_id": "s0", "user_id": "u-kept"}),
        records.put("recoveries", {"hash": "r0", "user_id": "u-kept", "expires_at": now + 60}),
    )
    db.append_event(Entry(records.KIND, rotated, actor="k"))
    gone = records.record(
        "user.deleted",
        records.delete("users", id="u-gone"),
        records.delete("identities", user_id="u-gone"),
        records.delete("sessions", id="s1"),
        records.delete("refresh_tokens", session_id="s1"),
    )
    db.append_event(Entry(records.KIND, gone, actor="k"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A data directory with every kind of record, and the live state when it closed."""
    root = tmp_path / "data"
    initialise(DataDir(root), 1 << 14)
    with Database.open(root) as db:
        write_sql(db)
        db.checkpoint()  # a rebuild that starts from it folds the other kinds from the tail
        write_auth_and_policies(db)
        write_storage(db, root)
        write_migration(db)
        write_accounts(db)
        with db.store.snapshot() as snap:
            live = dump(snap.conn)
    yield root, live


def write_migration(db: Database) -> None:
    """A migration's record: row images plus its ledger row (`api.migrations.ledger`)."""
    sql = "CREATE TABLE shop.tags (id integer primary key);\nINSERT INTO shop.tags VALUES (1);\n"
    migration = Migration.of(1, "add_tags", sql)
    assert db.apply_migration(migration, statements_of(migration)).applied


def run_cli(root: Path, *args: str) -> dict[str, Any]:
    """One `bkgdb` command in a process of its own; its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "--data-dir", str(root), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def state_of(path: Path) -> dict[str, Any]:
    with closing(sqlite3.connect(path)) as conn:
        return dump(conn)


def test_the_data_directory_holds_every_kind(data_dir: tuple[Path, dict[str, Any]]) -> None:
    """The fixture is what the other tests claim: every folded kind, with state to show."""
    root, live = data_dir
    with Database.open(root) as db:
        kinds = {record.kind for record in db.log.read(1, db.log.head_lsn)}
    assert kinds == {*all_folds().kinds(), KEY_EVENT_KIND}
    accounts = [name for name, _ in records.TABLES.values()]
    for table in (
        KEYS_TABLE,
        POLICIES_TABLE,
        BUCKETS,
        OBJECTS,
        LEDGER_TABLE,
        "shop.items",
        *accounts,
    ):
        assert live["rows"][table], f"{table} is empty"


@pytest.mark.parametrize("start", [["--from-scratch"], []], ids=["from-scratch", "checkpoint"])
def test_rebuild_in_a_fresh_process_gives_the_live_state(
    data_dir: tuple[Path, dict[str, Any]], start: list[str]
) -> None:
    root, live = data_dir
    (root / "projections" / STORE_FILE).unlink()
    report = run_cli(root, "rebuild", *start)
    assert bool(report["checkpoint_lsn"]) != bool(start)  # from LSN 1, or the checkpoint
    assert state_of(root / "projections" / STORE_FILE) == live


def test_replay_in_a_fresh_process_gives_the_live_state(
    data_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    root, live = data_dir
    with Database.open(root) as db:
        head = db.log.head_lsn
    out = tmp_path / "replayed.sqlite"
    run_cli(root, "replay", "--to-lsn", str(head), "--out", str(out), "--from-scratch")
    assert state_of(out) == live
