"""An identity is never a pattern: with the own-folder object policy the docs recommend
(``starts_with(name, auth.uid() || '/')``), users whose ids differ from ``u1`` only by case or
by LIKE wildcards (``U1``, ``_1``, ``%``) can neither read, list, sign, overwrite nor delete
``u1``'s files; and LIKE itself is case-sensitive, as in Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http.conftest import Api, bearer, make_data_dir, open_api
from tests.storage.test_http import OWN_FOLDER, put

INTRUDERS = ["U1", "_1", "%", "u_", "u%"]


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """Namespace `shop` with its private bucket `files`, holding `u1/secret.txt`."""
    monkeypatch.setenv("BKG_ARCHIVE", "off")
    for served in open_api(make_data_dir(tmp_path)):
        served.ok("CREATE SCHEMA shop")
        key = served.create_key("namespace", "shop")["key"]
        created = served.client.post(
            "/storage/buckets", json={"name": "files"}, headers=bearer(key)
        )
        assert created.status_code == 201, created.text
        yield served


def _attempts(api: Api, token: str) -> dict[str, int]:
    """Status of every way to reach u1's file."""
    path = "/storage/objects/files/u1/secret.txt"
    signed = api.client.post(
        "/storage/sign/files/u1/secret.txt", json={"expires_in": 60, "method": "GET"},
        headers=bearer(token),
    )  # fmt: skip
    listed = api.client.get("/storage/objects/files?prefix=u1/", headers=bearer(token)).json()
    return {
        "get": api.client.get(path, headers=bearer(token)).status_code,
        "sign": signed.status_code,
        "list": len(listed["objects"]),
        "overwrite": put(api, token, "files/u1/secret.txt", b"forged").status_code,
        "delete": api.client.delete(path, headers=bearer(token)).status_code,
    }


@pytest.mark.parametrize("intruder", INTRUDERS)
def test_lookalike_ids_cannot_reach_another_users_folder(api: Api, intruder: str) -> None:
    api.add_policy(OWN_FOLDER)
    owner = api.user_token("u1")
    assert put(api, owner, "files/u1/secret.txt", b"mine").status_code == 200
    head = api.head
    token = api.user_token(intruder)
    denied = {"get": 403, "sign": 403, "list": 0, "overwrite": 403, "delete": 403}
    assert _attempts(api, token) == denied
    assert api.head == head  # nothing was written
    got = api.client.get("/storage/objects/files/u1/secret.txt", headers=bearer(owner))
    assert got.content == b"mine"
    assert put(api, token, f"files/{intruder}/own.txt", b"ok").status_code == 200


def test_like_compares_case_sensitively_in_policies(api: Api) -> None:
    api.add_policy({**OWN_FOLDER, "using": "name LIKE 'u1/%'", "check": "name LIKE 'u1/%'"})
    assert put(api, api.user_token("u1"), "files/u1/secret.txt", b"mine").status_code == 200
    assert put(api, api.user_token("U1"), "files/U1/x.txt", b"x").status_code == 403
    shouting = api.client.get(
        "/storage/objects/files/U1/x.txt", headers=bearer(api.user_token("u1"))
    )
    assert shouting.status_code in (403, 404)
