"""The load driver: N threads, each with its own session, doing durable writes in a loop.

Every system measured (ours and every peer) is driven by the same code, so differences in
the figures come from the systems, not from the harness.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, Self

from bench.errors import PeerFailedError
from bench.sizing import warmup_operations

PAYLOAD = b"x" * 200
"""The 200-byte payload every durable write carries."""

Write = Callable[[bytes], None]


class Peer(Protocol):
    """A system under load. ``session()`` is entered once per thread, on that thread.

    The session opens whatever the thread needs (its own connection, say) and yields a
    function that durably writes one payload: when it returns, the write survives a crash.
    """

    name: str

    def session(self) -> AbstractContextManager[Write]:
        """One thread's connection and its durable-write function."""
        ...


class Managed:
    """Context-manager plumbing for peers: entering calls ``open``, leaving calls ``close``."""

    def open(self) -> None:
        """Create the peer's store (files, tables, connections); nothing by default."""

    def close(self) -> None:
        """Release what ``open`` took; nothing by default."""

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Throughput:
    """Operations timed between the warm-up and the end barrier, with their latencies."""

    warmup: int
    operations: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        """Operations per second over the measured interval."""
        return self.operations / self.seconds if self.seconds > 0 else 0.0


def measure(peer: Peer, concurrency: int, operations: int, payload: bytes = PAYLOAD) -> Throughput:
    """Drive ``peer`` with ``concurrency`` threads sharing ``operations`` timed writes.

    The writes are a shared budget, not a quota per thread: a thread takes the next one as
    soon as its last is acknowledged, so a system that starves some connections (SQLite's
    busy handler sleeps) is timed by the work done, not by its unluckiest thread. An untimed
    warm-up (a fifth as many writes, on the same sessions) first lets every system leave its
    start-up transient. Barriers bracket the timed interval, so opening and closing
    sessions is not counted.
    """
    warmup = warmup_operations(concurrency, operations)
    ready, warm, done = (threading.Barrier(concurrency + 1) for _ in range(3))
    warm_tickets, tickets = itertools.count(), itertools.count()
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            with peer.session() as write:
                ready.wait()
                _spend(write, payload, warm_tickets, warmup, [])
                warm.wait()
                _spend(write, payload, tickets, operations, latencies[index])
                done.wait()
        except threading.BrokenBarrierError:
            return
        except BaseException as exc:  # any failure aborts the whole measurement
            errors.append(exc)
            for barrier in (ready, warm, done):
                barrier.abort()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    elapsed = _timed(ready, warm, done)
    for thread in threads:
        thread.join()
    if errors:
        raise PeerFailedError(f"{peer.name} at {concurrency}: {errors[0]!r}") from errors[0]
    if elapsed is None:
        raise PeerFailedError(f"{peer.name} at {concurrency}: a worker stopped early")
    return _summarise(warmup, [x for own in latencies for x in own], elapsed)


def _spend(
    write: Write, payload: bytes, tickets: Iterator[int], budget: int, latencies: list[float]
) -> None:
    """Write until the shared budget is spent, noting each write's latency."""
    while next(tickets) < budget:
        began = time.perf_counter()
        write(payload)
        latencies.append(time.perf_counter() - began)


def _timed(
    ready: threading.Barrier, warm: threading.Barrier, done: threading.Barrier
) -> float | None:
    """Seconds between the end of the warm-up and the end; None when a worker broke a barrier."""
    try:
        ready.wait()
        warm.wait()
        began = time.perf_counter()
        done.wait()
    except threading.BrokenBarrierError:
        return None
    return time.perf_counter() - began


def _summarise(warmup: int, samples: list[float], seconds: float) -> Throughput:
    """Median and 99th percentile latencies in milliseconds."""
    ordered = sorted(samples)
    last = len(ordered) - 1
    return Throughput(
        warmup=warmup,
        operations=len(ordered),
        seconds=seconds,
        p50_ms=ordered[last // 2] * 1000,
        p99_ms=ordered[(last * 99) // 100] * 1000,
    )
