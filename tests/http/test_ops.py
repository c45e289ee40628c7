"""/healthz, /metrics (with and without a token), the OpenAPI document and its UI, and the
documentation of every route."""

from __future__ import annotations

import re
from pathlib import Path

from tests.http.conftest import Api, bearer, make_data_dir, open_api

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_healthz_needs_no_token_and_reports_lsns(api: Api) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "head_lsn": api.head, "applied_lsn": api.head}


def test_metrics_report_requests_lsns_commits_and_groups(shop: Api) -> None:
    shop.query("SELECT nope FROM shop.todos")
    text = shop.client.get("/metrics").text
    assert 'bkg_http_requests_total{route="/query",method="POST",status="200"}' in text
    assert 'bkg_http_requests_total{route="/query",method="POST",status="422"} 1' in text
    assert (
        'bkg_http_request_duration_seconds_bucket{route="/query",method="POST",status="200",le="+Inf"}'
        in text
    )
    assert f"bkg_log_head_lsn {shop.head}" in text
    assert f"bkg_projection_applied_lsn {shop.head}" in text
    assert "bkg_projection_lag_records 0" in text
    commits = re.search(r"^bkg_commit_latency_seconds_count (\d+)$", text, re.M)
    assert commits is not None and int(commits.group(1)) >= 8
    groups = re.search(r"^bkg_log_group_commit_records_sum (\d+)$", text, re.M)
    assert groups is not None and int(groups.group(1)) >= 10
    assert "# TYPE bkg_rate_limit_rejections_total counter" in text


def test_metrics_token_is_required_when_configured(tmp_path: Path) -> None:
    gen = open_api(make_data_dir(tmp_path), metrics_token="s3cret")
    api = next(gen)
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/metrics", headers=bearer("wrong")).status_code == 401
    assert api.client.get("/metrics", headers=bearer("s3cret")).status_code == 200
    gen.close()


def test_openapi_document_and_ui(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/query" in document["paths"] and "/schema" in document["paths"]
    stream = document["paths"]["/realtime"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert api.client.get("/docs").status_code == 200
    assert "html" in api.client.get("/docs").headers["content-type"]


def test_every_route_is_documented(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    text = DOCS.read_text()
    routes = {*document["paths"], "/openapi.json", "/docs"}
    missing = [
        f"{method.upper()} {path}"
        for path in routes
        for method in document["paths"].get(path, {"get": None})
        if f"{method.upper()} {path}" not in text
    ]
    assert missing == []


def test_metrics_report_segments_and_the_newest_checkpoint(shop: Api) -> None:
    before = shop.client.get("/metrics").text
    assert re.search(r"^bkg_log_segments 1$", before, re.M)
    size = re.search(r"^bkg_log_bytes (\d+)$", before, re.M)
    assert size is not None and int(size.group(1)) > 0
    assert "\nbkg_checkpoint_lsn " not in before  # no checkpoint yet: no sample
    checkpoint = shop.backend.db.checkpoint()
    after = shop.client.get("/metrics").text
    assert f"\nbkg_checkpoint_lsn {checkpoint.lsn}\n" in after
    age = re.search(r"^bkg_checkpoint_age_seconds ([0-9.e-]+)$", after, re.M)
    assert age is not None and 0 <= float(age.group(1)) < 60
