"""CORS: off unless the operator names origins; then the Supabase clients in a browser page of
such an origin can call the doors, and pages of any other origin still cannot read answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.cli import build_parser
from api.cli.serve_command import serve_settings
from api.datadir import DataDir
from tests.http.conftest import Api, bearer, make_data_dir, open_api

APP = "http://app.example:3000"
PREFLIGHT = {
    "Origin": APP,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "apikey, authorization, content-type, prefer, x-client-info",
}


@pytest.fixture
def allowed(tmp_path: Path) -> Iterator[Api]:
    served = open_api(make_data_dir(tmp_path), cors_origins=(APP,))
    yield next(served)
    served.close()


def test_a_listed_origin_passes_the_preflight_and_reads_answers(allowed: Api) -> None:
    preflight = allowed.client.options("/rest/v1/items", headers=PREFLIGHT)
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == APP
    assert "POST" in preflight.headers["access-control-allow-methods"]
    asked = {h.strip() for h in PREFLIGHT["Access-Control-Request-Headers"].split(",")}
    allowed_headers = preflight.headers["access-control-allow-headers"].lower()
    assert allowed_headers == "*" or asked <= {h.strip() for h in allowed_headers.split(",")}
    answer = allowed.client.get("/healthz", headers={"Origin": APP})
    assert answer.headers["access-control-allow-origin"] == APP
    assert "content-range" in answer.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-credentials" not in answer.headers


def test_another_origin_gets_no_grant(allowed: Api) -> None:
    preflight = allowed.client.options(
        "/rest/v1/items", headers={**PREFLIGHT, "Origin": "http://evil.example"}
    )
    assert preflight.status_code >= 400
    assert "access-control-allow-origin" not in preflight.headers
    answer = allowed.client.get(
        "/query", headers={"Origin": "http://evil.example", **bearer(allowed.admin_key)}
    )
    assert "access-control-allow-origin" not in answer.headers


def test_cors_is_off_by_default(api: Api) -> None:
    answer = api.client.get("/healthz", headers={"Origin": APP})
    assert "access-control-allow-origin" not in answer.headers
    preflight = api.client.options("/rest/v1/items", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in preflight.headers


def test_the_flag_reads_a_comma_separated_list(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path)
    args = build_parser().parse_args(
        ["--data-dir", str(root), "serve", "--cors-origins", f" {APP}, https://b.example ,"]
    )
    settings = serve_settings(args, DataDir(root))
    assert settings.server.cors_origins == (APP, "https://b.example")
