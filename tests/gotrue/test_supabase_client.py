"""The official `supabase` Python client (2.34) signs users up and in against a real
`bkgdb serve`, unmodified: sessions, refresh, the user, sign-out, the admin API with a
namespace key, and password recovery through the webhook; each user's access token then
runs `/rest/v1` as that user under the table's policies."""

from __future__ import annotations

import httpx
import pytest
from postgrest.exceptions import APIError
from supabase_auth.errors import AuthApiError

from tests.gotrue.conftest import Project

pytestmark = pytest.mark.filterwarnings(
    # supabase 2.34 passes its own default timeouts through deprecated parameters
    "ignore:The 'timeout' parameter is deprecated:DeprecationWarning",
    "ignore:The 'verify' parameter is deprecated:DeprecationWarning",
)


def test_two_users_sign_up_in_and_see_only_their_rows(project: Project) -> None:
    alice, bob = project.client("anon"), project.client("anon")
    signed = alice.auth.sign_up(
        {"email": "Alice@Example.com", "password": "alice-pass", "options": {"data": {"n": 1}}}
    )
    assert signed.session is not None and signed.user is not None
    assert signed.user.email == "alice@example.com"
    assert signed.user.user_metadata == {"n": 1}
    assert signed.user.app_metadata["provider"] == "email"
    assert signed.user.identities and signed.user.identities[0].provider == "email"
    assert signed.user.email_confirmed_at is not None  # no mail server: confirmed at once
    bob.auth.sign_up({"email": "bob@example.com", "password": "bob-pass"})

    session = alice.auth.sign_in_with_password(
        {"email": "alice@example.com", "password": "alice-pass"}
    ).session
    assert session is not None and session.token_type == "bearer"
    assert session.expires_at and session.expires_in == 3600
    alice_id = session.user.id
    bob_user = bob.auth.get_user()
    assert bob_user is not None
    bob_id = bob_user.user.id

    alice.table("todos").insert({"id": 1, "owner": alice_id, "title": "a"}).execute()
    bob.table("todos").insert({"id": 2, "owner": bob_id, "title": "b"}).execute()
    assert alice.table("todos").select("id, owner").execute().data == [{"id": 1, "owner": alice_id}]
    assert [r["id"] for r in bob.table("todos").select("id").execute().data] == [2]
    head = project.head()
    with pytest.raises(APIError) as caught:
        alice.table("todos").insert({"id": 3, "owner": bob_id, "title": "forged"}).execute()
    assert caught.value.code == "42501"
    assert project.head() == head


def test_refresh_update_and_sign_out(project: Project) -> None:
    client = project.client("anon")
    first = client.auth.sign_up({"email": "dora@example.com", "password": "dora-pass"}).session
    assert first is not None
    refreshed = client.auth.refresh_session().session
    assert refreshed is not None
    assert refreshed.refresh_token != first.refresh_token
    assert refreshed.user.id == first.user.id
    updated = client.auth.update_user({"data": {"theme": "dark"}}).user
    assert updated.user_metadata == {"theme": "dark"}
    client.auth.update_user({"data": {"theme": None, "lang": "fr"}})
    found = client.auth.get_user()
    assert found is not None and found.user.user_metadata == {"lang": "fr"}
    client.auth.update_user({"password": "dora-pass-2"})
    client.auth.sign_out()
    assert client.auth.get_session() is None
    # the session is gone: its refresh token and access token are refused by /auth/v1
    spent = project.auth(
        "POST", "token?grant_type=refresh_token", json={"refresh_token": refreshed.refresh_token}
    )
    assert spent.status_code == 400
    assert (
        project.auth(
            "GET", "user", headers={"Authorization": f"Bearer {refreshed.access_token}"}
        ).status_code
        == 403
    )
    again = client.auth.sign_in_with_password(
        {"email": "dora@example.com", "password": "dora-pass-2"}
    )
    assert again.session is not None


