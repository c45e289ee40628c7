"""A real `bkgdb serve` subprocess on a free loopback port and headless Debian chromium
driven by Playwright, for the dashboard's end-to-end tests.

The browser is the system's `/usr/bin/chromium` (installed by `make test` through
scripts/ensure-package.sh); without it these tests are skipped with that reason. Each test
gets a fresh browser context (so a fresh sessionStorage); screenshots go to
tests/artifacts/web/, which git ignores.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"
STARTUP_S = 30.0
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without the browser, skip the tests that need it and say why."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (make test installs it as root: scripts/ensure-package.sh)"
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class Server:
    """A served data directory: its base URL and the admin key `init` printed."""

    url: str
    admin_key: str
    process: subprocess.Popen[bytes]

    def query(self, sql: str, token: str | None = None, **body: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.admin_key}"}
        return httpx.post(f"{self.url}/query", json={"sql": sql, **body}, headers=headers)

    def ok(self, sql: str, token: str | None = None, **body: Any) -> dict[str, Any]:
        response = self.query(sql, token, **body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def has(self, method: str, path: str) -> bool:
        """Whether the server offers an endpoint (anything but 'no such route' or 501)."""
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        with httpx.stream(method, f"{self.url}{path}", headers=headers, timeout=5) as response:
            if response.status_code in {405, 501}:
                return False
            if response.status_code != 404:
                return True
            return "no such route" not in response.read().decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cli(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", "--data-dir", str(data_dir), *args]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`bkgdb init` then `bkgdb serve` on a free port, stopped with SIGTERM afterwards."""
    data_dir = tmp_path_factory.mktemp("web") / "data"
    init = subprocess.run(_cli(data_dir, "init", "--json"), capture_output=True, check=True)
    admin_key = json.loads(init.stdout)["admin_key"]
    port = _free_port()
    log = (data_dir.parent / "serve.log").open("wb")
    process = subprocess.Popen(
        _cli(data_dir, "serve", "--host", "127.0.0.1", "--port", str(port)),
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield Server(url, admin_key, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bkgdb serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"bkgdb serve did not answer /healthz within {STARTUP_S} s")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Dashboard:
    """One browser tab on the dashboard, with the JavaScript errors it reported."""

    page: Page
    server: Server
    errors: list[str] = field(default_factory=list)

    def open(self, name: str) -> None:
        self.page.goto(f"{self.server.url}/admin#/{name}")
        self.page.wait_for_selector(f"#page-{name}")

    def sign_in(self, token: str) -> None:
        self.page.goto(f"{self.server.url}/admin")
        self.page.fill("input[name=token]", token)
        self.page.keyboard.press("Enter")
        self.page.wait_for_selector("#page-overview")

    def shot(self, name: str) -> None:
        """Save a screenshot, and check the page does not scroll sideways."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name}: the page is {overflow} px wider than the window"


def _console(errors: list[str], message: ConsoleMessage) -> None:
    # A fetch answered 404/501 is reported by the browser itself; the page shows it in words.
    if message.type == "error" and "Failed to load resource" not in message.text:
        errors.append(message.text)


@pytest.fixture
def dashboard(browser: Browser, server: Server) -> Iterator[Dashboard]:
    """A fresh context (empty session storage) and tab; no uncaught script error allowed."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    board = Dashboard(page, server)
    page.on("pageerror", lambda exc: board.errors.append(str(exc)))
    page.on("console", lambda message: _console(board.errors, message))
    try:
        yield board
    finally:
        context.close()
    assert board.errors == []
