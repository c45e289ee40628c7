"""``rest``: PostgREST-style point read and create on ``/rest/v1`` against PocketBase.

One real ``bkgdb serve`` process with the 1000 bench rows, reached with a namespace key
(Supabase's ``service_role``) as both ``apikey`` and bearer, and one PocketBase server with
the same 1000 records in an ``items`` collection, reached with a superuser token. From 16
keep-alive connections (the same load driver for both): ``GET /rest/v1/items?id=eq.N``
against ``GET /api/collections/items/records/{id}``, and ``POST /rest/v1/items`` with
``Prefer: return=minimal`` against PocketBase's create. Each figure is the best of three
interleaved rounds. Goals: read at least 0.8x PocketBase; create at least 1.0x, although
ours is durable (an fsync per group commit) and PocketBase's is not.
"""

from __future__ import annotations

import http.client
import json
import os
import time

from bench.errors import PeerFailedError
from bench.load import Throughput
from bench.model import Outcome, Ratio, Scenario, ratio_key
from bench.peers import pocketbase
from bench.scenarios._http import (
    OWNER,
    ROWS,
    HttpPeer,
    Request,
    measure_best,
    namespace_key,
    running_server,
    throughput_figures,
)
from bench.sizing import scaled

CONCURRENCY = (16,)
FULL_REQUESTS = 3000
GOALS = {"read": 0.8, "create": 1.0}
RATE_OFF = ("--rate-limit", "namespace=off")


def run(quick: bool) -> Outcome:
    """Both kinds on both systems, all four interleaved within each round."""
    requests = scaled(FULL_REQUESTS, quick=quick, minimum=max(CONCURRENCY))
    with running_server(*RATE_OFF) as server, pocketbase.running_pocketbase(ROWS) as peer:
        key = namespace_key(server)
        loads = {
            "bkgdb_read": HttpPeer("bkgdb_read", server, _rest_read(key)),
            "bkgdb_create": HttpPeer("bkgdb_create", server, _rest_create(key)),
            "pocketbase_read": HttpPeer("pocketbase_read", peer, _pb_read(peer.token)),
            "pocketbase_create": HttpPeer("pocketbase_create", peer, _pb_create(peer.token)),
        }
        measured = measure_best(loads, CONCURRENCY, requests, quick)
    return Outcome(figures=throughput_figures(measured), ratios=_ratios(measured))


def _fresh_prefix() -> int:
    """A base for new primary keys that no earlier run of this process used."""
    return os.getpid() * 10_000_000 + int(time.time() * 1000) % 1_000_000 * 10


def _rest_read(key: str) -> Request:
    headers = {"apikey": key, "Authorization": f"Bearer {key}"}

    def request(conn: http.client.HTTPConnection, ticket: int) -> None:
        n = ticket % ROWS + 1
        conn.request("GET", f"/rest/v1/items?id=eq.{n}", headers=headers)
        response = conn.getresponse()
        _expect(response.status, 200, response.read(), f"GET /rest/v1/items?id=eq.{n}", n)

    return request


def _rest_create(key: str) -> Request:
    prefix = _fresh_prefix()
    headers = {
        "apikey": key,
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Prefer": "return=minimal",
    }

    def request(conn: http.client.HTTPConnection, ticket: int) -> None:
        body = json.dumps({"id": prefix + ticket, "owner": OWNER, "v": "x" * 100})
        conn.request("POST", "/rest/v1/items", body=body.encode(), headers=headers)
        response = conn.getresponse()
        _expect(response.status, 201, response.read(), "POST /rest/v1/items", None)

    return request


def _pb_read(token: str) -> Request:
    def request(conn: http.client.HTTPConnection, ticket: int) -> None:
        n = ticket % ROWS + 1
        path = f"/api/collections/items/records/{pocketbase.record_id(n)}"
        status, data = pocketbase.send(conn, "GET", path, None, token)
        _expect(status, 200, data, path, None)

    return request


def _pb_create(token: str) -> Request:
    prefix = _fresh_prefix()

    def request(conn: http.client.HTTPConnection, ticket: int) -> None:
        body = {"id": pocketbase.record_id(prefix + ticket), "owner": OWNER, "v": "x" * 100}
        path = "/api/collections/items/records"
        status, data = pocketbase.send(conn, "POST", path, body, token)
        _expect(status, 200, data, path, None)

    return request


def _expect(status: int, wanted: int, data: bytes, what: str, row: int | None) -> None:
    """Fail the measurement on a wrong status, or a read that did not return its one row."""
    if status != wanted:
        raise PeerFailedError(f"{what} answered {status}: {data[:200]!r}")
    if row is not None and [r.get("id") for r in json.loads(data)] != [row]:
        raise PeerFailedError(f"{what} returned {data[:200]!r}")


def _ratios(measured: dict[tuple[str, int], Throughput]) -> dict[str, Ratio]:
    """Ours divided by PocketBase's throughput, per kind, at each point."""
    return {
        ratio_key(f"pocketbase_{kind}", c): Ratio(
            measured[f"bkgdb_{kind}", c].per_second / measured[f"pocketbase_{kind}", c].per_second,
            goal,
        )
        for kind, goal in GOALS.items()
        for c in CONCURRENCY
    }


SCENARIO = Scenario(
    name="rest",
    peers=("pocketbase_read", "pocketbase_create"),
    run=run,
    description=(
        "PostgREST point read (GET /rest/v1/items?id=eq.N) and create (POST, return=minimal) "
        "from 16 keep-alive clients against one bkgdb serve process, with PocketBase's "
        "record view and create on the same machine as the peer."
    ),
)
