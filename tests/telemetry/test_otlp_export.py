"""A real `bkgdb serve` exporting over OTLP/HTTP to a receiver on loopback."""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.http.conftest import bearer, free_port, serving
from tests.telemetry.receiver import ReceivedSpan, otlp_receiver

PARENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN = "b7ad6b7169203331"


def names(spans: list[ReceivedSpan]) -> set[str]:
    return {s.name for s in spans}


def test_spans_reach_an_otlp_receiver_with_their_links(tmp_path: Path) -> None:
    pg_port = free_port()
    with otlp_receiver() as (url, receiver):
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": url,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "CAVE_OTEL_SAMPLING_RATE": "1.0",
        }
        with serving(tmp_path / "data", env, args=["--pg-port", str(pg_port)]) as served:
            import httpx

            auth = bearer(served.admin_key)
            parent = {"traceparent": f"00-{PARENT_TRACE}-{PARENT_SPAN}-01"}
            create = {"sql": "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"}
            assert httpx.post(f"{served.url}/query", json=create, headers=auth).status_code == 200
            insert = {"sql": "INSERT INTO t (id, v) VALUES (1, 'x')"}
            answer = httpx.post(f"{served.url}/query", json=insert, headers={**auth, **parent})
            assert answer.status_code == 200
            assert answer.headers["x-trace-id"] == PARENT_TRACE
            dsn = f"postgresql://bkg:{served.admin_key}@127.0.0.1:{pg_port}/public"
            with psycopg.connect(dsn, autocommit=True) as conn:
                assert conn.execute("SELECT v FROM t").fetchall() == [("x",)]
            wanted = {"POST /query", "commit.fsync", "pgwire SELECT", "consumer.batch audit"}
            spans = receiver.wait_for(lambda got: wanted <= names(got))
    assert {s.resource["service.name"] for s in spans} == {"bkg-db"}
    traced = [s for s in spans if s.trace_id == PARENT_TRACE]
    (server,) = [s for s in traced if s.name == "POST /query"]
    assert server.parent_span_id == PARENT_SPAN
    assert server.attributes["http.status_code"] == 200
    by_id = {s.span_id: s for s in traced}
    for name in ("commit.queue_wait", "commit.sign", "commit.fsync", "sql.execute"):
        (child,) = [s for s in traced if s.name == name]
        while child.parent_span_id in by_id:
            child = by_id[child.parent_span_id]
        assert child is server, name
    (statement,) = [s for s in spans if s.name == "pgwire SELECT"]
    assert any(s.parent_span_id == statement.span_id for s in spans if s.name == "sql.execute")
