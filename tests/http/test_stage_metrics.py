"""`bkg_http_request_stage_seconds`: every request is counted in the stages it went through
(the body's receive and the reader hop for `/query`, the commit wait for its writes, the
server's send and the loop for all), and the stages add up to the request's duration."""

from __future__ import annotations

import re

import pytest

from api.stages import STAGES
from tests.http.conftest import Api

STAGE = re.compile(
    r'^bkg_http_request_stage_seconds_(?P<what>count|sum)\{route="(?P<route>[^"]+)",'
    r'method="(?P<method>[A-Z]+)",stage="(?P<stage>[a-z_]+)"\} (?P<value>\S+)$',
    re.M,
)
DURATION_SUM = re.compile(
    r'^bkg_http_request_duration_seconds_sum\{route="(?P<route>[^"]+)",'
    r'method="(?P<method>[A-Z]+)",status="\d+"\} (?P<value>\S+)$',
    re.M,
)
Series = dict[tuple[str, str, str, str], float]


def scrape(api: Api) -> tuple[Series, dict[tuple[str, str], float]]:
    """Stage counts and sums by (what, route, method, stage); duration sums by route."""
    text = api.client.get("/metrics").text
    stages = {
        (m["what"], m["route"], m["method"], m["stage"]): float(m["value"])
        for m in STAGE.finditer(text)
    }
    durations: dict[tuple[str, str], float] = {}
    for m in DURATION_SUM.finditer(text):
        key = (m["route"], m["method"])
        durations[key] = durations.get(key, 0.0) + float(m["value"])
    return stages, durations


def counted(before: Series, after: Series, route: str, method: str) -> dict[str, float]:
    """Requests newly counted in each stage of one route."""
    return {
        stage: after.get(("count", route, method, stage), 0.0)
        - before.get(("count", route, method, stage), 0.0)
        for stage in STAGES
    }


def test_each_request_is_counted_in_the_stages_it_went_through(api: Api) -> None:
    api.ok("CREATE TABLE t (id bigint PRIMARY KEY, v text)")
    before, _ = scrape(api)
    for n in range(3):
        api.ok("INSERT INTO t (id, v) VALUES ($1, 'x')", params=[n])
    for n in range(5):
        assert api.rows("SELECT v FROM t WHERE id = $1", params=[n % 3]) == [["x"]]
    for _ in range(4):
        assert api.client.get("/healthz").status_code == 200
    after, _ = scrape(api)
    query = counted(before, after, "/query", "POST")
    assert query == {
        "receive": 8,  # each body was read
        "reader_queue": 8,
        "reader": 8,
        "reader_return": 8,
        "commit": 3,  # only the writes waited for the commit pipeline
        "send": 8,
        "loop": 8,
    }
    healthz = counted(before, after, "/healthz", "GET")
    assert healthz == {stage: (4 if stage in ("send", "loop") else 0) for stage in STAGES}


def test_the_stages_add_up_to_the_request_duration(api: Api) -> None:
    api.ok("CREATE TABLE t (id bigint PRIMARY KEY)")
    for n in range(10):
        api.ok("INSERT INTO t (id) VALUES ($1)", params=[n])
        api.rows("SELECT id FROM t WHERE id = $1", params=[n])
    stages, durations = scrape(api)
    total = sum(
        v for (what, route, _, _), v in stages.items() if what == "sum" and route == "/query"
    )
    assert stages["sum", "/query", "POST", "commit"] > 0
    assert stages["sum", "/query", "POST", "reader"] > 0
    assert total == pytest.approx(durations["/query", "POST"], rel=1e-6)
