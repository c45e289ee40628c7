"""Object metadata that is not a JSON object -- in a TUS `Upload-Metadata` header or in
`x-bkg-metadata` -- is a 400 in the error envelope and stores nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.http.conftest import Api, bearer, make_data_dir, open_api

NOT_OBJECTS = ["[]", "[1, 2]", "1", '"text"', "null", "true", "{bad", "", "[" * 5000 + "]" * 5000]


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, str]]:
    """A served directory with namespace `shop`, its key and private bucket `files`."""
    monkeypatch.setenv("BKG_ARCHIVE", "off")
    for api in open_api(make_data_dir(tmp_path)):
        api.ok("CREATE SCHEMA shop")
        key = api.create_key("namespace", "shop")["key"]
        created = api.client.post("/storage/buckets", json={"name": "files"}, headers=bearer(key))
        assert created.status_code == 201, created.text
        yield api, key


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _tus(api: Api, key: str, metadata: str) -> int:
    fields = {"bucket": "files", "name": "a.bin", "metadata": metadata}
    header = ",".join(f"{k} {_b64(v)}" for k, v in fields.items())
    headers = {**bearer(key), "Tus-Resumable": "1.0.0", "Upload-Length": "3"}
    response = api.client.post("/storage/uploads", headers={**headers, "Upload-Metadata": header})
    if response.status_code != 201:
        assert response.json()["error"]["code"] == "BAD_REQUEST", response.text
    return response.status_code


@pytest.mark.parametrize("metadata", NOT_OBJECTS)
def test_non_object_metadata_is_a_400(files: tuple[Api, str], metadata: str) -> None:
    api, key = files
    before = api.head
    assert _tus(api, key, metadata) == 400
    put = api.client.put(
        "/storage/objects/files/b.bin",
        content=b"abc",
        headers={**bearer(key), "x-bkg-metadata": metadata},
    )
    assert put.status_code == 400, put.text
    assert put.json()["error"]["code"] == "BAD_REQUEST"
    assert api.head == before


def test_object_metadata_is_accepted(files: tuple[Api, str]) -> None:
    api, key = files
    assert _tus(api, key, '{"tag": [1, 2]}') == 201


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5), st.lists))
def test_tus_metadata_is_an_object_or_a_400(files: tuple[Api, str], value: object) -> None:
    api, key = files
    assert _tus(api, key, json.dumps(value)) == 400
