"""A primary whose oldest segments were pruned with no archive to fetch them from refuses a
resume into them with 400 before streaming (as a replica does for records before its seed),
and still replays everything after them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http.conftest import Api, bearer, make_data_dir, open_api
from tests.realtime.conftest import Stream

ROWS = 40


@pytest.fixture
def pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, int]]:
    """A served primary with small segments, the oldest of which are pruned; the last
    pruned LSN."""
    for name in ("BKG_S3_ENDPOINT", "BKG_S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    for api in open_api(make_data_dir(tmp_path), segment_bytes=4096):
        api.ok("CREATE TABLE padded (id INTEGER PRIMARY KEY, pad TEXT)")
        for i in range(ROWS):
            api.ok("INSERT INTO padded (id, pad) VALUES ($1, $2)", params=[i, "x" * 300])
        log = api.backend.db.log
        through = log.sealed_manifests[1].last_lsn
        assert log.prune(through)
        yield api, through


def test_a_resume_into_pruned_segments_is_refused_and_later_ones_replay(
    pruned: tuple[Api, int],
) -> None:
    api, through = pruned
    head = api.head
    headers = bearer(api.admin_key)
    for too_old in ({"from_lsn": 1}, {"from_lsn": through}):
        refused = api.client.get(
            "/realtime", params={**too_old, "until_lsn": head}, headers=headers
        )
        assert refused.status_code == 400, refused.text
        assert "older than the history" in refused.json()["error"]["message"]
    old_id = api.client.get(
        "/realtime",
        params={"until_lsn": head},
        headers={**headers, "Last-Event-ID": f"{through}.0"},
    )
    assert old_id.status_code == 400, old_id.text
    served = api.client.get(
        "/realtime", params={"from_lsn": through + 1, "until_lsn": head}, headers=headers
    )
    assert served.status_code == 200, served.text
    stream = Stream(served, served.iter_lines())
    assert stream.next().event == "subscribed"
    lsns = []
    while (event := stream.next()).event != "end":
        lsns.append(event.data["lsn"])
    expected = [r.lsn for r in api.backend.db.log.read(through + 1) if r.kind in ("ddl", "dml")]
    assert lsns == expected and lsns[-1] == head
