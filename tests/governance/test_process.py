"""What only a real `bkgdb serve` process shows: its memory stays bounded by the result
limit whatever a statement would return, and SIGTERM stops it within 10 s while runaway
statements are running (they answer QUERY_CANCELED) with its log intact."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.runner import bkgdb
from tests.governance.conftest import (
    RUNAWAY,
    RUNAWAY_INSERT,
    Background,
    Tenants,
    tenants,
    wait_for,
)

MIB = 1024 * 1024


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def test_a_huge_result_is_refused_without_being_held(tmp_path: Path) -> None:
    env = {"BKG_MAX_RESULT_BYTES": str(8 * MIB), "BKG_MAX_RESULT_ROWS": "0"}
    with tenants(tmp_path / "data", env) as served:
        pid = served.server.process.pid
        peak_before = _memory_kib(pid, "VmHWM")
        sql = (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000)"
            " SELECT x, printf('%.*c', 1000, 'y') FROM c"
        )
        response = served.query(sql, served.keys["a"])  # ~500 MB if it were all held
        assert response.status_code == 413, response.text[:200]
        detail = response.json()["error"]["detail"]
        assert detail == {"limit": "max_result_bytes", "value": 8 * MIB}
        grown_mib = (_memory_kib(pid, "VmHWM") - peak_before) / 1024
        assert grown_mib < 150, f"peak memory grew by {grown_mib:.0f} MiB"


def test_sigterm_cancels_runaways_and_stops_within_10_s(tmp_path: Path) -> None:
    with tenants(tmp_path / "data", {"BKG_STATEMENT_TIMEOUT": "120"}) as served:
        head = served.head_lsn()
        read = Background(lambda: served.query(RUNAWAY, served.keys["a"]))
        write = Background(lambda: served.query(RUNAWAY_INSERT, served.keys["b"]))
        wait_for(lambda: served.metric("bkg_statements_running") == 2)
        process = served.server.process
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
        assert time.monotonic() - began < 10, stderr
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
        for request in (read, write):
            response = request.wait(10)
            assert response.status_code == 408, response.text
            assert response.json()["error"]["message"] == (
                "canceling statement due to server shutdown"
            )
    verify = bkgdb(tmp_path / "data", "verify", "--json")
    assert verify.returncode == 0, verify.stderr
    after = bkgdb(tmp_path / "data", "sql", "--json", "SELECT count(*) FROM b.t")
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["rows"] == [[3]]
    log = bkgdb(tmp_path / "data", "tail", "--json")
    assert max(json.loads(line)["lsn"] for line in log.stdout.splitlines()) == head


# A format string from a parameter is not guarded (only the length limit bounds it): SQLite
# counts to the width inside one VM step, for seconds, and no deadline interrupts that.
STUCK = ("SELECT length(printf($1, $2, 'x'))", ["%.*c", 2_147_483_647])


def _stuck(served: Tenants) -> Background:
    stuck = Background(lambda: served.query(STUCK[0], served.keys["a"], params=STUCK[1]))
    wait_for(lambda: served.metric("bkg_statements_running") == 1)
    return stuck


def test_a_second_signal_exits_at_once(tmp_path: Path) -> None:
    with tenants(tmp_path / "data", {}) as served:
        stuck = _stuck(served)
        process = served.server.process
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
        assert time.monotonic() - began < 3, stderr
        assert process.returncode == 1
        assert "second stop signal" in stderr
        stuck.join(10)
        assert isinstance(stuck.error, httpx.TransportError)  # closed under it
    verify = bkgdb(tmp_path / "data", "verify", "--json")
    assert verify.returncode == 0, verify.stderr


@pytest.mark.slow
def test_a_stop_held_up_by_an_uninterruptible_statement_ends_within_10_s(tmp_path: Path) -> None:
    with tenants(tmp_path / "data", {}) as served:
        stuck = _stuck(served)
        process = served.server.process
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
        assert time.monotonic() - began < 10.5, stderr
        assert process.returncode == 0 or "graceful stop took too long" in stderr
        stuck.join(10)
    assert bkgdb(tmp_path / "data", "verify", "--json").returncode == 0
