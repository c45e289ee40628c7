"""Any object name through `/storage/v1`, in-process: stored under exactly that name (and
read back, listed, signed) when the names module accepts it, otherwise refused with a
Supabase-shaped 400 and nothing appended. Every segment is percent-encoded, dots too, so
that no client or router normalises the path before the server sees it."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.storage.errors import InvalidKeyError
from api.storage.names import check_object_name
from tests.http.conftest import Api, bearer, make_data_dir, open_api

ALPHABET = st.sampled_from(["a", "B", "/", ".", "..", "\\", "\x00", "\n", "%", "%2F", " ",
                            "+", "?", "#", "é", "☃", "~", "&", "=", ";"])  # fmt: skip
NAMES = st.lists(ALPHABET, min_size=0, max_size=12).map("".join)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for api in open_api(make_data_dir(tmp_path_factory.mktemp("names"))):
        created = api.client.post(
            "/storage/v1/bucket", json={"id": "names"}, headers=bearer(api.admin_key)
        )
        assert created.status_code == 200, created.text
        yield api


def encoded(name: str) -> str:
    return "/".join(quote(part, safe="").replace(".", "%2E") for part in name.split("/"))


def accepted(name: str) -> bool:
    try:
        check_object_name(name)
    except InvalidKeyError:
        return False
    return True


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=NAMES)
def test_a_name_is_stored_exactly_or_refused(served: Api, name: str) -> None:
    client, auth = served.client, bearer(served.admin_key)
    head = served.head
    path = f"/storage/v1/object/names/{encoded(name)}"
    sent = client.post(path, content=b"body", headers={**auth, "x-upsert": "true"})
    if not accepted(name):
        assert sent.status_code in (400, 404), (name, sent.text)
        assert sent.json()["statusCode"] == str(sent.status_code)
        assert served.head == head
        return
    assert sent.status_code == 200, (name, sent.text)
    assert sent.json()["Key"] == f"names/{name}"
    assert client.get(path, headers=auth).content == b"body"
    info = client.get(f"/storage/v1/object/info/names/{encoded(name)}", headers=auth)
    assert info.json()["name"] == name
    signed = client.post(f"/storage/v1/object/sign/names/{encoded(name)}", json={"expiresIn": 60},
                         headers=auth)  # fmt: skip
    url = signed.json()["signedURL"]
    assert client.get(f"/storage/v1{url}").content == b"body"
    removed = client.request("DELETE", "/storage/v1/object/names", json={"prefixes": [name]},
                             headers=auth)  # fmt: skip
    assert [r["name"] for r in removed.json()] == [name]
