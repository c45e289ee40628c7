"""Spans of a traced server, read back from the SDK's in-memory exporter."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan

from api.settings import ServerConfig, Settings
from api.telemetry.asgi import TracedApp
from api.telemetry.settings import TelemetrySettings
from api.wiring import build_server
from projections import tracing
from tests.http.conftest import bearer, make_data_dir, open_api
from tests.telemetry.conftest import UNUSED_ENDPOINT, Traced, traced_api

PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
ON = TelemetrySettings(UNUSED_ENDPOINT)


def ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[str]:
    """The names of a span's ancestors within `spans`, nearest first."""
    by_id = {s.context.span_id: s for s in spans}
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


def test_a_read_is_a_server_span_named_by_route_with_sql_children(traced: Traced) -> None:
    traced.api.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    traced.exporter.clear()
    response = traced.api.query("SELECT v FROM t WHERE id = $1", params=[7])
    assert response.status_code == 200
    server = traced.server_span()
    assert server.name == "POST /query"
    assert server.attributes is not None
    assert server.attributes["http.method"] == "POST"
    assert server.attributes["http.status_code"] == 200
    assert server.attributes["http.route"] == "/query"
    assert server.kind.name == "SERVER"
    for name in ("sql.parse", "sql.translate", "sql.execute"):
        (child,) = traced.named(name)
        assert child.context.trace_id == server.context.trace_id
        assert ancestors(child, traced.spans())[-1] == "POST /query"
    trace_id = f"{server.context.trace_id:032x}"
    assert response.headers["x-trace-id"] == trace_id
    assert response.headers["traceresponse"].split("-")[1] == trace_id


def test_a_write_shows_the_commit_queue_wait_sign_and_fsync(traced: Traced) -> None:
    traced.api.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    traced.exporter.clear()
    assert traced.api.query("INSERT INTO t (id, v) VALUES (1, 'x')").status_code == 200
    server = traced.server_span()
    spans = traced.spans()
    for name in ("commit.queue_wait", "commit.sign", "commit.fsync", "sql.execute"):
        (child,) = traced.named(name)
        assert child.context.trace_id == server.context.trace_id, name
        assert "POST /query" in ancestors(child, spans), name
        assert child.start_time is not None and child.end_time is not None
        assert server.start_time is not None and server.end_time is not None
        assert server.start_time <= child.start_time <= child.end_time <= server.end_time
    (sign,) = traced.named("commit.sign")
    (fsync,) = traced.named("commit.fsync")
    assert sign.end_time == fsync.start_time
    assert fsync.attributes is not None and fsync.attributes["bkg.lsn"] == traced.api.head


def test_routes_with_ids_are_named_by_their_template(traced: Traced) -> None:
    traced.api.setup_shop()
    traced.exporter.clear()
    traced.api.client.get("/rest/v1/todos?id=eq.1", headers={
        **bearer(traced.api.admin_key), "Accept-Profile": "shop"})  # fmt: skip
    assert traced.server_span().name == "GET /rest/v1/{table}"
    traced.exporter.clear()
    traced.api.client.get("/no/such/route/42")
    assert traced.server_span().name == "GET"


def test_row_level_security_rewrite_is_a_span_of_a_user_read(traced: Traced) -> None:
    traced.api.setup_shop()
    token = traced.api.user_token("alice")
    traced.exporter.clear()
    assert traced.api.query("SELECT title FROM todos", token).status_code == 200
    (rewrite,) = traced.named("sql.rls_rewrite")
    assert ancestors(rewrite, traced.spans())[-1] == "POST /query"


def test_no_parameter_value_or_secret_reaches_an_attribute(traced: Traced) -> None:
    traced.api.setup_shop()
    traced.exporter.clear()
    secret = "s3cr3t-value-9f1c"
    traced.api.query("SELECT title FROM shop.todos WHERE title = $1", params=[secret])
    traced.api.query("INSERT INTO shop.todos (id, owner, title) VALUES (9, 'x', $1)",
                     params=[secret])  # fmt: skip
    traced.api.client.get(f"/rest/v1/todos?title=eq.{secret}&token={secret}", headers={
        **bearer(traced.api.admin_key), "Accept-Profile": "shop"})  # fmt: skip
    assert len(traced.spans()) > 10
    for span in traced.spans():
        assert secret not in span.name
        for key, value in (span.attributes or {}).items():
            assert secret not in str(value), (span.name, key)
            assert traced.api.admin_key not in str(value), (span.name, key)