def test_admin_api_with_a_namespace_key(project: Project) -> None:
    admin = project.client("service").auth.admin
    created = admin.create_user(
        {"email": "erin@example.com", "password": "erin-pass", "email_confirm": True,
         "user_metadata": {"team": "a"}, "app_metadata": {"plan": "pro"}}
    ).user  # fmt: skip
    assert created.email == "erin@example.com"
    assert created.app_metadata["plan"] == "pro" and created.app_metadata["provider"] == "email"
    assert created.email in [u.email for u in admin.list_users()]
    assert admin.get_user_by_id(created.id).user.user_metadata == {"team": "a"}
    changed = admin.update_user_by_id(created.id, {"user_metadata": {"team": "b"}}).user
    assert changed.user_metadata == {"team": "b"}

    erin = project.client("anon")
    session = erin.auth.sign_in_with_password(
        {"email": "erin@example.com", "password": "erin-pass"}
    )
    assert session.session is not None
    erin.table("todos").insert({"id": 20, "owner": created.id, "title": "e"}).execute()
    admin.delete_user(created.id)
    with pytest.raises(AuthApiError) as caught:
        erin.auth.sign_in_with_password({"email": "erin@example.com", "password": "erin-pass"})
    assert caught.value.code == "invalid_credentials"
    refresh = project.auth(
        "POST",
        "token?grant_type=refresh_token",
        json={"refresh_token": session.session.refresh_token},
    )
    assert refresh.status_code == 400  # the user's sessions went with them
    service = project.client("service")
    assert service.table("todos").select("id").eq("id", 20).execute().data == [{"id": 20}]
    with pytest.raises(AuthApiError) as refused:
        admin.get_user_by_id("00000000-0000-4000-8000-000000000000")
    assert refused.value.status == 404


def test_admin_api_refuses_an_anon_key(project: Project) -> None:
    with pytest.raises(AuthApiError) as caught:
        project.client("anon").auth.admin.list_users()
    assert (caught.value.status, caught.value.code) == (403, "not_admin")


def test_recovery_token_by_webhook_then_verify(project: Project) -> None:
    client = project.client("anon")
    client.auth.sign_up({"email": "fay@example.com", "password": "fay-pass"})
    client.auth.sign_out()
    client.auth.reset_password_for_email("fay@example.com")
    delivered = project.hook("user.recovery_requested", "fay@example.com")
    assert delivered["namespace"] == "public" and delivered["type"] == "recovery"
    verified = client.auth.verify_otp(
        {"email": "fay@example.com", "token": delivered["token"], "type": "recovery"}
    )
    assert verified.session is not None and verified.user is not None
    client.auth.update_user({"password": "fay-new-pass"})
    with pytest.raises(AuthApiError) as caught:
        client.auth.verify_otp(
            {"email": "fay@example.com", "token": delivered["token"], "type": "recovery"}
        )
    assert caught.value.code == "otp_expired"  # one time only
    fresh = project.client("anon")
    assert fresh.auth.sign_in_with_password(
        {"email": "fay@example.com", "password": "fay-new-pass"}
    ).session


def test_recovering_an_unknown_email_looks_the_same_and_writes_nothing(project: Project) -> None:
    head = project.head()
    answer = project.auth("POST", "recover", json={"email": "nobody@example.com"})
    known = project.client("anon")
    known.auth.sign_up({"email": "gil@example.com", "password": "gil-pass"})
    known_answer = project.auth("POST", "recover", json={"email": "gil@example.com"})
    assert (answer.status_code, answer.json()) == (known_answer.status_code, known_answer.json())
    assert project.head() == head + 2  # the sign-up and gil's recovery, nothing for nobody


def test_settings(project: Project) -> None:
    settings = httpx.get(f"{project.served.url}/auth/v1/settings").json()
    assert settings["external"]["email"] is True and settings["mailer_autoconfirm"] is True


def test_admin_list_carries_gotrue_pagination_headers(project: Project) -> None:
    """supabase-js reads `total`, `nextPage` and `lastPage` of `admin.listUsers` from these."""
    for n in range(3):
        project.auth("POST", "admin/users", "service", json={"email": f"page{n}@example.com"})
    total = len(project.client("service").auth.admin.list_users(per_page=1000))
    assert total >= 3
    first = project.auth("GET", "admin/users?page=1&per_page=2", "service")
    assert first.headers["x-total-count"] == str(total)
    last = (total + 1) // 2
    assert first.headers["link"] == (
        f'</auth/v1/admin/users?page=2&per_page=2>; rel="next", '
        f'</auth/v1/admin/users?page={last}&per_page=2>; rel="last"'
    )
    final = project.auth("GET", f"admin/users?page={last}&per_page=2", "service")
    assert final.headers["link"] == f'</auth/v1/admin/users?page={last}&per_page=2>; rel="last"'
    assert len(final.json()["users"]) == total - 2 * (last - 1)
