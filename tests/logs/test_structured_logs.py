"""Structured logs: a real `bkgdb serve --log-format json` writes one JSON line per request
and per notable event on stderr, with the route template and the caller, and never a key,
a token, a password or a parameter value."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal
import threading
from pathlib import Path
from typing import Any, cast

import httpx
import psycopg
import pytest

from api.database import Database, DatabaseOptions
from api.datadir import DataDir
from api.http.layer import RequestLayer
from api.http.metrics import Metrics
from api.logconfig import JsonFormatter, TextFormatter, configure, shutdown
from api.tracecontext import current_trace_id
from tests.cli.runner import bkgdb
from tests.http.conftest import bearer, free_port, serving

SECRET_PARAM = "param-value-7f3a"
SECRET_LITERAL = "literal-value-91cc"


def _lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def _exercise(url: str, admin_key: str, pg_port: int) -> dict[str, str]:
    """Requests carrying every kind of secret; returns the secrets to look for."""
    admin = bearer(admin_key)
    setup = [
        "CREATE SCHEMA shop",
        "CREATE TABLE shop.todos (id INTEGER PRIMARY KEY, owner TEXT, title TEXT)",
    ]
    for sql in setup:
        assert httpx.post(f"{url}/query", json={"sql": sql}, headers=admin).status_code == 200
    body = {"sql": "INSERT INTO shop.todos VALUES ($1, $2, $3)", "params": [1, "a", SECRET_PARAM]}
    assert httpx.post(f"{url}/query", json=body, headers=admin).status_code == 200
    key = httpx.post(
        f"{url}/auth/keys", json={"scope": "namespace", "namespace": "shop"}, headers=admin
    ).json()["key"]
    token = httpx.post(
        f"{url}/auth/token", json={"sub": "alice", "ns": "shop"}, headers=admin
    ).json()["access_token"]
    named = {"sql": "SELECT * FROM todos WHERE title = :t", "params": {"t": SECRET_PARAM}}
    assert httpx.post(f"{url}/query", json=named, headers=bearer(key)).status_code == 200
    assert httpx.get(f"{url}/rest/v1/todos?id=eq.1", headers=bearer(token)).status_code == 200
    assert httpx.get(f"{url}/schema", headers=bearer("bkg_wrong_" + key[-8:])).status_code == 401
    dsn = f"postgresql://tester:{key}@127.0.0.1:{pg_port}/shop"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT id FROM todos WHERE title = %s", (SECRET_PARAM,)).fetchall()
        conn.execute(f"SELECT id FROM todos WHERE owner = '{SECRET_LITERAL}'").fetchall()
    return {"admin key": admin_key, "namespace key": key, "jwt": token, "param": SECRET_PARAM}


@pytest.fixture(scope="module")
def served_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """The stderr of a server that served `_exercise` and then stopped on SIGTERM."""
    root = tmp_path_factory.mktemp("logs") / "data"
    pg_port = free_port()
    args = ["--log-format", "json", "--log-level", "debug", "--pg-port", str(pg_port)]
    with serving(root, args=args) as served:
        secrets = _exercise(served.url, served.admin_key, pg_port)
        served.process.send_signal(signal.SIGTERM)
        _, stderr = served.process.communicate(timeout=30)
    return stderr, secrets


def test_one_json_line_per_request_with_route_template(
    served_log: tuple[str, dict[str, str]],
) -> None:
    stderr, _ = served_log
    requests = [line for line in _lines(stderr) if line["logger"] == "bkgdb.request"]
    routes = {(line["method"], line["route"], line["status"]) for line in requests}
    assert ("POST", "/query", 200) in routes
    assert ("GET", "/rest/v1/{table}", 200) in routes
    assert ("GET", "/schema", 401) in routes
    for line in requests:
        assert set(line) >= {"ts", "level", "method", "route", "status", "duration_ms", "bytes"}
        assert line["level"] == "info" and line["duration_ms"] >= 0 and line["bytes"] > 0
    rest = next(line for line in requests if line["route"] == "/rest/v1/{table}")
    assert rest["principal"] == "user:alice" and rest["namespace"] == "shop"
    refused = next(line for line in requests if line["status"] == 401)
    assert refused["principal"] is None


def test_notable_events_and_pgwire_statements(served_log: tuple[str, dict[str, str]]) -> None:
    stderr, _ = served_log
    lines = _lines(stderr)
    events = [line.get("event") for line in lines]
    assert events.index("start") < events.index("stopping") < events.index("stop")
    start = lines[events.index("start")]
    assert start["url"].startswith("http://127.0.0.1:") and start["head_lsn"] >= 1
    statements = [line for line in lines if line["msg"] == "pgwire statement"]
    assert len(statements) >= 2
    assert all(line["level"] == "debug" and line["outcome"] == "ok" for line in statements)
    assert any("owner = ?" in line["statement"] for line in statements)


def test_no_key_token_password_or_parameter_value(served_log: tuple[str, dict[str, str]]) -> None:
    stderr, secrets = served_log
    for what, secret in {**secrets, "literal": SECRET_LITERAL}.items():
        assert secret not in stderr, f"the {what} is in the log"


def test_a_bad_log_format_is_a_one_line_error(tmp_path: Path) -> None:
    assert bkgdb(tmp_path / "d", "init").returncode == 0
    done = bkgdb(tmp_path / "d", "serve", "--log-format", "yaml")
    assert done.returncode != 0 and "--log-format" in done.stderr


def _record(**extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("bkgdb.t", logging.WARNING, __file__, 1, "m %s", ("x",), None)
    record.__dict__.update(extra)
    return record


def test_formatters_write_extra_fields_and_the_trace_id() -> None:
    token = current_trace_id.set("0af7651916cd43dd8448eb211c80319c")
    try:
        line = json.loads(JsonFormatter().format(_record(lsn=7, note="a b")))
        text = TextFormatter().format(_record(lsn=7, note="a b"))
    finally:
        current_trace_id.reset(token)
    assert line["msg"] == "m x" and line["level"] == "warning" and line["lsn"] == 7
    assert line["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert text.endswith(
        'WARNING bkgdb.t m x lsn=7 note="a b" trace_id=0af7651916cd43dd8448eb211c80319c'
    )


def test_configure_filters_by_level() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure("json", "warning", stream)
    try:
        logging.getLogger("bkgdb.t").info("hidden")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("bkgdb.t").exception("shown", extra={"event": "x"})
    finally:
        shutdown()
        root.handlers[:] = handlers
        root.setLevel(level)
    [line] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert line["msg"] == "shown" and line["event"] == "x" and "RuntimeError: boom" in line["exc"]
    with pytest.raises(ValueError):
        configure("yaml")


def test_rotation_and_checkpoint_lines_carry_their_facts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "data"
    Database.open(root).close()
    options = DatabaseOptions(log_options=DataDir(root).log_options(4096))
    caplog.set_level(logging.INFO)
    with Database.open(root, options) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        for i in range(20):
            db.execute("INSERT INTO t VALUES ($1, $2)", [i, "x" * 400])
        checkpoint = db.checkpoint()
    events = {r.__dict__.get("event"): r.__dict__ for r in caplog.records}
    rotation = events["segment_rotation"]
    assert rotation["sealed"].endswith(".seg") and rotation["last_lsn"] >= 1
    assert events["checkpoint"]["lsn"] == checkpoint.lsn
    assert "x" * 400 not in caplog.text


def test_an_unread_stderr_drops_lines_instead_of_stalling(tmp_path: Path) -> None:
    """A server whose stderr pipe nobody reads keeps answering (lines beyond the queue are
    dropped and counted)."""
    with serving(tmp_path / "data") as served:
        with httpx.Client(base_url=served.url) as client:
            for _ in range(1500):  # ~150 KB of request lines: more than a pipe holds
                assert client.get("/healthz", timeout=10).status_code == 200
        assert "bkg_log_records_dropped_total" in httpx.get(f"{served.url}/metrics").text


def test_the_request_line_carries_the_trace_id_a_layer_inside_set(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Tracing sets `current_trace_id` around the app and resets it when done; the request
    line, written after that, still carries it."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def traced(scope: Any, receive: Any, send: Any) -> None:
        token = current_trace_id.set("4bf92f3577b34da6a3ce929d0e0e4736")
        try:
            await app(scope, receive, send)
        finally:
            current_trace_id.reset(token)

    async def ignore(message: Any) -> None:
        return None

    async def nothing() -> Any:
        return {"type": "http.disconnect"}

    scope = {"type": "http", "method": "GET", "path": "/x/1", "path_template": "/x/{id}"}
    caplog.set_level(logging.INFO, logger="bkgdb.request")
    asyncio.run(RequestLayer(cast("Any", traced), Metrics())(cast("Any", scope), nothing, ignore))
    [line] = [r.__dict__ for r in caplog.records if r.name == "bkgdb.request"]
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert (line["route"], line["status"], line["bytes"]) == ("/x/{id}", 204, 2)
    assert line["principal"] is None


def test_lines_from_many_threads_are_all_written_in_order_in_batches() -> None:
    """The writer writes what gathered in one go: every line arrives, each thread's in the
    order it logged them, and far fewer writes than lines reach the stream."""

    class Counting(io.StringIO):
        writes = 0

        def write(self, text: str) -> int:
            Counting.writes += 1
            return super().write(text)

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = Counting()
    configure("json", "info", stream)

    def emit(thread: int) -> None:
        for n in range(2000):
            logging.getLogger("bkgdb.t").info("line", extra={"emitter": thread, "n": n})

    try:
        threads = [threading.Thread(target=emit, args=(t,)) for t in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        shutdown()
        root.handlers[:] = handlers
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    for thread in range(3):
        assert [line["n"] for line in lines if line["emitter"] == thread] == list(range(2000))
    assert Counting.writes < len(lines) / 10