def test_an_error_body_and_header_carry_the_trace_id(traced: Traced) -> None:
    response = traced.api.query("SELEC 1")
    assert response.status_code == 400
    detail = response.json()["error"]["detail"]
    assert detail["trace_id"] == response.headers["x-trace-id"]
    assert detail["trace_id"] == f"{traced.server_span().context.trace_id:032x}"
    missing = traced.api.client.get("/no/such/route")
    assert missing.json()["error"]["detail"]["trace_id"] == missing.headers["x-trace-id"]


def test_an_incoming_traceparent_is_continued(traced: Traced) -> None:
    parent = f"00-{PARENT_TRACE}-{PARENT_SPAN}-01"
    response = traced.api.client.get("/healthz", headers={"traceparent": parent})
    server = traced.server_span()
    assert f"{server.context.trace_id:032x}" == PARENT_TRACE
    assert server.parent is not None and server.parent.is_remote
    assert f"{server.parent.span_id:016x}" == PARENT_SPAN
    assert response.headers["x-trace-id"] == PARENT_TRACE


def test_the_sampling_decision_of_the_parent_wins(tmp_path: Path) -> None:
    never = TelemetrySettings(UNUSED_ENDPOINT, sampler="parentbased_traceidratio", ratio=0.0)
    for traced in traced_api(make_data_dir(tmp_path), never):
        traced.api.client.get("/healthz")
        assert traced.spans() == []
        sampled = f"00-{PARENT_TRACE}-{PARENT_SPAN}-01"
        response = traced.api.client.get("/healthz", headers={"traceparent": sampled})
        assert [s.name for s in traced.spans()] == ["GET /healthz"]
        assert response.headers["x-trace-id"] == PARENT_TRACE
        traced.exporter.clear()
        unsampled = f"00-{PARENT_TRACE}-{PARENT_SPAN}-00"
        response = traced.api.client.get("/healthz", headers={"traceparent": unsampled})
        assert traced.spans() == []
        assert response.headers["x-trace-id"] == PARENT_TRACE


def test_a_request_the_sampler_drops_still_has_its_trace_id(tmp_path: Path) -> None:
    never = TelemetrySettings(UNUSED_ENDPOINT, sampler="parentbased_traceidratio", ratio=0.0)
    for traced in traced_api(make_data_dir(tmp_path), never):
        response = traced.api.query("SELEC 1")
        trace_id = response.headers["x-trace-id"]
        assert len(trace_id) == 32 and int(trace_id, 16) != 0
        assert response.headers["traceresponse"].startswith(f"00-{trace_id}-")
        assert response.headers["traceresponse"].endswith("-00")
        assert response.json()["error"]["detail"]["trace_id"] == trace_id
        assert traced.spans() == []


def test_without_tracing_nothing_is_added(tmp_path: Path) -> None:
    assert not tracing.enabled()
    for api in open_api(make_data_dir(tmp_path)):
        response = api.query("SELEC 1")
        assert "x-trace-id" not in response.headers
        assert "trace_id" not in response.json()["error"].get("detail", {})


def test_the_wiring_traces_only_when_an_endpoint_is_set(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path)
    plain = build_server(Settings(ServerConfig(data_dir=root)))
    try:
        assert plain.tracer_provider is None and not isinstance(plain.app, TracedApp)
        assert not tracing.enabled()
    finally:
        plain.close()
    traced = build_server(Settings(ServerConfig(data_dir=root), telemetry=ON))
    try:
        assert traced.tracer_provider is not None and isinstance(traced.app, TracedApp)
        assert tracing.enabled()
    finally:
        traced.close()
    assert not tracing.enabled()
