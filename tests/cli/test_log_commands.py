"""The log commands as users run them: real processes, exit codes, JSON output."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from api.cli import main
from api.datadir import DataDir
from api.logs import log_options
from eventlog import Entry, LogOptions
from eventlog.segments import list_segments
from tests.cli.runner import bkgdb


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    assert main(["--data-dir", str(root), "init", "--json", "--segment-bytes", "4096"]) == 0
    with DataDir(root).open_log() as log:
        for i in range(60):
            log.append(
                Entry("dml", {"i": i, "text": "row " * 10}, actor="admin", namespace="public")
            )
    return root


def test_init_prints_the_admin_key_once_and_locks_down_keys(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    first = bkgdb(root, "init", "--json")
    assert first.returncode == 0, first.stderr
    created = json.loads(first.stdout)
    assert created["admin_key"].startswith("bkg_admin_") and created["head_lsn"] == 2
    assert stat.S_IMODE(os.stat(root / "keys").st_mode) == 0o700
    for secret in (root / "keys").iterdir():
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    again = bkgdb(root, "init", "--if-missing", "--json")
    assert again.returncode == 0 and "admin_key" not in json.loads(again.stdout)
    refused = bkgdb(root, "init")
    assert refused.returncode == 1 and "already initialised" in refused.stderr
    assert created["admin_key"] not in (root / "log").joinpath(
        list_segments(root / "log")[0][1].name
    ).read_text(errors="replace")


def test_tail_prints_records_as_json_lines(data_dir: Path) -> None:
    done = bkgdb(data_dir, "tail", "--from-lsn", "3", "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["lsn"] for line in lines] == list(range(3, 63))
    assert lines[0]["payload"] == {"i": 0, "text": "row " * 10}
    assert lines[0]["actor"] == "admin" and lines[0]["ts"].endswith("Z")
    human = bkgdb(data_dir, "tail")
    assert len(human.stdout.splitlines()) == 10 and " 62 " in human.stdout.splitlines()[-1] + " "


def test_verify_passes_then_names_the_first_bad_lsn(data_dir: Path) -> None:
    ok = bkgdb(data_dir, "verify", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["head_lsn"] == 62
    segment = list_segments(data_dir / "log")[1][1]
    raw = bytearray(segment.read_bytes())
    raw[200] ^= 0x40
    segment.write_bytes(bytes(raw))
    bad = bkgdb(data_dir, "verify")
    assert bad.returncode == 1
    assert "first bad LSN" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_log_stat_and_keys(data_dir: Path) -> None:
    stat_out = json.loads(bkgdb(data_dir, "log", "stat", "--json").stdout)
    assert stat_out["head_lsn"] == 62 and stat_out["segment_count"] > 2
    assert stat_out["segment_bytes"] == 4096
    keys = json.loads(bkgdb(data_dir, "log", "keys", "--json").stdout)
    assert list(keys) == [DataDir(data_dir).signing_key().key_id]


def test_commands_on_a_missing_directory_fail_in_one_line(tmp_path: Path) -> None:
    for args in (["verify"], ["tail"], ["log", "stat"]):
        done = bkgdb(tmp_path / "nothing", *args)
        assert done.returncode == 1, args
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_read_commands_work_while_a_writer_holds_the_directory(data_dir: Path) -> None:
    with DataDir(data_dir).open_log() as log:
        log.append(Entry("dml", "while held"))
        tail = bkgdb(data_dir, "tail", "--from-lsn", "63", "--json")
        assert json.loads(tail.stdout)["payload"] == "while held"
        assert bkgdb(data_dir, "verify").returncode == 0


def test_segment_size_comes_from_init_or_the_environment(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert log_options(DataDir(data_dir)) == LogOptions(segment_bytes=4096)
    monkeypatch.setenv("BKG_SEGMENT_BYTES", "8192")
    assert log_options(DataDir(data_dir)).segment_bytes == 8192
    assert log_options(DataDir(data_dir), 16384).segment_bytes == 16384


def test_rotate_key_switches_signing_and_verifies(data_dir: Path) -> None:
    before = DataDir(data_dir).signing_key().key_id
    done = bkgdb(data_dir, "log", "rotate-key", "--json")
    assert done.returncode == 0, done.stderr
    rotated = json.loads(done.stdout)
    assert rotated["previous_key_id"] == before
    with DataDir(data_dir).open_log() as log:
        assert log.signing_key.key_id == rotated["key_id"]
        log.append(Entry("dml", "signed by the new key"))
    assert (data_dir / "keys" / f"retired-{before}.key").exists()
    assert bkgdb(data_dir, "verify", "--deep").returncode == 0
    keys = json.loads(bkgdb(data_dir, "log", "keys", "--json").stdout)
    assert set(keys) == {before, rotated["key_id"]}


def test_rotation_interrupted_by_a_crash_is_settled_on_open(data_dir: Path) -> None:
    directory = DataDir(data_dir)
    from eventlog import SigningKey

    # Crash after `.next` was saved but before the log announced it: the old key stays.
    orphan = SigningKey.generate()
    orphan.save(directory.next_signing_key_path)
    current = directory.signing_key()
    assert current.key_id != orphan.key_id and not directory.next_signing_key_path.exists()
    # Crash after the announcement but before the key file moved: the new key wins.
    with directory.open_log() as log:
        new = SigningKey.generate()
        new.save(directory.next_signing_key_path)
        log.rotate_key(new)
    assert directory.signing_key().key_id == new.key_id
    with directory.open_log() as log:
        log.append(Entry("dml", "after the interrupted rotation"))
    assert bkgdb(data_dir, "verify", "--deep").returncode == 0


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("BKG_STORAGE_CACHE_BYTES=lots", "BKG_STORAGE_CACHE_BYTES must be an integer, not 'lots'"),
        ("BKG_STORAGE_CACHE_BYTES=-1", "BKG_STORAGE_CACHE_BYTES must be 0 or more"),
        ("BKG_ARCHIVE_INTERVAL=soon", "BKG_ARCHIVE_INTERVAL must be a number, not 'soon'"),
        ("BKG_SEGMENT_BYTES=big", "BKG_SEGMENT_BYTES must be a number of bytes, not 'big'"),
        ("BKG_SEGMENT_BYTES=100", "segment size 100: segment_bytes must be at least 4096"),
        ("BKG_RETAIN_LOCAL_SEGMENTS=some", "BKG_RETAIN_LOCAL_SEGMENTS must be a count, not 'some'"),
    ],
)
def test_a_bad_setting_is_one_clear_line_and_changes_nothing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    setting: str, message: str,
) -> None:  # fmt: skip
    with DataDir(data_dir).open_log() as log:
        head = log.head_lsn
    name, _, value = setting.partition("=")
    monkeypatch.setenv(name, value)
    assert main(["--data-dir", str(data_dir), "serve", "--port", "0"]) == 1
    assert capsys.readouterr().err == f"bkgdb serve: {message}\n"
    monkeypatch.delenv(name)
    with DataDir(data_dir).open_log() as log:  # not left locked, not written to
        assert log.head_lsn == head
