"""A served replica through the troubles of a real broker: a broker outage after which it
applies more records in one batch than it keeps (`--history-records`), with `/realtime`
streams open across it; and a broker that comes back with `bkg.log` empty, which a replica
cannot follow past and must report (`/healthz`, `/metrics`, its log)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bench.peers.kafka import TansuBroker
from projections.consumers.cursor import CursorFile
from projections.consumers.kafka_mirror import MIRROR_NAME, KafkaMirror, MirrorConfig
from projections.consumers.runner import ConsumerRunner
from tests.http.conftest import Api
from tests.kafka.replicas import Replica, jwt_secret, running_replica

HEARTBEAT = "0.2"
KEEP = 5
BURST = 30


@pytest.fixture
def broker(durable_broker: TansuBroker) -> TansuBroker:
    """The primary mirrors to a broker that keeps `bkg.log` across a kill and a start."""
    return durable_broker


def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_realtime_survives_a_catch_up_larger_than_the_kept_history(
    tmp_path: Path, broker: TansuBroker, primary: Api
) -> None:
    root, log = tmp_path / "replica", tmp_path / "replica.log"
    args = ("--history-records", str(KEEP))
    with running_replica(root, broker.bootstrap, jwt_secret(tmp_path), log, *args) as replica:
        replica.wait_for(primary.head)
        with (
            replica.sse(primary.admin_key) as sse,
            sse.subscribe(tables="shop.todos", heartbeat=HEARTBEAT) as stream,
        ):
            assert stream.next().event == "subscribed"
            broker.kill()
            lsns = [_insert(primary, 100 + i) for i in range(BURST)]
            broker.start()
            replica.wait_for(lsns[-1])
            # Every change of the batch, in order, though the replica keeps only KEEP records.
            assert [e.id for e in stream.take(BURST)] == [f"{lsn}.0" for lsn in lsns]
            live = _insert(primary, 200)
            assert stream.next().id == f"{live}.0"
        with (
            replica.sse(primary.admin_key) as sse,
            sse.subscribe(tables="shop.todos", heartbeat=HEARTBEAT) as fresh,
        ):
            assert fresh.next().data["lsn"] == replica.applied()
            later = _insert(primary, 201)
            assert fresh.next().id == f"{later}.0"
    assert "realtime hub failed" not in log.read_text()


def test_an_emptied_topic_is_reported(tmp_path: Path, broker: TansuBroker, primary: Api) -> None:
    root, log = tmp_path / "replica", tmp_path / "replica.log"
    secret = jwt_secret(tmp_path)
    with running_replica(root, broker.bootstrap, secret, log) as replica:
        replica.wait_for(primary.head)
        applied = replica.applied()
    # Mirrored while the replica is down, then lost with the topic.
    lost = max(_insert(primary, 300 + i) for i in range(3))
    mirrored = CursorFile(primary.backend.db.data.consumers, MIRROR_NAME)
    until(lambda: mirrored.load() >= lost, 30, "the mirror to send them")
    broker.kill()
    broker.storage = "memory://tansu/"  # it comes back on the same port, with nothing
    broker.start()
    with running_replica(root, broker.bootstrap, secret, log) as replica:
        replica.wait_for(0)
        head = max(_insert(primary, 400 + i) for i in range(3))
        until(lambda: _health(replica).get("status") == "degraded", 30, "a degraded /healthz")
        until(lambda: _gauges(replica)["bkg_replica_primary_head_lsn"] == head, 30, "the head")
        health = _health(replica)
        assert (health["status"], health["applied_lsn"]) == ("degraded", applied)
        assert f"lacks LSN {applied + 1}" in str(health["reason"]), health
        gauges = _gauges(replica)
        assert gauges["bkg_replica_gap_records"] == head - applied
        assert gauges["bkg_projection_applied_lsn"] == applied
        assert gauges["bkg_replica_stalled"] == 1
        # The documented recovery: the mirror sends the log again from LSN 1 (here a second
        # mirror with a cursor of its own, as the first would with its cursor removed).
        again = start_mirror_at(primary, broker.bootstrap, CursorFile(tmp_path, "again"))
        try:
            replica.wait_for(head)
            until(lambda: _health(replica)["status"] == "ok", 30, "/healthz ok again")
            assert "reason" not in _health(replica)
            assert _gauges(replica)["bkg_replica_stalled"] == 0
        finally:
            again.stop()
    text = log.read_text()
    assert "replica stalled: bkg.log has no message at offset" in text, text[-3000:]
    assert "kafka-mirror.cursor" in text and "re-seed" in text
    assert "replica follows bkg.log again" in text


def start_mirror_at(primary: Api, bootstrap: str, cursor: CursorFile) -> ConsumerRunner:
    runner = ConsumerRunner(KafkaMirror(MirrorConfig(bootstrap)), primary.backend.db.log, cursor)
    runner.start()
    return runner


def _insert(primary: Api, row: int) -> int:
    sql = "INSERT INTO shop.todos (id, owner, title) VALUES ($1, 'w', 't')"
    lsn: int = primary.ok(sql, params=[row])["lsn"]
    return lsn


def _health(replica: Replica) -> dict[str, object]:
    """`/healthz` of the replica; empty while it is not listening yet (it binds after
    printing its URL)."""
    try:
        answer: dict[str, object] = httpx.get(f"{replica.url}/healthz", timeout=5).json()
    except httpx.TransportError:
        return {}
    return answer


def _gauges(replica: Replica) -> dict[str, int]:
    text = httpx.get(f"{replica.url}/metrics", timeout=5).text
    return {m[1]: int(float(m[2])) for m in re.finditer(r"^(bkg_\w+) (\S+)$", text, re.M)}
