"""The reader pool's hand-off in-process: answers and errors come back to the caller's loop,
work whose caller stopped waiting never runs, and closing the pool fails what still waits."""

from __future__ import annotations

import asyncio
import threading

import pytest

from api.readers import OverloadedError, PoolSettings, ReaderPool


def test_answers_errors_and_threads() -> None:
    pool = ReaderPool(PoolSettings(threads=2, queue_limit=8, per_key=2))

    def boom() -> int:
        raise ValueError("bad")

    async def scenario() -> None:
        names = await asyncio.gather(*(pool.run("ns", _thread_name) for _ in range(6)))
        assert set(names) <= {"bkg-reader_0", "bkg-reader_1"}
        assert await pool.run("ns", lambda: 41 + 1) == 42
        with pytest.raises(ValueError, match="bad"):
            await pool.run("ns", boom)

    try:
        asyncio.run(scenario())
    finally:
        pool.close()
    assert pool.busy == 0 and pool.queued == 0


def test_work_whose_caller_stopped_waiting_never_runs() -> None:
    pool = ReaderPool(PoolSettings(threads=1, queue_limit=4, per_key=1))
    release, ran = threading.Event(), []

    async def scenario() -> None:
        holder = asyncio.ensure_future(pool.run("a", lambda: release.wait(10)))
        await asyncio.sleep(0.05)
        waiting = asyncio.ensure_future(pool.run("a", lambda: ran.append("late")))
        await asyncio.sleep(0.05)
        assert pool.queued == 1
        waiting.cancel()
        release.set()
        assert await holder is True
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert await pool.run("a", lambda: "next") == "next"

    try:
        asyncio.run(scenario())
    finally:
        pool.close()
    assert ran == []


def test_a_full_queue_refuses_and_close_fails_what_waits() -> None:
    pool = ReaderPool(PoolSettings(threads=1, queue_limit=2, per_key=1))
    release = threading.Event()

    async def scenario() -> None:
        holder = asyncio.ensure_future(pool.run("a", lambda: release.wait(10)))
        await asyncio.sleep(0.05)
        queued = asyncio.ensure_future(pool.run("a", lambda: "never"))
        await asyncio.sleep(0.05)
        with pytest.raises(OverloadedError):
            await pool.run("a", lambda: "refused")  # one key holds at most half the queue
        pool.close()
        with pytest.raises(asyncio.CancelledError):
            await queued
        release.set()
        assert await holder is True

    asyncio.run(scenario())


def _thread_name() -> str:
    return threading.current_thread().name
