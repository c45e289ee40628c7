"""Caps per principal: open `/realtime` streams of namespace keys and users (429), active
API keys per namespace and in all (409), unfinished resumable uploads (409). Each is
counted by identity (kind, namespace, id), refuses with a clear error that appends
nothing, and frees up when the principal lets go of what it holds."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth.errors import RateLimitedError
from api.auth.slots import Slots
from tests.cli.runner import bkgdb
from tests.http.conftest import Api, bearer, make_data_dir, open_api, serving


def test_slots_count_per_key_and_release_once() -> None:
    slots = Slots(2, "open realtime streams")
    first, second = slots.acquire("a"), slots.acquire("a")
    with pytest.raises(RateLimitedError, match="at most 2 open realtime streams"):
        slots.acquire("a")
    slots.acquire("b")
    first()
    first()
    assert slots.held("a") == 1
    slots.acquire("a")
    second()
    assert slots.held("a") == 1
    unlimited = Slots(0, "streams")
    for _ in range(100):
        unlimited.acquire("a")


def _stream(client: httpx.Client, url: str, token: str, stack: ExitStack) -> httpx.Response:
    """Open a stream and read its first line (the subscription is then live); its line
    iterator is kept until the stack closes, because dropping it would close the response."""
    params = {"access_token": token, "heartbeat": "0.1"}
    response = stack.enter_context(client.stream("GET", f"{url}/realtime", params=params))
    if response.status_code == 200:
        lines = response.iter_lines()
        next(lines)
        stack.callback(lambda: lines)
    return response


def test_open_streams_are_capped_per_principal(tmp_path: Path) -> None:
    env = {"BKG_MAX_STREAMS_PER_PRINCIPAL": "2", "BKG_ARCHIVE": "off"}
    with serving(tmp_path / "data", env) as served, httpx.Client(timeout=20) as client:
        admin = bearer(served.admin_key)
        for ns in ("shop", "other"):
            made = client.post(
                f"{served.url}/query", json={"sql": f"CREATE SCHEMA {ns}"}, headers=admin
            )
            assert made.status_code == 200, made.text

        def token(ns: str) -> str:
            body = {"sub": "u1", "ns": ns}
            got = client.post(f"{served.url}/auth/token", json=body, headers=admin)
            return str(got.json()["access_token"])

        shop, other = token("shop"), token("other")
        with ExitStack() as stack:
            first = _stream(client, served.url, shop, stack)
            assert _stream(client, served.url, shop, stack).status_code == 200
            refused = _stream(client, served.url, shop, stack)
            assert refused.status_code == 429
            refused.read()
            assert refused.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
            assert int(refused.headers["retry-after"]) >= 1
            assert _stream(client, served.url, other, stack).status_code == 200
            for _ in range(3):  # admins are not capped
                assert _stream(client, served.url, served.admin_key, stack).status_code == 200
            first.close()
            deadline = time.monotonic() + 10
            while True:
                again = _stream(client, served.url, shop, stack)
                if again.status_code == 200 or time.monotonic() > deadline:
                    break
                again.close()
                time.sleep(0.2)
            assert again.status_code == 200


@pytest.fixture
def capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("BKG_ARCHIVE", "off")
    monkeypatch.setenv("BKG_STORAGE_MAX_PENDING_UPLOADS", "2")
    root = make_data_dir(tmp_path)
    for api in open_api(root, max_keys_per_namespace=2, max_keys=4):
        api.ok("CREATE SCHEMA shop")
        api.ok("CREATE SCHEMA other")
        yield api


def _create(api: Api, token: str, **body: Any) -> httpx.Response:
    return api.client.post("/auth/keys", json=body, headers=bearer(token))


def test_active_keys_are_capped_per_namespace_and_in_all(capped: Api) -> None:
    api = capped
    key = api.create_key("namespace", "shop")
    assert _create(api, key["key"], scope="namespace").status_code == 201
    head = api.head
    refused = _create(api, key["key"], scope="namespace")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "CONFLICT"
    assert error["detail"] == {"limit": "max_keys_per_namespace", "value": 2}
    assert api.head == head
    api.create_key("namespace", "other")
    total = _create(api, api.admin_key, scope="namespace", namespace="other")
    assert total.status_code == 409
    assert total.json()["error"]["detail"] == {"limit": "max_keys", "value": 4}
    revoked = api.client.delete(f"/auth/keys/{key['id']}", headers=bearer(api.admin_key))
    assert revoked.status_code == 200
    assert _create(api, api.admin_key, scope="namespace", namespace="shop").status_code == 201


def _start_upload(api: Api, token: str, name: str) -> httpx.Response:
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"bucket": "files", "name": name}.items()
    )
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": "4", "Upload-Metadata": meta}
    return api.client.post("/storage/uploads", headers={**bearer(token), **headers})


def test_unfinished_uploads_are_capped_per_principal(capped: Api) -> None:
    api = capped
    key = api.create_key("namespace", "shop")["key"]
    made = api.client.post("/storage/buckets", json={"name": "files"}, headers=bearer(key))
    assert made.status_code == 201, made.text
    api.add_policy(
        {"name": "mine", "table": "storage.objects", "actions": ["insert"], "check": "true"}
    )
    user = api.user_token("u1", "shop")
    started = [_start_upload(api, user, f"u1/{i}") for i in range(2)]
    assert [r.status_code for r in started] == [201, 201]
    refused = _start_upload(api, user, "u1/2")
    assert refused.status_code == 409, refused.text
    assert "unfinished uploads" in refused.json()["error"]["message"]
    assert _start_upload(api, key, "k/0").status_code == 201
    gone = api.client.delete(
        started[0].headers["location"], headers={**bearer(user), "Tus-Resumable": "1.0.0"}
    )
    assert gone.status_code == 204
    assert _start_upload(api, user, "u1/3").status_code == 201


@pytest.mark.parametrize("value", ["-1", "many"])
def test_a_bad_cap_is_a_usage_error(tmp_path: Path, value: str) -> None:
    done = bkgdb(tmp_path / "data", "serve", "--max-keys", value)
    assert done.returncode == 2
    assert "--max-keys" in done.stderr and "Traceback" not in done.stderr
