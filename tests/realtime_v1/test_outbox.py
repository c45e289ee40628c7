"""The socket's send queue: bounded, a full one drops everything and ends the socket, and
catch-up waits for room instead of filling it."""

from __future__ import annotations

import asyncio

from api.realtime.phoenix.outbox import Outbox


def test_a_client_that_does_not_read_overflows_and_is_dropped() -> None:
    async def scenario() -> None:
        box = Outbox(max_frames=3, max_bytes=1000)
        assert all(box.put(b"x") for _ in range(3))
        assert not box.put(b"y")
        assert box.overflowed
        assert not box.put(b"z")
        assert await box.take() is None

    asyncio.run(scenario())


def test_bytes_bound_too() -> None:
    box = Outbox(max_frames=100, max_bytes=10)
    assert box.put(b"12345678")
    assert not box.put(b"123")


def test_room_waits_until_the_writer_drained() -> None:
    async def scenario() -> None:
        box = Outbox(max_frames=4, max_bytes=1000)
        for _ in range(4):
            box.put(b"f")
        waiting = asyncio.create_task(box.room())
        await asyncio.sleep(0.01)
        assert not waiting.done()
        assert await box.take() == [b"f"] * 4
        assert await waiting is True
        box.close()
        assert await box.take() is None

    asyncio.run(scenario())
