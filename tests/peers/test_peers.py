"""One suite for every benchmark peer: what the driver reports as written is really stored.

A peer that silently dropped writes would flatter itself in every figure, so each is driven
by the real load driver from several threads and its own store is counted afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

import psycopg
import pytest

from bench.errors import PeerFailedError, PeerUnavailableError
from bench.load import Write, measure
from bench.peers.eventsourcing_sqlite import EventsourcingSqlite
from bench.peers.fsync_file import FsyncFile
from bench.peers.pgcluster import PostgresCluster, find_bindir, temporary_postgres
from bench.peers.postgres import PostgresInsert
from bench.peers.sqlite_txn import SqliteTxn

THREADS = 4
WRITES = 40


class CountingPeer(Protocol):
    name: str

    def session(self) -> AbstractContextManager[Write]: ...

    def count(self) -> int: ...


def _postgres_available() -> bool:
    try:
        find_bindir()
    except PeerUnavailableError:
        return False
    return True


@contextmanager
def _postgres(directory: Path) -> Iterator[CountingPeer]:
    with temporary_postgres() as cluster, PostgresInsert(cluster) as peer:
        yield peer


PEERS: dict[str, Callable[[Path], AbstractContextManager[CountingPeer]]] = {
    "fsync_file": FsyncFile,
    "sqlite_txn": SqliteTxn,
    "eventsourcing": EventsourcingSqlite,
    "postgres": _postgres,
}
needs_postgres = pytest.mark.skipif(not _postgres_available(), reason="no PostgreSQL binaries")


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=[needs_postgres] if n == "postgres" else []) for n in PEERS],
)
def test_every_acknowledged_write_is_stored(name: str, tmp_path: Path) -> None:
    with PEERS[name](tmp_path) as peer:
        throughput = measure(peer, THREADS, THREADS * WRITES)
        assert peer.name == name
        assert throughput.operations == THREADS * WRITES
        assert throughput.per_second > 0
        assert throughput.warmup >= THREADS
        assert peer.count() == throughput.warmup + THREADS * WRITES


def test_a_failing_peer_fails_the_measurement(tmp_path: Path) -> None:
    class Broken:
        name = "broken"

        @contextmanager
        def session(self) -> Iterator[Write]:
            def write(payload: bytes) -> None:
                raise OSError("disk on fire")

            yield write

    with pytest.raises(PeerFailedError, match=r"broken at 3: .*disk on fire"):
        measure(Broken(), 3, 30)


@needs_postgres
def test_temporary_postgres_is_durable_unprivileged_and_removed() -> None:
    with temporary_postgres() as cluster:
        root = cluster.data_dir.parent
        assert cluster.host == "127.0.0.1"
        _check_settings(cluster)
        if os.geteuid() == 0:
            assert cluster.data_dir.stat().st_uid != 0, "the server must not run as root"
    assert not root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.conninfo, connect_timeout=2)


def _check_settings(cluster: PostgresCluster) -> None:
    with psycopg.connect(cluster.conninfo, autocommit=True) as conn:
        for setting, wanted in (("synchronous_commit", "on"), ("fsync", "on")):
            row = conn.execute(f"SHOW {setting}").fetchone()
            assert row is not None and row[0] == wanted
        version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None and int(version[0]) >= 150000
