"""The load driver: N threads, each with its own session, doing durable writes in a loop.

Every system measured (ours and every peer) is driven by the same code, so differences in
the figures come from the systems, not from the harness.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from bench.errors import PeerFailedError

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


@dataclass(frozen=True)
class Throughput:
    """Operations completed between the start and the end barrier, with latencies."""

    operations: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        """Operations per second over the measured interval."""
        return self.operations / self.seconds if self.seconds > 0 else 0.0


def measure(peer: Peer, concurrency: int, operations: int, payload: bytes = PAYLOAD) -> Throughput:
    """Drive ``peer`` with ``concurrency`` threads sharing ``operations`` writes.

    Sessions are opened before and closed after the timed interval: two barriers bracket the
    measurement so connection set-up and tear-down are not counted.
    """
    per_thread = max(1, operations // concurrency)
    start = threading.Barrier(concurrency + 1)
    done = threading.Barrier(concurrency + 1)
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            with peer.session() as write:
                start.wait()
                own = latencies[index]
                for _ in range(per_thread):
                    began = time.perf_counter()
                    write(payload)
                    own.append(time.perf_counter() - began)
                done.wait()
        except threading.BrokenBarrierError:
            return
        except BaseException as exc:  # any failure aborts the whole measurement
            errors.append(exc)
            start.abort()
            done.abort()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    elapsed = _timed(start, done)
    for thread in threads:
        thread.join()
    if errors:
        raise PeerFailedError(f"{peer.name} at {concurrency}: {errors[0]!r}") from errors[0]
    if elapsed is None:
        raise PeerFailedError(f"{peer.name} at {concurrency}: a worker stopped early")
    return _summarise([x for own in latencies for x in own], elapsed)


def _timed(start: threading.Barrier, done: threading.Barrier) -> float | None:
    """Seconds between the two barriers; None when a worker broke them."""
    try:
        start.wait()
        began = time.perf_counter()
        done.wait()
    except threading.BrokenBarrierError:
        return None
    return time.perf_counter() - began


def _summarise(samples: list[float], seconds: float) -> Throughput:
    """Median and 99th percentile latencies in milliseconds."""
    ordered = sorted(samples)
    last = len(ordered) - 1
    return Throughput(
        operations=len(ordered),
        seconds=seconds,
        p50_ms=ordered[last // 2] * 1000,
        p99_ms=ordered[(last * 99) // 100] * 1000,
    )
