"""Rate limits per principal: 429 with Retry-After, counted in /metrics, nothing appended."""

from __future__ import annotations

from pathlib import Path

from tests.http.conftest import bearer, make_data_dir, open_api


def test_each_principal_has_its_own_budget(tmp_path: Path) -> None:
    gen = open_api(make_data_dir(tmp_path), rate_limits={"admin": 5, "namespace": 3})
    api = next(gen)
    api.ok("CREATE SCHEMA shop")
    key = api.create_key("namespace", "shop")["key"]
    statuses = [api.query("SELECT 1").status_code for _ in range(6)]
    assert statuses.count(429) >= 3 and statuses[0] == 200
    refused = api.query("SELECT 1")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert int(refused.headers["Retry-After"]) >= 1
    head = api.head
    write = api.query("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    assert write.status_code == 429 and api.head == head
    assert [api.query("SELECT 1", key).status_code for _ in range(4)] == [200, 200, 200, 429]
    text = api.client.get("/metrics").text
    assert 'bkg_rate_limit_rejections_total{kind="admin"}' in text
    assert 'bkg_rate_limit_rejections_total{kind="namespace"} 1' in text
    assert api.client.get("/healthz", headers=bearer(api.admin_key)).status_code == 200
    gen.close()
