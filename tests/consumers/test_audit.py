"""The audit trail: one line per event, sealed files, and `bkgdb audit export|verify`."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from api.cli import main
from api.database import Database
from api.datadir import DataDir
from api.initialise import initialise
from eventlog import LogReader
from projections.consumers.audit import AuditOptions, AuditTrail
from projections.consumers.audit_files import audit_files, parse_audit_name, seal_path
from projections.consumers.audit_verify import (
    AuditFilter,
    log_key_ring,
    trail_lines,
    trail_page,
    verify_audit_file,
)
from projections.consumers.cursor import CursorFile
from projections.consumers.errors import AuditError, AuditVerifyError
from projections.consumers.runner import ConsumerRunner, catch_up


def make_db(root: Path) -> Database:
    initialise(DataDir(root), 1 << 20)
    db = Database.open(root)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    db.execute("CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT)")
    for i in range(12):
        db.execute("INSERT INTO notes (id, body) VALUES ($1, 'top secret text')", [i])
    db.execute_batch(
        [
            ("INSERT INTO tags (id, name) VALUES (1, 'x')", None),
            ("DELETE FROM notes WHERE id < 4", None),
        ]
    )
    db.execute("UPDATE notes SET body = 'also secret' WHERE id > 8")
    return db


def run_trail(db: Database, options: AuditOptions | None = None) -> None:
    trail = AuditTrail(db.data.audit, lambda: db.log.signing_key, options)
    runner = ConsumerRunner(trail, db.log, trail, max_batch=5)
    runner.start()
    try:
        assert runner.wait_until(db.log.head_lsn, timeout=20)
    finally:
        runner.stop()
        trail.close()


def test_every_event_appears_once_with_its_facts(tmp_path: Path) -> None:
    db = make_db(tmp_path / "data")
    try:
        run_trail(db)
        records = list(db.log.read(1))
    finally:
        db.close()
    lines = list(trail_lines(tmp_path / "data" / "audit"))
    assert [line["lsn"] for line in lines] == [r.lsn for r in records]
    sql = [r for r in records if r.kind in ("ddl", "dml")]
    counts = Counter(line["lsn"] for line in lines if line["kind"] in ("ddl", "dml"))
    assert sorted(counts) == [r.lsn for r in sql] and set(counts.values()) == {1}
    by_lsn = {line["lsn"]: line for line in lines}
    for record in sql:
        line = by_lsn[record.lsn]
        assert line["actor"] == "admin" and line["principal"] == "admin"
        assert line["rows"] == sum(1 for c in record.payload["changes"] if c["op"] != "ddl")
        assert line["chain"] == record.chain_hash.hex()
    batch = next(line for line in lines if line["tables"] == ["public.notes", "public.tags"])
    assert batch["rows"] == 5 and len(batch["statements"]) == 2
    assert "secret" not in json.dumps(lines)
    assert any("VALUES ($1, ?)" in s for line in lines for s in line["statements"])


def test_rotation_seals_files_and_restart_resumes(tmp_path: Path) -> None:
    db = make_db(tmp_path / "data")
    try:
        run_trail(db, AuditOptions(max_bytes=1500))
        db.execute("INSERT INTO notes (id, body) VALUES (100, 'later')")
        audit = db.data.audit
        files = audit_files(audit)
        assert len(files) >= 3
        assert all(seal_path(p).exists() for p in files[:-1])
        with open(files[-1], "ab") as handle:
            handle.write(b'{"lsn": 99')  # a torn line, as a crash mid-write leaves it
        run_trail(db, AuditOptions(max_bytes=1500))
        lsns = [line["lsn"] for line in trail_lines(audit)]
        assert lsns == list(range(1, db.log.head_lsn + 1))
        ring = log_key_ring(db.log)
        for path in audit_files(audit):
            report = verify_audit_file(path, db.log, ring)
            assert report.sealed == seal_path(path).exists()
    finally:
        db.close()


def test_one_writer_per_trail(tmp_path: Path) -> None:
    db = make_db(tmp_path / "data")
    try:
        trail = AuditTrail(db.data.audit, lambda: db.log.signing_key)
        with pytest.raises(AuditError):
            AuditTrail(db.data.audit, lambda: db.log.signing_key)
        asyncio.run(catch_up(trail, db.log, trail))
        trail.close()
        assert [line["lsn"] for line in trail_lines(db.data.audit)][-1] == db.log.head_lsn
    finally:
        db.close()


def cli(data: Path, *args: str) -> int:
    return main(["--data-dir", str(data), *args])


def test_export_and_verify_catch_tampering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    make_db(data).close()
    out = tmp_path / "export.jsonl"
    assert cli(data, "audit", "export", "--out", str(out), "--table", "public.notes", "--json") == 0
    exported = [json.loads(raw) for raw in out.read_text().splitlines()]
    assert exported and all(isinstance(line["lsn"], int) for line in exported)
    assert all("public.notes" in line["tables"] for line in exported)
    assert cli(data, "audit", "verify", str(out)) == 0
    original = out.read_bytes()
    lines = original.splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:2] + lines[3:]))
    assert cli(data, "audit", "verify", str(out)) == 1
    changed = json.loads(lines[2])
    changed["rows"] += 1
    out.write_bytes(b"".join([*lines[:2], json.dumps(changed).encode() + b"\n", *lines[3:]]))
    assert cli(data, "audit", "verify", str(out)) == 1
    assert "does not match its seal" in capsys.readouterr().err


def test_unsealed_trail_file_is_checked_line_by_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_db(data).close()
    assert cli(data, "audit", "export", "--out", str(tmp_path / "all.jsonl")) == 0
    [active] = audit_files(data / "audit")
    reader = LogReader(data / "log")
    ring = log_key_ring(reader)
    assert verify_audit_file(active, reader, ring).lines == reader.head_lsn
    lines = active.read_bytes().splitlines(keepends=True)
    active.write_bytes(b"".join(lines[:5] + lines[6:]))
    with pytest.raises(AuditVerifyError, match="LSN 7 where LSN 6 belongs"):
        verify_audit_file(active, reader, ring)
    edited = json.loads(lines[5])
    edited["actor"] = "someone else"
    active.write_bytes(b"".join([*lines[:5], json.dumps(edited).encode() + b"\n", *lines[6:]]))
    with pytest.raises(AuditVerifyError, match="does not match the log"):
        verify_audit_file(active, reader, ring)


def test_export_filters(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_db(data).close()
    out = tmp_path / "range.jsonl"
    assert cli(data, "audit", "export", "--out", str(out), "--from-lsn", "5", "--to-lsn", "8") == 0
    assert [json.loads(r)["lsn"] for r in out.read_text().splitlines()] == [5, 6, 7, 8]
    assert cli(data, "audit", "export", "--out", str(out), "--actor", "nobody") == 0
    assert out.read_text() == ""
    assert cli(data, "audit", "verify", str(out)) == 0


def test_deleted_trail_is_rebuilt_byte_for_byte_from_the_log(tmp_path: Path) -> None:
    db = make_db(tmp_path / "data")
    try:
        options = AuditOptions(max_bytes=1200)
        run_trail(db, options)
        audit = db.data.audit
        before = {p.name: p.read_bytes() for p in audit.iterdir() if p.name != "LOCK"}
        assert sum(name.endswith(".sig") for name in before) >= 2
        for path in audit.iterdir():
            path.unlink()
        run_trail(db, options)
        after = {p.name: p.read_bytes() for p in audit.iterdir() if p.name != "LOCK"}
        assert after == before
    finally:
        db.close()


def test_a_restarted_trail_continues_its_open_file(tmp_path: Path) -> None:
    db = make_db(tmp_path / "data")
    try:
        trail = AuditTrail(db.data.audit, lambda: db.log.signing_key)
        items = list(db.log.read_sealed(1, db.log.head_lsn))

        async def restart_between_batches() -> None:
            trail.load()
            await trail.start()
            await (await trail.dispatch(items[:5]))
            await trail.stop()
            await trail.start()
            await (await trail.dispatch(items[5:]))
            await trail.stop()

        asyncio.run(restart_between_batches())
        trail.close()
        [only] = audit_files(db.data.audit)
        assert [line["lsn"] for line in trail_lines(db.data.audit)] == [i.record.lsn for i in items]
        assert only.name.endswith("00001.jsonl")
    finally:
        db.close()


def test_lines_a_machine_crash_lost_are_written_again(tmp_path: Path) -> None:
    """Lines wait up to `sync_interval_s` for an fsync: a crash of the machine may take the
    newest whole lines (not only a torn one) with it. The restarted trail resumes after the
    last line that survived and writes the same lines again."""
    db = make_db(tmp_path / "data")
    try:
        run_trail(db)
        [only] = audit_files(db.data.audit)
        complete = only.read_bytes()
        survived = complete[: complete.index(b"\n", len(complete) // 2) + 1]
        only.write_bytes(survived)
        run_trail(db)
        assert only.read_bytes() == complete
        assert [line["lsn"] for line in trail_lines(db.data.audit)] == list(
            range(1, db.log.head_lsn + 1)
        )
    finally:
        db.close()


def test_verify_the_whole_trail_catches_a_removed_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = make_db(data)
    try:
        run_trail(db, AuditOptions(max_bytes=1200))
    finally:
        db.close()
    audit = data / "audit"
    assert cli(data, "audit", "verify", str(audit)) == 0
    middle = audit_files(audit)[1]
    middle.unlink()
    seal_path(middle).unlink()
    assert cli(data, "audit", "verify", str(audit)) == 1


def test_pages_of_the_trail(tmp_path: Path) -> None:
    db = make_db(tmp_path / "data")
    try:
        run_trail(db, AuditOptions(max_bytes=1200))
        head = db.log.head_lsn
    finally:
        db.close()
    audit = tmp_path / "data" / "audit"
    seen: list[int] = []
    after = 0
    while page := trail_page(audit, AuditFilter(), after_lsn=after, limit=4):
        assert len(page) <= 4
        seen += [line["lsn"] for line in page]
        after = page[-1]["lsn"]
    assert seen == list(range(1, head + 1))
    notes = trail_page(audit, AuditFilter(table="public.notes"), after_lsn=5, limit=100)
    assert notes and all(line["lsn"] > 5 and "public.notes" in line["tables"] for line in notes)


def test_consumers_command_shows_positions_and_lag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    make_db(data).close()
    CursorFile(data / "consumers", "kafka-mirror").save(3)
    assert cli(data, "audit", "export", "--out", str(tmp_path / "all.jsonl")) == 0
    capsys.readouterr()
    assert cli(data, "consumers", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    head = status["head_lsn"]
    lags = {row["consumer"]: row["lag"] for row in status["consumers"]}
    assert lags == {"audit": 0, "kafka-mirror": head - 3}


def test_files_rotate_by_age_of_their_first_line(tmp_path: Path) -> None:
    db = make_db(tmp_path / "data")
    try:
        run_trail(db, AuditOptions(max_age_s=1e-6))
        files = audit_files(db.data.audit)
        firsts, first_ts = [], None
        for record in db.log.read(1):
            if first_ts is None or record.ts_us - first_ts >= 1:
                firsts.append(record.lsn)
                first_ts = record.ts_us
        assert [parse_audit_name(p.name) for p in files] == firsts
        assert len(files) > 10 and all(seal_path(p).exists() for p in files[:-1])
    finally:
        db.close()
