"""`kill -9` at random instants: every acknowledged LSN survives, intact and gapless."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from eventlog import EventLog, LogReader, SigningKey
from eventlog.verify import verify_log

ROOT = Path(__file__).resolve().parents[2]


def start_child(log_dir: Path, key_file: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.eventlog.appender_child", str(log_dir), str(key_file), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def acknowledged(output: str) -> dict[int, str]:
    acks = {}
    for line in output.splitlines():
        parts = line.split(" ", 2)
        if parts[0] == "ack" and len(parts) == 3:  # a line cut by the kill is not a promise
            acks[int(parts[1])] = parts[2]
    return acks


def test_kill_minus_nine_keeps_every_acknowledged_append(tmp_path: Path) -> None:
    key = SigningKey.generate()
    key_file = tmp_path / "key"
    key.save(key_file)
    log_dir = tmp_path / "log"
    rng = random.Random(int(os.environ.get("BKG_CRASH_SEED", time.time_ns())))
    promised: dict[int, str] = {}
    trials = 12
    for _ in range(trials):
        child = start_child(log_dir, key_file, "16", "100000")
        assert child.stdout is not None
        first = child.stdout.readline()  # appending has begun, however loaded the machine
        time.sleep(rng.random() * 0.5)  # then kill at a random instant
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        promised.update(acknowledged(first + out))
        with EventLog.open(log_dir, key) as log:
            found = {r.lsn: r.payload for r in log.read()}
            assert list(found) == list(range(1, log.head_lsn + 1))  # gapless
        missing = [lsn for lsn in promised if found.get(lsn) != promised[lsn]]
        assert not missing, f"acknowledged but lost or altered: {missing[:5]}"
    assert len(promised) > trials * 100, "the children acknowledged too little to matter"
    report = verify_log(log_dir, deep=True)
    assert report.ok, report.reason
    assert report.head_lsn == LogReader(log_dir).head_lsn


def test_disk_full_fails_appends_loudly_and_corrupts_nothing(tmp_path: Path) -> None:
    key = SigningKey.generate()
    key_file = tmp_path / "key"
    key.save(key_file)
    log_dir = tmp_path / "log"
    child = start_child(log_dir, key_file, "4", "300", str(120 * 1024))
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    failures = [line for line in out.splitlines() if line.startswith("fail")]
    assert failures and "File too large" in failures[0]
    promised = acknowledged(out)
    with EventLog.open(log_dir, key) as log:
        found = {r.lsn: r.payload for r in log.read()}
        assert all(found[lsn] == payload for lsn, payload in promised.items())
        assert log.head_lsn == max(promised)
    assert verify_log(log_dir).ok
