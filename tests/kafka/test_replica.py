"""A replica built from `bkg.log` answers like the primary at the same LSN."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from api.cli import main
from api.database import Database
from api.folds import all_folds
from api.sql import SqlEngine
from bench.peers.kafka import TansuBroker
from projections.consumers.replica import KafkaReplica
from projections.consumers.replica_history import HISTORY_TABLE
from projections.folds import Event, FoldRegistry, fold_sql
from tests.kafka.kafkit import open_database, write_workload
from tests.kafka.test_mirror import start_mirror

QUERIES = (
    "SELECT id, name, blob FROM items ORDER BY id",
    "SELECT count(*), min(id), max(id) FROM items",
    "SELECT name, count(*) FROM items GROUP BY name ORDER BY name",
    "SELECT id, score FROM scores WHERE score > 0.5 ORDER BY id",
)


def more_writes(db: Database, start: int) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS scores (id INT PRIMARY KEY, score REAL)")
    for i in range(start, start + 10):
        db.execute("INSERT INTO scores (id, score) VALUES ($1, $2)", [i, i / 17])
    db.execute("DELETE FROM items WHERE id % 3 = 0")


def assert_same_answers(db: Database, replica: KafkaReplica) -> None:
    engine = SqlEngine()
    conn = replica.connect_readonly()
    try:
        for sql in QUERIES:
            primary = db.execute(sql)
            assert primary.lsn == replica.applied_lsn
            assert engine.execute(conn, sql).rows == primary.rows, sql
    finally:
        conn.close()


def test_replica_matches_primary_and_resumes(tmp_path: Path, broker: TansuBroker) -> None:
    db = open_database(tmp_path / "data")
    runner = start_mirror(db, broker.bootstrap)
    store = tmp_path / "replica" / "store.sqlite"
    try:
        write_workload(db, rows=20)
        more_writes(db, 0)
        replica = KafkaReplica(store, broker.bootstrap, all_folds())
        assert replica.follow_sync(until_lsn=db.log.head_lsn, idle_timeout_s=30) == db.log.head_lsn
        assert_same_answers(db, replica)
        replica.close()
        more_writes(db, 100)
        replica = KafkaReplica(store, broker.bootstrap, all_folds())
        replica.follow_sync(until_lsn=db.log.head_lsn, idle_timeout_s=30)
        assert_same_answers(db, replica)
        replica.close()
    finally:
        runner.stop()
        db.close()


def test_replica_command_answers_a_select(
    tmp_path: Path, broker: TansuBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    db = open_database(tmp_path / "data")
    runner = start_mirror(db, broker.bootstrap)
    try:
        write_workload(db, rows=8)
        sql = "SELECT id, name FROM items ORDER BY id"
        primary = db.execute(sql)
        assert runner.wait_until(primary.lsn, timeout=30)
    finally:
        runner.stop()
        db.close()
    args = ["--data-dir", str(tmp_path / "replica"), "replica", "--json"]
    args += ["--kafka-bootstrap", broker.bootstrap, "--until-lsn", str(primary.lsn)]
    assert main([*args, "--history-records", "3", "--query", sql]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["lsn"] == answer["applied_lsn"] == primary.lsn
    assert answer["rows"] == primary.rows and answer["columns"] == primary.columns
    assert main([*args, "--query", "DELETE FROM items"]) == 1
    with closing(sqlite3.connect(tmp_path / "replica" / "projections" / "replica.sqlite")) as kept:
        lsns = [row[0] for row in kept.execute(f"SELECT lsn FROM {HISTORY_TABLE} ORDER BY lsn")]
    assert lsns == list(range(primary.lsn - 2, primary.lsn + 1))


def test_replica_seeded_from_a_checkpoint(
    tmp_path: Path, broker: TansuBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    db = open_database(tmp_path / "data")
    runner = start_mirror(db, broker.bootstrap)
    try:
        write_workload(db, rows=10)
        checkpoint = db.checkpoint()
        more_writes(db, 0)
        assert runner.wait_until(db.log.head_lsn, timeout=30)
        folded: list[int] = []

        def counting_fold(conn: sqlite3.Connection, event: Event) -> None:
            folded.append(event.lsn)
            fold_sql(conn, event)

        registry = FoldRegistry()
        registry.register("ddl", counting_fold)
        registry.register("dml", counting_fold)
        seeded = KafkaReplica(tmp_path / "r1.sqlite", broker.bootstrap, registry, checkpoint)
        seeded.follow_sync(until_lsn=db.log.head_lsn, idle_timeout_s=30)
        assert_same_answers(db, seeded)
        sql_lsns = [r.lsn for r in db.log.read(checkpoint.lsn + 1) if r.kind in ("ddl", "dml")]
        assert folded == sql_lsns  # nothing up to the checkpoint was folded again
        seeded.close()
        tampered = tmp_path / "tampered.sqlite"
        tampered.write_bytes(checkpoint.path.read_bytes() + b"\x00")
        tampered.with_suffix(".manifest").write_bytes(
            checkpoint.path.with_suffix(".manifest").read_bytes()
        )
        args = [
            "--data-dir",
            str(tmp_path / "r2"),
            "replica",
            "--kafka-bootstrap",
            broker.bootstrap,
        ]
        args += ["--from-checkpoint", str(tampered), "--until-lsn", str(db.log.head_lsn)]
        assert main(args) == 1
        assert "SHA-256" in capsys.readouterr().err
    finally:
        runner.stop()
        db.close()
