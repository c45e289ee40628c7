"""Checkpoints: signed, verified against the log, skipped when invalid, retired by count."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from eventlog import KeyRing, SigningKey
from projections.checkpoint_policy import Checkpointer, CheckpointPolicy
from projections.checkpoints import CheckpointManifest, CheckpointStore, validate
from projections.errors import InvalidCheckpointError, LsnOutOfRangeError
from projections.export import replay_to_file
from tests.projections.projkit import Env, create_table, insert, rows, sql_entry


def _filled(env: Env, count: int) -> None:
    env.log.append(sql_entry(create_table()))
    for i in range(1, count + 1):
        env.log.append(sql_entry(insert(i, f"r{i}")))


def _checkpoint(env: Env) -> int:
    store = env.open_store()
    try:
        return int(env.checkpoints.take(store.path, env.log, env.key).lsn)
    finally:
        store.close()


def test_checkpoint_is_a_signed_copy_at_its_lsn(env: Env) -> None:
    _filled(env, 5)
    lsn = _checkpoint(env)
    checkpoint = env.checkpoints.scan()[0]
    assert lsn == checkpoint.lsn == 7
    validate(checkpoint, env.log, env.ring)
    manifest = json.loads(checkpoint.path.with_suffix(".manifest").read_bytes())
    assert manifest["lsn"] == 7 and manifest["key_id"] == env.key.key_id
    record = next(iter(env.log.read(7, 7)))
    assert manifest["chain_hash"] == record.chain_hash.hex()
    copy = sqlite3.connect(checkpoint.path)
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert rows(copy) == [(i, f"r{i}") for i in range(1, 6)]
    copy.close()


@pytest.mark.parametrize("damage", ["file", "signature", "foreign_key", "chain"])
def test_invalid_checkpoints_are_skipped_with_a_warning(
    env: Env, damage: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    _filled(env, 3)
    good = _checkpoint(env)
    env.log.append(sql_entry(insert(10, "late")))
    bad = _checkpoint(env)
    checkpoint = env.checkpoints.scan()[0]
    manifest_path = checkpoint.path.with_suffix(".manifest")
    manifest = CheckpointManifest.from_json(manifest_path.read_bytes())
    if damage == "file":
        with open(checkpoint.path, "r+b") as fh:
            fh.seek(200)
            fh.write(b"\xff")
    elif damage == "signature":
        manifest_path.write_bytes(
            CheckpointManifest(**{**manifest.__dict__, "size": manifest.size + 1}).to_json()
        )
    elif damage == "foreign_key":
        manifest_path.write_bytes(manifest.signed_by(SigningKey.generate()).to_json())
    else:
        forged = CheckpointManifest(**{**manifest.__dict__, "chain_hash": "00" * 32})
        manifest_path.write_bytes(forged.signed_by(env.key).to_json())
    with caplog.at_level(logging.WARNING):
        chosen = env.checkpoints.newest_valid(env.log, env.ring)
    assert chosen is not None and chosen.lsn == good
    assert f"skipping checkpoint at LSN {bad}" in caplog.text
    store = env.open_store(rebuild=True)
    try:
        with store.snapshot() as snap:
            assert snap.lsn == bad and rows(snap.conn)[-1] == (10, "late")
    finally:
        store.close()


def test_rebuild_uses_the_newest_valid_checkpoint_plus_tail(env: Env) -> None:
    from projections.repair import open_store

    _filled(env, 4)
    at = _checkpoint(env)
    env.log.append(sql_entry(insert(50, "tail")))
    store, report = open_store(
        env.root / "projections", env.log, env.checkpoints, env.ring, env.registry, rebuild=True
    )
    try:
        assert (report.checkpoint_lsn, report.from_lsn, report.records) == (at, at + 1, 1)
        with store.snapshot() as snap:
            assert rows(snap.conn)[-1] == (50, "tail")
    finally:
        store.close()


def test_retention_keeps_the_newest(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    taken = []
    for i in range(4):
        env.log.append(sql_entry(insert(i + 1, "x")))
        taken.append(_checkpoint(env))
    (env.checkpoints.directory / ".checkpoint-1.tmp").write_bytes(b"partial")
    (env.checkpoints.directory / f"{99:020d}.sqlite").write_bytes(b"no manifest yet")
    assert env.checkpoints.retire(keep=2) == taken[:2][::-1]
    assert [c.lsn for c in env.checkpoints.scan()] == taken[2:][::-1]
    assert sorted(p.name for p in env.checkpoints.directory.iterdir()) == sorted(
        f"{lsn:020d}.{suffix}" for lsn in taken[2:] for suffix in ("sqlite", "manifest")
    )


def test_unfinished_checkpoint_without_manifest_is_ignored(env: Env) -> None:
    _filled(env, 2)
    lsn = _checkpoint(env)
    (env.checkpoints.directory / f"{lsn:020d}.manifest").unlink()
    assert env.checkpoints.scan() == []
    assert env.checkpoints.newest_valid(env.log, KeyRing()) is None


def test_policy_takes_checkpoints_in_the_background(env: Env) -> None:
    _filled(env, 3)
    store = env.open_store()
    taken = []
    done = threading.Event()

    def take() -> object:
        checkpoint = env.checkpoints.take(store.path, env.log, env.key)
        taken.append(checkpoint.lsn)
        done.set()
        return checkpoint

    policy = CheckpointPolicy(every_records=10, every_bytes=None, every_seconds=None)
    checkpointer = Checkpointer(policy, take)  # type: ignore[arg-type]
    try:
        checkpointer.on_commit(5, 9, 100)
        assert not policy.due(9, 100, 0.0) and policy.due(10, 0, 0.0)
        checkpointer.on_commit(5, 1, 100)
        assert done.wait(10)
    finally:
        checkpointer.close()
        store.close()
    assert taken == [5]
    assert CheckpointPolicy(every_seconds=1.0).due(1, 0, 2.0)
    assert not CheckpointPolicy(every_seconds=1.0).due(0, 0, 2.0)


def test_replay_to_file_writes_a_past_state(env: Env, tmp_path: Path) -> None:
    _filled(env, 6)
    _checkpoint(env)
    out = tmp_path / "past.sqlite"
    for lsn, from_scratch in ((4, False), (8, False), (5, True)):
        report = replay_to_file(
            env.log, env.checkpoints, env.ring, env.registry, lsn, out, from_scratch=from_scratch
        )
        conn = sqlite3.connect(out)
        assert rows(conn) == [(i, f"r{i}") for i in range(1, lsn - 1)]
        conn.close()
        assert report.checkpoint_lsn == (8 if lsn == 8 else None)
    with pytest.raises(LsnOutOfRangeError):
        replay_to_file(env.log, env.checkpoints, env.ring, env.registry, 9, out)


def test_validate_rejects_unknown_format(env: Env) -> None:
    _filled(env, 1)
    _checkpoint(env)
    checkpoint = env.checkpoints.scan()[0]
    future = CheckpointManifest(**{**checkpoint.manifest.__dict__, "format": 2})
    with pytest.raises(InvalidCheckpointError, match="format"):
        validate(type(checkpoint)(future, checkpoint.path), env.log, env.ring)
    assert CheckpointStore(env.root / "nowhere").scan() == []
