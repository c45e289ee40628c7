"""kill -9 during concurrent writes: every acknowledged write survives, and the repaired
projection equals a replay of the log."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from api.database import Database
from api.datadir import DataDir
from api.folds import all_folds
from api.initialise import initialise
from eventlog import KeyRing, LogReader
from projections.checkpoints import CheckpointStore
from projections.export import replay_to_file
from tests.projections.projkit import dump

CHILD = Path(__file__).with_name("crash_child.py")
REPO = Path(__file__).resolve().parents[2]


def _run_and_kill(root: Path, acks_before_kill: int) -> list[tuple[int, int]]:
    """Run the child until it has acknowledged enough writes and taken a checkpoint, then
    SIGKILL it and return its acks."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(root), "8"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    acks: list[tuple[int, int]] = []
    for line in child.stdout:
        lsn, row_id = line.split()
        acks.append((int(lsn), int(row_id)))
        checkpointed = any((root / "checkpoints").glob("*.manifest"))
        if len(acks) >= acks_before_kill and checkpointed:
            os.kill(child.pid, signal.SIGKILL)
            break
    rest, errors = child.communicate(timeout=30)
    acks += [(int(a), int(b)) for a, b in (line.split() for line in rest.splitlines())]
    assert child.returncode == -signal.SIGKILL, errors
    return acks


@pytest.mark.parametrize("acks_before_kill", [150, 400])
def test_acknowledged_writes_survive_kill_9(tmp_path: Path, acks_before_kill: int) -> None:
    root = tmp_path / "data"
    initialise(DataDir(root), 1 << 16)
    with Database.open(root) as db:
        db.execute("CREATE TABLE acked (id bigint primary key, worker integer, note text)")
    acks = _run_and_kill(root, acks_before_kill)
    assert len(acks) >= acks_before_kill

    with Database.open(root) as db:
        report = db.open_report
        assert report.rebuilt and report.reason == "unclean shutdown"
        assert report.checkpoint_lsn is not None  # the child checkpoints every 40 records
        head = db.log.head_lsn
        assert db.applied_lsn == head >= max(lsn for lsn, _ in acks)
        present = {row[0] for row in db.execute("SELECT id FROM acked").rows}
        assert {row_id for _, row_id in acks} <= present
        with db.store.snapshot() as snap:
            live = dump(snap.conn)

    data = DataDir(root)
    key = data.signing_key()
    out = tmp_path / "replayed.sqlite"
    replay_to_file(
        LogReader(data.log),
        CheckpointStore(data.checkpoints),
        KeyRing({key.key_id: key.public_bytes}),
        all_folds(),
        head,
        out,
        from_scratch=True,
    )
    conn = sqlite3.connect(out)
    try:
        assert dump(conn) == live
    finally:
        conn.close()
