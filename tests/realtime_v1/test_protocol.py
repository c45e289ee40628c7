"""The Phoenix protocol with a raw `websockets` client: both serialisers, heartbeats,
replies, the edge cases and abuse (frames that are not JSON, foreign namespaces, a
thousand channels on one socket, bad keys), and `from_lsn` resuming from the log."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.http.conftest import serving
from tests.realtime_v1.conftest import Project, admin
from tests.realtime_v1.test_supabase_client import next_id


class Raw:
    """A socket speaking one protocol version, with messages as dicts."""

    def __init__(self, ws: ClientConnection, vsn: str) -> None:
        self.ws, self.vsn, self.ref = ws, vsn, 0

    async def push(self, topic: str, event: str, payload: dict[str, Any]) -> str:
        self.ref += 1
        ref = str(self.ref)
        if self.vsn == "2.0.0":
            await self.ws.send(json.dumps([ref, ref, topic, event, payload]))
        else:
            frame = {"topic": topic, "event": event, "payload": payload, "ref": ref}
            await self.ws.send(json.dumps({**frame, "join_ref": ref}))
        return ref

    async def next(self, timeout: float = 2.0) -> dict[str, Any]:
        raw = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if self.vsn == "2.0.0":
            assert isinstance(raw, list) and len(raw) == 5
            join_ref, ref, topic, event, payload = raw
            return {"join_ref": join_ref, "ref": ref, "topic": topic, "event": event,
                    "payload": payload}  # fmt: skip
        assert isinstance(raw, dict)
        return raw

    async def until(self, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            message = await self.next()
            if check(message):
                return message

    async def reply(self, ref: str) -> dict[str, Any]:
        message = await self.until(lambda m: m["event"] == "phx_reply" and m["ref"] == ref)
        payload: dict[str, Any] = message["payload"]
        return payload

    async def join(self, topic: str, config: dict[str, Any], **payload: Any) -> dict[str, Any]:
        return await self.reply(await self.push(topic, "phx_join", {"config": config, **payload}))


def url(project: Project, key: str, vsn: str = "1.0.0") -> str:
    return f"{project.ws}?apikey={key}&vsn={vsn}"


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


TODOS = {"postgres_changes": [{"event": "*", "schema": "public", "table": "todos"}]}


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_both_serialisers_join_heartbeat_change_and_leave(project: Project, vsn: str) -> None:
    async def scenario() -> None:
        async with connect(url(project, project.service, vsn)) as ws:
            raw = Raw(ws, vsn)
            reply = await raw.join("realtime:v", TODOS)
            assert reply["status"] == "ok"
            (binding,) = reply["response"]["postgres_changes"]
            assert {k: binding[k] for k in ("event", "schema", "table")} == TODOS[
                "postgres_changes"
            ][0]
            assert isinstance(binding["id"], int) and binding["id"] > 0
            system = await raw.until(lambda m: m["event"] == "system")
            assert system["payload"] == {
                "message": "Subscribed to PostgreSQL", "status": "ok",
                "extension": "postgres_changes", "channel": "v",
            }  # fmt: skip
            beat = await raw.reply(await raw.push("phoenix", "heartbeat", {}))
            assert beat == {"status": "ok", "response": {}}
            row = next_id()
            project.sql(f"INSERT INTO public.todos (id, owner) VALUES ({row}, 'x')")
            change = await raw.until(lambda m: m["event"] == "postgres_changes")
            assert change["topic"] == "realtime:v" and change["ref"] is None
            assert change["payload"]["ids"] == [binding["id"]]
            assert change["payload"]["data"]["record"]["id"] == row
            assert change["payload"]["data"]["lsn"].endswith(".0")
            leave = await raw.reply(await raw.push("realtime:v", "phx_leave", {}))
            assert leave["status"] == "ok"
            closed = await raw.until(lambda m: m["event"] == "phx_close")
            assert closed["topic"] == "realtime:v"
            project.sql(f"UPDATE public.todos SET title = 'after' WHERE id = {row}")
            with pytest.raises(TimeoutError):
                await raw.until(lambda m: m["event"] == "postgres_changes")

    run(scenario)


def test_not_json_closes_that_socket_only(project: Project) -> None:
    async def scenario() -> None:
        async with connect(url(project, project.anon)) as bystander:
            other = Raw(bystander, "1.0.0")
            assert (await other.join("realtime:calm", {}))["status"] == "ok"
            for garbage in ("not json", "[1, 2", '"a string"', "[]", '{"topic": 1}'):
                async with connect(url(project, project.anon)) as ws:
                    await ws.send(garbage)
                    with pytest.raises(ConnectionClosed) as closed:
                        await asyncio.wait_for(ws.recv(), 2)
                    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
            async with connect(url(project, project.anon)) as ws:
                await ws.send(b"\x00binary")
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 2)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
            async with connect(url(project, project.anon)) as ws:
                big = {
                    "topic": "phoenix",
                    "event": "heartbeat",
                    "payload": {},
                    "pad": "x" * 300_000,
                }
                await ws.send(json.dumps(big))
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 2)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            assert (await other.reply(await other.push("phoenix", "heartbeat", {})))[
                "status"
            ] == "ok"

    run(scenario)


def test_refused_joins_get_error_replies(project: Project) -> None:
    async def scenario() -> None:
        async with connect(url(project, project.anon, "2.0.0")) as ws:
            raw = Raw(ws, "2.0.0")

            async def refused(topic: str, config: Any, **payload: Any) -> str:
                reply = await raw.reply(
                    await raw.push(topic, "phx_join", {"config": config, **payload})
                )
                assert reply["status"] == "error", reply
                return str(reply["response"]["reason"])

            foreign = {"postgres_changes": [{"event": "*", "schema": "other", "table": "secrets"}]}
            assert (await refused("realtime:a", foreign)).startswith("Unauthorized")
            missing = {"postgres_changes": [{"event": "*", "schema": "public", "table": "nope"}]}
            assert "does not exist" in await refused("realtime:b", missing)
            bad_event = {"postgres_changes": [{"event": "TRUNCATE", "table": "todos"}]}
            assert (await refused("realtime:c", bad_event)).startswith("InvalidJoinPayload")
            bad_filter = {"postgres_changes": [{"event": "*", "table": "todos", "filter": "id"}]}
            assert (await refused("realtime:d", bad_filter)).startswith("InvalidJoinPayload")
            assert (await refused("realtime:", {})).startswith("TopicNameRequired")
            assert (await refused("realtime:e", {"private": True})).startswith("PrivateChannels")
            assert (await refused("realtime:f", "nope")).startswith("InvalidJoinPayload")
            assert (await refused("realtime:g", {"from_lsn": 10**9})).startswith(
                "InvalidJoinPayload"
            )
            other_ns = project.token("alice", ns="other")
            assert (await refused("realtime:h", TODOS, access_token=other_ns)).startswith(
                "Unauthorized"
            )
            assert (await refused("realtime:i", TODOS, access_token="junk")).startswith(
                "InvalidJWTToken"
            )
            unmatched = await raw.reply(await raw.push("realtime:zz", "broadcast", {}))
            assert unmatched == {"status": "error", "response": {"reason": "unmatched topic"}}
            ok = await raw.join("realtime:still-fine", TODOS)
            assert ok["status"] == "ok"

    run(scenario)


def test_a_thousand_channels_on_one_socket(project: Project) -> None:
    async def scenario() -> None:
        async with connect(url(project, project.anon), max_queue=None) as ws:
            raw = Raw(ws, "1.0.0")
            for n in range(1000):
                await raw.push(f"realtime:c{n}", "phx_join", {"config": TODOS})
            statuses: dict[str, int] = {}
            replies = 0
            while replies < 1000:
                message = await raw.next(5)
                if message["event"] == "phx_reply":
                    replies += 1
                    status = message["payload"]["status"]
                    statuses[status] = statuses.get(status, 0) + 1
                    if status == "error":
                        assert message["payload"]["response"]["reason"].startswith(
                            "ChannelRateLimitReached"
                        )
            assert statuses == {"ok": 100, "error": 900}
            assert (await raw.reply(await raw.push("phoenix", "heartbeat", {})))["status"] == "ok"
        assert httpx.get(f"{project.url}/healthz").status_code == 200

    run(scenario)


def test_message_flood_closes_the_socket(project: Project) -> None:
    async def scenario() -> None:
        async with connect(url(project, project.anon)) as ws:
            raw = Raw(ws, "1.0.0")
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(5000):
                    await raw.push("phoenix", "heartbeat", {})
                while True:
                    await raw.next()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    run(scenario)


def test_handshake_refusals(project: Project) -> None:
    async def scenario() -> None:
        for bad in (f"{project.ws}?vsn=1.0.0", url(project, "bkg_nope"),
                    url(project, project.anon, "3.0.0")):  # fmt: skip
            with pytest.raises(InvalidStatus) as refused:
                async with connect(bad):
                    pass
            assert refused.value.response.status_code == 403

    run(scenario)


def test_from_lsn_resumes_losslessly_under_rls(project: Project) -> None:
    async def scenario() -> None:
        start = int(httpx.get(f"{project.url}/healthz").json()["head_lsn"])
        rows = [next_id() for _ in range(6)]
        for n, row in enumerate(rows):
            owner = "alice" if n % 2 == 0 else "bob"
            project.sql(f"INSERT INTO public.todos (id, owner) VALUES ({row}, '{owner}')")
        async with connect(url(project, project.anon)) as ws:
            raw = Raw(ws, "1.0.0")
            config = {**TODOS, "from_lsn": start + 1}
            assert (await raw.join("realtime:resume", config, access_token=project.alice))[
                "status"
            ] == "ok"
            late = next_id()
            project.sql(f"INSERT INTO public.todos (id, owner) VALUES ({late}, 'alice')")
            got: list[int] = []
            deadline = time.monotonic() + 3
            while len(got) < 4 and time.monotonic() < deadline:
                message = await raw.next()
                if message["event"] == "postgres_changes":
                    got.append(message["payload"]["data"]["record"]["id"])
            assert got == [rows[0], rows[2], rows[4], late]

    run(scenario)


def test_vsn2_broadcast_reaches_a_vsn1_socket(project: Project) -> None:
    async def scenario() -> None:
        async with (
            connect(url(project, project.anon, "2.0.0")) as a,
            connect(url(project, project.anon)) as b,
        ):
            one, two = Raw(a, "2.0.0"), Raw(b, "1.0.0")
            assert (await one.join("realtime:mix", {"broadcast": {"ack": True}}))["status"] == "ok"
            assert (await two.join("realtime:mix", {}))["status"] == "ok"
            message = {"type": "broadcast", "event": "e", "payload": {"x": 1}}
            ref = await one.push("realtime:mix", "broadcast", message)
            assert (await one.reply(ref))["status"] == "ok"
            heard = await two.until(lambda m: m["event"] == "broadcast")
            assert heard["payload"] == {"type": "broadcast", "event": "e", "payload": {"x": 1}}

    run(scenario)


def test_a_stop_signal_closes_open_sockets(tmp_path: Path) -> None:
    with serving(tmp_path / "data") as served:
        key = admin(served, "/auth/keys", {"scope": "anon", "namespace": "public"})["key"]
        ws_url = served.url.replace("http://", "ws://") + f"/realtime/v1/websocket?apikey={key}"

        async def scenario() -> None:
            async with connect(ws_url) as ws:
                raw = Raw(ws, "1.0.0")
                assert (await raw.join("realtime:stop", {}))["status"] == "ok"
                served.process.send_signal(signal.SIGTERM)
                with pytest.raises(ConnectionClosed) as closed:
                    await raw.next(5)
                # 1001 when our close frame beats granian's own stop, else a dropped connection
                assert closed.value.rcvd is None or closed.value.rcvd.code == 1001

        run(scenario)
        assert served.process.wait(timeout=8) == 0


def user_broadcast_push(topic: str, event: str, payload: bytes, encoding: int = 1) -> bytes:
    """realtime-js's binary frame for a client's broadcast (vsn 2.0.0, kind 3)."""
    join_ref, ref = b"1", b"9"
    head = bytes([3, len(join_ref), len(ref), len(topic), len(event), 0, encoding])
    return head + join_ref + ref + topic.encode() + event.encode() + payload


def test_binary_user_broadcast_pushes(project: Project) -> None:
    async def scenario() -> None:
        async with (
            connect(url(project, project.anon, "2.0.0")) as a,
            connect(url(project, project.anon, "2.0.0")) as b,
        ):
            one, two = Raw(a, "2.0.0"), Raw(b, "2.0.0")
            assert (await one.join("realtime:bin", {}))["status"] == "ok"
            assert (await two.join("realtime:bin", {}))["status"] == "ok"
            await a.send(user_broadcast_push("realtime:bin", "ping", b'{"n": 7}'))
            heard = await two.until(lambda m: m["event"] == "broadcast")
            assert heard["payload"] == {"type": "broadcast", "event": "ping", "payload": {"n": 7}}
            await a.send(user_broadcast_push("realtime:bin", "raw", b"\x01\x02", encoding=0))
            with pytest.raises(ConnectionClosed) as closed:
                await one.next()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003

    run(scenario)
