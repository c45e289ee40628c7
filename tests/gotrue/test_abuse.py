"""A hostile client at `/auth/v1` of a real `bkgdb serve`: wrong and weak passwords,
brute force, replayed refresh tokens, enormous metadata, tokens carried to another
namespace, forged tokens, malformed bodies. Each gets GoTrue's error and, except a replayed
refresh token (whose answer is to end its session), appends nothing."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError

from tests.gotrue.conftest import Project

pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'timeout' parameter is deprecated:DeprecationWarning",
    "ignore:The 'verify' parameter is deprecated:DeprecationWarning",
)


def sign_up(project: Project, email: str, key: str = "anon") -> dict[str, Any]:
    response = project.auth("POST", "signup", key, json={"email": email, "password": "pass-word"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(project: Project, token: str, key: str = "anon") -> httpx.Response:
    return project.auth(
        "POST", "token?grant_type=refresh_token", key, json={"refresh_token": token}
    )


def me(project: Project, access: str, key: str = "anon") -> httpx.Response:
    return project.auth("GET", "user", key, headers={"Authorization": f"Bearer {access}"})


def test_a_wrong_password_reads_as_an_unknown_email(project: Project) -> None:
    sign_up(project, "hal@example.com")
    head = project.head()
    answers = [
        project.auth("POST", "token?grant_type=password", json={"email": e, "password": p})
        for e, p in (("hal@example.com", "wrong-one"), ("nobody@example.com", "pass-word"))
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["error_code"] == "invalid_credentials"
    with pytest.raises(AuthApiError) as caught:
        project.client("anon").auth.sign_in_with_password(
            {"email": "hal@example.com", "password": "wrong-one"}
        )
    assert caught.value.message == "Invalid login credentials"
    assert project.head() == head


def test_weak_passwords_and_bad_bodies_are_refused(project: Project) -> None:
    head = project.head()
    client = project.client("anon")
    with pytest.raises(AuthWeakPasswordError) as caught:
        client.auth.sign_up({"email": "ivy@example.com", "password": "12345"})
    assert (caught.value.status, caught.value.reasons) == (422, ["length"])
    for weak in ("", None, "1234"):
        answer = project.auth("POST", "signup", json={"email": "ivy@example.com", "password": weak})
        assert answer.status_code == 422
        assert answer.json()["weak_password"]["reasons"] == ["length"]
    for body in (
        b"not json",
        b"[1, 2]",
        b'{"email": 5, "password": "pass-word"}',
        b'{"email": "no-at-sign", "password": "pass-word"}',
        b'{"email": "a@b.c", "password": ["x"]}',
        b'{"email": "a@b.c", "password": "pass-word", "data": [1]}',
    ):
        answer = project.auth("POST", "signup", content=body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error_code"] == "validation_failed"
    assert project.head() == head


def test_brute_force_is_rate_limited_per_email(project: Project) -> None:
    sign_up(project, "jay@example.com")
    head = project.head()
    attempt = {"email": "jay@example.com", "password": "guess"}
    statuses = [
        project.auth("POST", "token?grant_type=password", json=attempt).status_code
        for _ in range(8)
    ]
    assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}
    right = {"email": "jay@example.com", "password": "pass-word"}
    limited = project.auth("POST", "token?grant_type=password", json=right)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error_code"] == "over_request_rate_limit"
    assert project.head() == head
    sign_up(project, "kim@example.com")  # another email is not held back
    other = {"email": "kim@example.com", "password": "pass-word"}
    assert project.auth("POST", "token?grant_type=password", json=other).status_code == 200


def test_a_replayed_refresh_token_revokes_the_session(project: Project) -> None:
    first = sign_up(project, "lee@example.com")
    second = refresh(project, first["refresh_token"])
    assert second.status_code == 200
    head = project.head()
    replayed = refresh(project, first["refresh_token"])
    assert replayed.status_code == 400
    assert replayed.json()["error_code"] == "refresh_token_already_used"
    assert project.head() == head + 1  # the revocation, nothing else
    assert refresh(project, second.json()["refresh_token"]).status_code == 400
    assert me(project, second.json()["access_token"]).status_code == 403
    assert refresh(project, "made-up-token").status_code == 400
    assert project.head() == head + 1


def test_enormous_metadata_is_refused(project: Project) -> None:
    head = project.head()
    big = {"blob": "x" * 20_000}
    answer = project.auth(
        "POST", "signup", json={"email": "mo@example.com", "password": "pass-word", "data": big}
    )
    assert answer.status_code == 422
    huge = {"email": "mo@example.com", "password": "pass-word", "data": {"b": "x" * 2_000_000}}
    assert project.auth("POST", "signup", json=huge).status_code == 413
    admin = project.client("service").auth.admin
    with pytest.raises(AuthApiError):
        admin.create_user({"email": "mo@example.com", "app_metadata": big})
    assert project.head() == head
    session = sign_up(project, "mo@example.com")
    head = project.head()
    grown = project.auth(
        "PUT",
        "user",
        json={"data": big},
        headers={"Authorization": f"Bearer {session['access_token']}"},
    )
    assert grown.status_code == 422
    assert project.head() == head


def test_tokens_of_one_namespace_are_useless_in_another(project: Project) -> None:
    public = sign_up(project, "ned@example.com")
    head = project.head()
    assert me(project, public["access_token"], "lib_anon").status_code == 403
    assert refresh(project, public["refresh_token"], "lib_anon").status_code == 400
    signin = {"email": "ned@example.com", "password": "pass-word"}
    wrong_ns = project.auth("POST", "token?grant_type=password", "lib_anon", json=signin)
    assert wrong_ns.status_code == 400
    lib_admin = project.client("lib_service").auth.admin
    assert "ned@example.com" not in [u.email for u in lib_admin.list_users()]
    with pytest.raises(AuthApiError):
        lib_admin.get_user_by_id(public["user"]["id"])
    rest = httpx.get(
        f"{project.served.url}/rest/v1/todos",
        headers={
            "apikey": project.keys["lib_anon"],
            "Authorization": f"Bearer {public['access_token']}",
            "Accept-Profile": "lib",
        },
    )
    assert rest.status_code in (401, 403, 406), rest.text
    assert project.head() == head
    lib = sign_up(project, "ned@example.com", "lib_anon")  # the same email, another user
    assert lib["user"]["id"] != public["user"]["id"]


def test_admin_pages_out_of_range_are_refused(project: Project) -> None:
    for query in ("page=0", "per_page=0", "per_page=100000", "page=" + "9" * 40, "page=x"):
        answer = project.auth("GET", f"admin/users?{query}", "service")
        assert answer.status_code == 400, (query, answer.text)
    assert (
        project.auth("GET", "admin/users?page=999999&per_page=1000", "service").json()["users"]
        == []
    )


def test_forged_and_misplaced_tokens_are_refused(project: Project) -> None:
    victim = sign_up(project, "oz@example.com")
    claims = jwt.decode(victim["access_token"], options={"verify_signature": False})
    forged = jwt.encode({**claims, "exp": int(time.time()) + 60}, "x" * 32, algorithm="HS256")
    none_alg = jwt.encode(claims, None, algorithm="none")
    head = project.head()
    for token in (forged, none_alg, "garbage"):
        assert me(project, token).status_code == 403
    assert me(project, project.keys["service"]).status_code == 401  # an API key is no session
    assert httpx.get(f"{project.served.url}/auth/v1/user").status_code == 401  # no apikey
    bad_key = project.auth("GET", "user", headers={"apikey": "bkg_not_a_key"})
    assert bad_key.status_code == 401
    assert project.head() == head
