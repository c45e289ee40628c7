"""`/auth/v1` served in-process: the per-address sign-in budget, any JSON a client may send
to sign-up and sign-in (never a 5xx, never a record when refused), and sign-up without
automatic confirmation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.gotrue.settings import AccountSettings
from tests.http.conftest import Api, make_data_dir, open_api

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
BODIES = st.fixed_dictionaries(
    {},
    optional={
        "email": st.one_of(JSON, st.emails().map(str)),
        "password": st.one_of(JSON, st.text(min_size=0, max_size=12)),
        "data": JSON,
    },
)


def served(tmp_path: Path, **config: Any) -> Iterator[tuple[Api, dict[str, str]]]:
    for api in open_api(make_data_dir(tmp_path), **config):
        yield api, {"apikey": api.create_key("anon", "public")["key"]}


@pytest.fixture
def anon_api(tmp_path: Path) -> Iterator[tuple[Api, dict[str, str]]]:
    yield from served(tmp_path)


def test_sign_in_attempts_are_limited_per_client_address(tmp_path: Path) -> None:
    for api, headers in served(tmp_path, rate_limits={"sign_in_address": 3}):
        head = api.head
        statuses = [
            api.client.post(
                "/auth/v1/token?grant_type=password",
                json={"email": f"u{n}@example.com", "password": "pass-word"},
                headers=headers,
            ).status_code
            for n in range(5)
        ]
        assert statuses == [400, 400, 400, 429, 429]
        assert api.head == head


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODIES, path=st.sampled_from(["signup", "token?grant_type=password", "recover"]))
def test_any_json_gets_an_answer_and_refusals_write_nothing(
    anon_api: tuple[Api, dict[str, str]], body: dict[str, Any], path: str
) -> None:
    api, headers = anon_api
    head = api.head
    response = api.client.post(f"/auth/v1/{path}", json=body, headers=headers)
    assert response.status_code in (200, 400, 413, 422, 429), response.text
    if response.status_code != 200:
        assert set(response.json()) >= {"code", "error_code", "msg"}
        assert api.head == head


def test_the_shared_anon_key_budget_does_not_cap_sign_ups(tmp_path: Path) -> None:
    for api, headers in served(tmp_path, rate_limits={"anon": 2, "sign_in_address": 100}):
        for n in range(4):
            body = {"email": f"v{n}@example.com", "password": "pass-word"}
            signed = api.client.post("/auth/v1/signup", json=body, headers=headers)
            assert signed.status_code == 200, signed.text


def test_deeply_nested_bodies_are_refused(anon_api: tuple[Api, dict[str, str]]) -> None:
    api, headers = anon_api
    head = api.head
    for depth in (40, 600, 200_000):
        data = "[" * depth + "]" * depth
        body = f'{{"email": "w@example.com", "password": "pass-word", "data": {{"d": {data}}}}}'
        answer = api.client.post("/auth/v1/signup", content=body.encode(), headers=headers)
        assert answer.status_code == 400, answer.text
    for body in (
        '{"email": "w@example.com", "password": "pass-\\ud800-word"}',
        '{"email": "w\\udfff@example.com", "password": "pass-word"}',
        '{"email": "w@example.com", "password": "pass-word", "data": {"\\ud800": 1}}',
    ):
        answer = api.client.post("/auth/v1/signup", content=body.encode(), headers=headers)
        assert answer.status_code == 400, answer.text
    assert api.head == head


def test_without_autoconfirm_a_new_user_waits_for_an_admin(tmp_path: Path) -> None:
    config = AccountSettings(autoconfirm=False)
    for api, headers in served(tmp_path, accounts=config):
        signed = api.client.post(
            "/auth/v1/signup",
            json={"email": "pat@example.com", "password": "pass-word"},
            headers=headers,
        )
        assert signed.status_code == 200 and "access_token" not in signed.json()
        assert signed.json()["email_confirmed_at"] is None
        attempt = {"email": "pat@example.com", "password": "pass-word"}
        token = "/auth/v1/token?grant_type=password"
        refused = api.client.post(token, json=attempt, headers=headers)
        assert refused.json()["error_code"] == "invalid_credentials"
        service = {"apikey": api.create_key("namespace", "public")["key"]}
        user_id = signed.json()["id"]
        confirmed = api.client.put(
            f"/auth/v1/admin/users/{user_id}", json={"email_confirm": True}, headers=service
        )
        assert confirmed.json()["email_confirmed_at"] is not None
        assert api.client.post(token, json=attempt, headers=headers).status_code == 200


def test_the_accounts_tables_are_out_of_reach_of_sql(anon_api: tuple[Api, dict[str, str]]) -> None:
    api, headers = anon_api
    api.client.post(
        "/auth/v1/signup",
        json={"email": "quinn@example.com", "password": "pass-word"},
        headers=headers,
    )
    service = api.create_key("namespace", "public")["key"]
    for sql in ("SELECT * FROM _bkg_auth_users", "SELECT * FROM public._bkg_auth_users"):
        for token in (service, api.admin_key):
            response = api.query(sql, token)
            assert response.status_code >= 400, response.text
