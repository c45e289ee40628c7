"""The official Python clients (`realtime` and `supabase`, async, unmodified) against a real
`bkgdb serve`: postgres_changes under row-level security per subscriber, filters, update and
delete payloads, broadcast and presence between two clients, token refresh and expiry."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from realtime import AsyncRealtimeChannel, AsyncRealtimeClient, RealtimeSubscribeStates
from supabase import acreate_client

from tests.realtime_v1.conftest import Project

pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'timeout' parameter is deprecated:DeprecationWarning",
    "ignore:The 'verify' parameter is deprecated:DeprecationWarning",
)
_ids = itertools.count(1000)


def next_id() -> int:
    return next(_ids)


async def eventually(check: Callable[[], bool], within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.01)


async def subscribed(channel: AsyncRealtimeChannel) -> list[Any]:
    """Subscribe; the states the callback saw (the last one first to assert on)."""
    states: list[Any] = []
    await channel.subscribe(lambda state, error: states.append((state, error)))
    return states


def run(project: Project, test: Callable[[Project], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(project), 30))


async def client(project: Project, key: str, token: str | None = None) -> AsyncRealtimeClient:
    socket = AsyncRealtimeClient(f"{project.url}/realtime/v1", key, auto_reconnect=False)
    await socket.connect()
    if token is not None:
        await socket.set_auth(token)
    return socket


def test_own_inserts_arrive_within_a_second_and_never_another_users(project: Project) -> None:
    async def scenario(project: Project) -> None:
        alice, bob = (
            await client(project, project.anon, project.alice),
            await client(project, project.anon, project.bob),
        )
        seen: dict[str, list[Any]] = {"alice": [], "bob": []}
        for name, socket in (("alice", alice), ("bob", bob)):
            channel = socket.channel("todos")
            channel.on_postgres_changes("*", seen[name].append, table="todos")
            states = await subscribed(channel)
            assert states[-1] == (RealtimeSubscribeStates.SUBSCRIBED, None)
        a, b = next_id(), next_id()
        started = time.monotonic()
        project.sql(f"INSERT INTO public.todos (id, owner, title) VALUES ({a}, 'alice', 'mine')")
        project.sql(f"INSERT INTO public.todos (id, owner, title) VALUES ({b}, 'bob', 'his')")
        await eventually(lambda: bool(seen["alice"]) and bool(seen["bob"]), within=1.0)
        assert time.monotonic() - started < 1.0
        await asyncio.sleep(0.2)
        (mine,) = seen["alice"]
        assert mine["data"]["type"] == "INSERT"
        assert mine["data"]["schema"] == "public" and mine["data"]["table"] == "todos"
        assert mine["data"]["record"] == {
            "id": a, "owner": "alice", "title": "mine", "done": False, "meta": None,
        }  # fmt: skip
        assert {"name": "done", "type": "bool"} in mine["data"]["columns"]
        assert mine["data"]["commit_timestamp"].endswith("Z")
        assert [p["data"]["record"]["id"] for p in seen["bob"]] == [b]
        await alice.close()
        await bob.close()

    run(project, scenario)


def test_the_supabase_client_with_a_user_session(project: Project) -> None:
    async def scenario(project: Project) -> None:
        supabase = await acreate_client(project.url, project.anon)
        await supabase.realtime.set_auth(project.alice)
        seen: list[Any] = []
        channel = supabase.channel("mine")
        channel.on_postgres_changes("INSERT", seen.append, table="todos", schema="public")
        await subscribed(channel)
        a, b = next_id(), next_id()
        project.sql(f"INSERT INTO public.todos (id, owner) VALUES ({a}, 'bob'), ({b}, 'alice')")
        await eventually(lambda: bool(seen), within=1.0)
        await asyncio.sleep(0.2)
        assert [p["data"]["record"]["id"] for p in seen] == [b]
        await supabase.remove_all_channels()

    run(project, scenario)


def test_filters_updates_and_deletes(project: Project) -> None:
    async def scenario(project: Project) -> None:
        socket = await client(project, project.service)
        a, b, c = next_id(), next_id(), next_id()
        by_filter: dict[str, list[Any]] = {}
        channel = socket.channel("filters")
        for flt in (f"id=eq.{a}", f"id=in.({a},{c})", f"id=gt.{b}", "done=eq.true",
                    "title=neq.x", f"id=lte.{a}"):  # fmt: skip
            by_filter[flt] = []
            channel.on_postgres_changes("*", by_filter[flt].append, table="todos", filter=flt)
        updates: list[Any] = []
        deletes: list[Any] = []
        channel.on_postgres_changes("UPDATE", updates.append, table="todos")
        channel.on_postgres_changes("DELETE", deletes.append, table="todos")
        await subscribed(channel)
        project.sql(
            f"INSERT INTO public.todos (id, owner, title) VALUES ({a}, 'alice', 'x'),"
            f" ({b}, 'alice', 'y'), ({c}, 'bob', 'z')"
        )
        project.sql(f"UPDATE public.todos SET done = true, title = 'w' WHERE id = {b}")
        project.sql(f"DELETE FROM public.todos WHERE id = {c}")
        await eventually(lambda: bool(deletes))

        def ids(flt: str) -> list[tuple[str, int]]:
            return [
                (p["data"]["type"], (p["data"].get("record") or p["data"]["old_record"])["id"])
                for p in by_filter[flt]
            ]

        assert ids(f"id=eq.{a}") == [("INSERT", a)]
        assert ids(f"id=in.({a},{c})") == [("INSERT", a), ("INSERT", c), ("DELETE", c)]
        assert ids(f"id=gt.{b}") == [("INSERT", c), ("DELETE", c)]
        assert ids("done=eq.true") == [("UPDATE", b)]
        assert ids("title=neq.x") == [("INSERT", b), ("INSERT", c), ("UPDATE", b), ("DELETE", c)]
        assert [t for t, i in ids(f"id=lte.{a}") if i in (a, b, c)] == ["INSERT"]
        (update,) = updates
        assert update["data"]["record"]["title"] == "w"
        assert update["data"]["old_record"]["title"] == "y"
        (delete,) = deletes
        assert "record" not in delete["data"]
        assert delete["data"]["old_record"] == {
            "id": c, "owner": "bob", "title": "z", "done": False, "meta": None,
        }  # fmt: skip
        await socket.close()

    run(project, scenario)


def test_rls_on_updates_and_deletes_per_subscriber(project: Project) -> None:
    async def scenario(project: Project) -> None:
        socket = await client(project, project.anon, project.alice)
        seen: list[Any] = []
        channel = socket.channel("moves")
        channel.on_postgres_changes("*", seen.append, table="todos")
        await subscribed(channel)
        a = next_id()
        project.sql(f"INSERT INTO public.todos (id, owner, title) VALUES ({a}, 'bob', 'secret')")
        project.sql(f"UPDATE public.todos SET owner = 'alice', title = 'given' WHERE id = {a}")
        project.sql(f"UPDATE public.todos SET title = 'kept' WHERE id = {a}")
        project.sql(f"UPDATE public.todos SET owner = 'bob' WHERE id = {a}")
        project.sql(f"DELETE FROM public.todos WHERE id = {a}")
        b = next_id()
        project.sql(f"INSERT INTO public.todos (id, owner) VALUES ({b}, 'alice')")
        project.sql(f"DELETE FROM public.todos WHERE id = {b}")
        await eventually(lambda: len(seen) >= 4)
        await asyncio.sleep(0.2)
        shapes = [(p["data"]["type"], p["data"].get("old_record")) for p in seen]
        assert shapes[0] == ("UPDATE", {"id": a})  # moved in: the old row is not hers
        assert shapes[1][0] == "UPDATE" and shapes[1][1]["title"] == "given"
        assert [s[0] for s in shapes[2:]] == ["INSERT", "DELETE"]  # moved out: nothing
        assert shapes[3][1]["id"] == b
        await socket.close()

    run(project, scenario)


def test_broadcast_between_two_clients(project: Project) -> None:
    async def scenario(project: Project) -> None:
        one, two = await client(project, project.anon), await client(project, project.anon)
        heard: dict[str, list[Any]] = {"one": [], "two": []}
        first = one.channel("room", {"config": {"broadcast": {"self": True, "ack": True}}})
        first.on_broadcast("hello", heard["one"].append)
        second = two.channel("room")
        second.on_broadcast("*", heard["two"].append)
        await subscribed(first)
        await subscribed(second)
        await first.send_broadcast("hello", {"n": 1})
        await second.send_broadcast("hello", {"n": 2})
        await eventually(lambda: len(heard["one"]) == 2 and len(heard["two"]) == 1)
        await asyncio.sleep(0.1)
        assert sorted(p["payload"]["n"] for p in heard["one"]) == [1, 2]  # self: true
        assert [p["payload"] for p in heard["two"]] == [{"n": 1}]  # not its own
        assert heard["two"][0]["event"] == "hello"
        await one.close()
        await two.close()

    run(project, scenario)


def test_broadcast_stays_in_its_namespace(project: Project) -> None:
    async def scenario(project: Project) -> None:
        ours, theirs = await client(project, project.anon), await client(project, project.other)
        heard: list[Any] = []
        listening = theirs.channel("room-ns")
        listening.on_broadcast("*", heard.append)
        await subscribed(listening)
        talking = ours.channel("room-ns")
        await subscribed(talking)
        await talking.send_broadcast("hello", {"secret": True})
        await asyncio.sleep(0.3)
        assert heard == []
        await ours.close()
        await theirs.close()

    run(project, scenario)


def test_presence_between_two_clients(project: Project) -> None:
    async def scenario(project: Project) -> None:
        one, two = await client(project, project.anon), await client(project, project.anon)
        first = one.channel("lobby", {"config": {"presence": {"key": "ann", "enabled": True}}})
        joins: list[str] = []
        leaves: list[str] = []
        first.on_presence_join(lambda key, current, new: joins.append(key))
        first.on_presence_leave(lambda key, current, left: leaves.append(key))
        await subscribed(first)
        await first.track({"status": "online"})
        second = two.channel("lobby", {"config": {"presence": {"key": "ben", "enabled": True}}})
        second.on_presence_sync(lambda: None)
        await subscribed(second)
        await eventually(lambda: "ann" in second.presence_state())
        assert second.presence_state()["ann"][0]["status"] == "online"
        await second.track({"status": "away"})
        await eventually(lambda: "ben" in first.presence_state())
        assert first.presence_state()["ben"][0]["status"] == "away"
        await second.untrack()
        await eventually(lambda: "ben" not in first.presence_state())
        assert "ben" in joins and "ben" in leaves
        await second.track({"status": "back"})
        await eventually(lambda: "ben" in first.presence_state())
        await two.close()  # the connection going takes its presence with it
        await eventually(lambda: "ben" not in first.presence_state())
        await one.close()

    run(project, scenario)


def test_a_token_of_another_namespace_closes_the_channel(project: Project) -> None:
    async def scenario(project: Project) -> None:
        socket = await client(project, project.anon, project.alice)
        system: list[Any] = []
        states: list[Any] = []
        channel = socket.channel("refresh")
        channel.on_postgres_changes("*", lambda p: None, table="todos")
        await channel.subscribe(lambda state, error: states.append(state))
        channel.on_system(system.append)
        await socket.set_auth(project.token("alice", ns="other"))
        await eventually(lambda: RealtimeSubscribeStates.CLOSED in states)
        await socket.close()

    run(project, scenario)


def test_an_expired_token_is_refused_and_an_expiring_one_closes(project: Project) -> None:
    async def scenario(project: Project) -> None:
        socket = await client(project, project.anon, project.token("carol", ttl_seconds=1))
        states: list[Any] = []
        channel = socket.channel("expiring")
        channel.on_postgres_changes("*", lambda p: None, table="todos")
        await channel.subscribe(lambda state, error: states.append(state))
        assert states == [RealtimeSubscribeStates.SUBSCRIBED]
        await eventually(lambda: RealtimeSubscribeStates.CLOSED in states, within=3.0)
        await asyncio.sleep(1.0)
        late: list[Any] = []
        again = socket.channel("expired")
        again.on_postgres_changes("*", lambda p: None, table="todos")
        await again.subscribe(lambda state, error: late.append((state, error)))
        assert late[0][0] == RealtimeSubscribeStates.CHANNEL_ERROR
        assert "InvalidJWTToken" in str(late[0][1])
        await socket.close()

    run(project, scenario)
