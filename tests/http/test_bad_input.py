"""Bad input of every kind gets a clear error in the catalogue's shape and changes nothing:
no 500, no stack trace, the log's head LSN unchanged."""

from __future__ import annotations

import httpx
import pytest

from tests.http.conftest import Api, bearer

WRITE_ROUTES = [
    ("POST", "/query"),
    ("POST", "/auth/token"),
    ("POST", "/auth/keys"),
    ("POST", "/auth/keys/abc/rotate"),
    ("POST", "/policy"),
]
BAD_BODIES = [
    b"{bad json",
    b"\xff\xfe\xfa",
    b'{"sql": "\xff"}',
    b"[]",
    b"null",
    b"42",
    b'{"sql": 1}',
    b'{"sql": "SELECT 1", "params": "x"}',
    b'{"sql": "SELECT 1", "as_of_lsn": "yesterday"}',
    b'{"statements": [{"params": [1]}]}',
    b'{"scope": ["admin"]}',
    b'{"name": 1, "table": 2, "actions": 3}',
    b'{"unknown_field": true}',
]
ALL_ROUTES = [
    ("POST", "/query"),
    ("GET", "/schema"),
    ("POST", "/auth/keys"),
    ("GET", "/auth/keys"),
    ("DELETE", "/auth/keys/abc"),
    ("POST", "/auth/keys/abc/rotate"),
    ("GET", "/policy"),
    ("POST", "/policy"),
    ("DELETE", "/policy/own"),
]
BAD_TOKENS = [
    "",
    "garbage",
    "bkg_admin_short",
    "bkg_admin_" + "A" * 40,
    "bkg_namespace_" + "B" * 40,
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "a.b.c",
    "\u00e9\u00e9",
]


def _assert_error_shape(response: httpx.Response, status: int | None = None) -> None:
    assert response.status_code < 500, response.text
    if status is not None:
        assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "detail"}
    assert "Traceback" not in response.text


@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES)
def test_malformed_bodies_are_refused(shop: Api, method: str, path: str) -> None:
    before = shop.head
    headers = {**bearer(shop.admin_key), "content-type": "application/json"}
    for body in BAD_BODIES:
        response = shop.client.request(method, path, content=body, headers=headers)
        _assert_error_shape(response)
        assert response.status_code in (400, 401, 403, 404, 422), (body, response.text)
    assert shop.head == before


def test_huge_body_is_refused_before_parsing(shop: Api) -> None:
    before = shop.head
    big = b'{"sql": "SELECT 1", "params": ["' + b"x" * (2 << 20) + b'"]}'
    headers = {**bearer(shop.admin_key), "content-type": "application/json"}
    response = shop.client.post("/query", content=big, headers=headers)
    _assert_error_shape(response, 413)
    assert shop.head == before


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
def test_every_authenticated_route_refuses_bad_tokens(shop: Api, method: str, path: str) -> None:
    before = shop.head
    for token in BAD_TOKENS:
        headers = {b"authorization": f"Bearer {token}".encode()}
        response = shop.client.request(method, path, json={"sql": "SELECT 1"}, headers=headers)
        _assert_error_shape(response, 401)
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
    response = shop.client.request(method, path, json={})
    _assert_error_shape(response, 401)
    response = shop.client.request(method, path, headers={"Authorization": "Basic YTpi"})
    _assert_error_shape(response, 401)
    assert shop.head == before


def test_unknown_route_and_method(shop: Api) -> None:
    _assert_error_shape(shop.client.get("/nowhere", headers=bearer(shop.admin_key)), 404)
    response = shop.client.put("/query", json={}, headers=bearer(shop.admin_key))
    _assert_error_shape(response, 405)


def test_bad_key_ids_and_policy_names(shop: Api) -> None:
    before = shop.head
    headers = bearer(shop.admin_key)
    for key_id in ("nope", "../../etc", "%00", "x" * 500):
        _assert_error_shape(shop.client.delete(f"/auth/keys/{key_id}", headers=headers), 404)
        response = shop.client.post(f"/auth/keys/{key_id}/rotate", json={}, headers=headers)
        _assert_error_shape(response, 404)
    _assert_error_shape(shop.client.delete("/policy/nope", headers=headers), 404)
    response = shop.client.delete("/policy/own?namespace=NOT%20valid", headers=headers)
    _assert_error_shape(response, 404)
    assert shop.head == before


def test_invalid_idempotency_key(shop: Api) -> None:
    headers = {**bearer(shop.admin_key), "Idempotency-Key": "k" * 300}
    response = shop.client.post("/query", json={"sql": "DELETE FROM shop.notes"}, headers=headers)
    _assert_error_shape(response, 400)
    assert shop.rows("SELECT count(*) FROM shop.notes") == [[2]]
