"""`bkgdb serve --kafka-bootstrap`: a real server process mirrors and audits what it commits."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.peers.kafka import TansuBroker, free_port
from projections.consumers.audit_verify import trail_lines
from tests.kafka.kafkit import consume, has_lsns_up_to, verified_log

ROOT = Path(__file__).resolve().parents[2]


def cli(data: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", "--data-dir", str(data), *args]


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "bkgdb serve exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError("bkgdb serve did not become healthy")


def test_serve_mirrors_audits_and_reports_lag(tmp_path: Path, broker: TansuBroker) -> None:
    data = tmp_path / "data"
    init = subprocess.run(cli(data, "init", "--json"), capture_output=True, check=True, cwd=ROOT)
    headers = {"Authorization": f"Bearer {json.loads(init.stdout)['admin_key']}"}
    port = free_port()
    env = {**os.environ, "BKG_KAFKA_BOOTSTRAP": broker.bootstrap}
    with open(tmp_path / "serve.log", "wb") as log:
        process = subprocess.Popen(
            cli(data, "serve", "--port", str(port)), stdout=log, stderr=log, env=env, cwd=ROOT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        for sql in ("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)", "INSERT INTO t VALUES (1, 'a')"):
            response = httpx.post(f"{url}/query", json={"sql": sql}, headers=headers)
            assert response.status_code == 200, response.text
        lsn = response.json()["lsn"]
        messages = consume(broker.bootstrap, has_lsns_up_to(lsn), topics=("bkg.log",), group=None)
        assert [r.lsn for r in verified_log(messages)][-1] >= lsn
        export = tmp_path / "audit.jsonl"
        for args in (("export", "--out", str(export)), ("verify", str(export))):
            command = cli(data, "audit", *args)
            done = subprocess.run(command, check=False, capture_output=True, cwd=ROOT)
            assert done.returncode == 0, done.stderr  # beside the running server
        metrics = httpx.get(f"{url}/metrics").text
        assert re.search(r'^bkg_consumer_cursor_lsn\{consumer="kafka-mirror"\} \d+$', metrics, re.M)
        assert re.search(r'^bkg_consumer_up\{consumer="audit"\} 1$', metrics, re.M)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    assert lsn in [line["lsn"] for line in trail_lines(data / "audit")]
