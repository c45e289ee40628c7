"""`GET /audit` and `POST /audit/verify` over the trail the server's audit consumer writes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventlog.keyless import bundle_path
from projections.consumers.audit import AuditOptions
from projections.consumers.audit_files import audit_files, seal_path
from projections.consumers.audit_verify import trail_lines
from projections.consumers.service import ConsumerService
from tests.http.conftest import Api, bearer, make_data_dir, open_api
from tests.sigstore_support import GENUINE_BUNDLE


class Audited:
    """A served shop whose audit trail is written by the real consumer, in small files."""

    def __init__(self, api: Api, service: ConsumerService) -> None:
        self.api, self.service = api, service

    @property
    def directory(self) -> Path:
        return self.api.backend.db.data.audit

    def settle(self) -> None:
        assert self.service.runners[0].wait_until(self.api.head, timeout=20)

    def get(self, token: str | None = None, **params: Any) -> Any:
        self.settle()
        response = self.api.client.get(
            "/audit", params=params, headers=bearer(token or self.api.admin_key)
        )
        assert response.status_code == 200, response.text
        return response.json()

    def verify(self) -> dict[str, Any]:
        self.settle()
        response = self.api.client.post("/audit/verify", headers=bearer(self.api.admin_key))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def audited(tmp_path: Path) -> Iterator[Audited]:
    for api in open_api(make_data_dir(tmp_path)):
        db = api.backend.db
        service = ConsumerService.for_log(
            db.log, db.data.consumers, db.data.audit, audit_options=AuditOptions(max_bytes=1500)
        )
        service.start()
        try:
            api.setup_shop()
            api.ok("UPDATE shop.todos SET title = 'done' WHERE id = 1")
            api.ok("DELETE FROM shop.notes WHERE id = 2")
            yield Audited(api, service)
        finally:
            service.stop()


def test_admin_sees_the_ddl_and_dml_it_made(audited: Audited) -> None:
    page = audited.get(limit=1000)
    items = page["items"]
    assert page["next_cursor"] is None
    assert [i["lsn"] for i in items] == list(range(1, audited.api.head + 1))
    assert items == list(trail_lines(audited.directory))
    mine = [i for i in items if i["kind"] in ("ddl", "dml") and i["lsn"] > 3]
    statements = [s for i in mine for s in i["statements"]]
    assert any(s.startswith("CREATE TABLE shop.todos") for s in statements)
    assert any(s.startswith("DELETE FROM shop.notes") for s in statements)
    actors = {i["actor"] for i in mine}
    assert len(actors) == 1 and actors.pop().startswith("key:")
    update = next(i for i in mine if any(s.startswith("UPDATE") for s in i["statements"]))
    assert update["tables"] == ["shop.todos"] and update["rows"] == 1


def test_filters_select_on_the_server(audited: Audited) -> None:
    every = audited.get(limit=1000)["items"]
    notes = audited.get(table="shop.notes")["items"]
    assert notes == [i for i in every if "shop.notes" in i["tables"]] and len(notes) >= 3
    ddl = audited.get(kind="ddl")["items"]
    assert ddl == [i for i in every if i["kind"] == "ddl"] and len(ddl) >= 5
    actor = every[-1]["actor"]
    assert audited.get(actor=actor)["items"] == [i for i in every if i["actor"] == actor]
    assert audited.get(actor="user:nobody")["items"] == []
    window = audited.get(from_lsn=4, to_lsn=7)["items"]
    assert [i["lsn"] for i in window] == [4, 5, 6, 7]


def test_pages_join_up_without_gap_or_repeat(audited: Audited) -> None:
    every = audited.get(limit=1000)["items"]
    walked: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = audited.get(**params)
        assert len(page["items"]) <= 3
        walked += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == every
    first = audited.get(limit=2, table="shop.todos")
    second = audited.get(limit=2, table="shop.todos", cursor=first["next_cursor"])
    todos = [i for i in every if "shop.todos" in i["tables"]]
    assert first["items"] + second["items"] == todos[:4]


def test_bad_parameters_are_refused(audited: Audited) -> None:
    headers = bearer(audited.api.admin_key)
    for params, status in (
        ({"limit": 0}, 422),
        ({"limit": 1001}, 422),
        ({"cursor": "abc"}, 400),
    ):
        response = audited.api.client.get("/audit", params=params, headers=headers)
        assert response.status_code == status, response.text
        assert "code" in response.json()["error"]


def test_only_admins_may_read_or_verify(audited: Audited) -> None:
    api = audited.api
    namespace_key = api.create_key("namespace", "shop")["key"]
    user = api.user_token("alice")
    for token in (namespace_key, user):
        for method, path in (("GET", "/audit"), ("POST", "/audit/verify")):
            response = api.client.request(method, path, headers=bearer(token))
            assert response.status_code == 403, response.text
            assert response.json()["error"]["code"] == "FORBIDDEN"
    assert api.client.get("/audit").status_code == 401


def test_verify_reports_ok_then_the_modified_file(audited: Audited) -> None:
    result = audited.verify()
    sealed = [p for p in audit_files(audited.directory) if seal_path(p).exists()]
    assert result["ok"] is True and len(sealed) >= 2
    assert [f["name"] for f in result["files"]] == [p.name for p in sealed]
    assert all(f["verified"] and f["lines"] > 0 for f in result["files"])
    victim = sealed[1]
    lines = victim.read_text().splitlines()
    changed = json.loads(lines[0])
    changed["actor"] = "someone else"
    lines[0] = json.dumps(changed, sort_keys=True)
    victim.write_text("\n".join(lines) + "\n")
    result = audited.verify()
    assert result["ok"] is False
    status = {f["name"]: f for f in result["files"]}
    assert status[victim.name]["verified"] is False and status[victim.name]["error"]
    assert all(f["verified"] for name, f in status.items() if name != victim.name)


def test_verify_fails_a_file_whose_bundle_was_made_for_other_bytes(audited: Audited) -> None:
    audited.settle()
    sealed = [p for p in audit_files(audited.directory) if seal_path(p).exists()]
    victim = sealed[0]
    shutil.copyfile(GENUINE_BUNDLE, bundle_path(seal_path(victim)))
    result = audited.verify()
    assert result["ok"] is False
    status = {f["name"]: f for f in result["files"]}
    assert status[victim.name]["verified"] is False
    assert "sigstore bundle does not verify" in status[victim.name]["error"]
    assert all(f["verified"] and f["keyless"] is None for f in result["files"][1:])
