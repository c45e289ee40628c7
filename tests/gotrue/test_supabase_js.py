"""`@supabase/supabase-js` (the pin and install of tests/rest/test_supabase_js.py, under the
machine's Node) as one application against a real `bkgdb serve` with the anon key only: two
users sign up and in, refresh, read and update themselves, write their own todos under
row-level security (a forged owner refused with 42501), hear their own inserts over
`/realtime/v1` within a second and never the other's, keep a file in their own folder of a
private bucket, and sign out. The scenario runs once (`js/app.mjs`); each test asserts a
group of its steps."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gotrue.conftest import SECRET, SERVE_ARGS, set_up
from tests.http.conftest import free_port, serving
from tests.rest.test_supabase_js import _run, client_dir
from tests.storage_v1.conftest import OWN_FOLDER, admin_post

__all__ = ["client_dir"]
SCRIPT = Path(__file__).parent / "js" / "app.mjs"
BUCKET = "files"


@pytest.fixture(scope="module")
def steps(client_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    shutil.copyfile(SCRIPT, client_dir / "gotrue_app.mjs")
    hook_port = free_port()  # the scenario's own webhook receiver (password recovery)
    hook = f"http://127.0.0.1:{hook_port}/hook"
    args = [*SERVE_ARGS, "--webhook-url", hook, "--webhook-secret", SECRET]
    with serving(tmp_path_factory.mktemp("gotrue-js") / "data", args=args) as served:
        keys = set_up(served)
        admin_post(served, "/policy", OWN_FOLDER)
        service = {"apikey": keys["service"], "Authorization": f"Bearer {keys['service']}"}
        bucket = httpx.post(
            f"{served.url}/storage/v1/bucket", json={"name": BUCKET}, headers=service
        )
        assert bucket.status_code == 200, bucket.text
        config = {
            "url": served.url, "anon_key": keys["anon"], "service_key": keys["service"],
            "bucket": BUCKET, "hook_port": hook_port, "hook_secret": SECRET,
        }  # fmt: skip
        command = ["node", "--experimental-websocket", "gotrue_app.mjs", json.dumps(config)]
        ran = _run(command, client_dir, 120)
        assert ran.returncode == 0, ran.stderr[-3000:]
        outcome: dict[str, Any] = json.loads(ran.stdout.strip().splitlines()[-1])
        yield outcome


def ok(steps: dict[str, Any], name: str) -> Any:
    assert steps[name]["error"] is None, (name, steps[name])
    return steps[name]["data"]


def refused(steps: dict[str, Any], name: str) -> dict[str, Any]:
    error: dict[str, Any] | None = steps[name]["error"]
    assert error is not None, (name, steps[name])
    return error


def test_sign_up_and_sign_in(steps: dict[str, Any]) -> None:
    signed = ok(steps, "signUpAlice")
    user = signed["user"]
    assert user["email"] == "alice@example.com" and user["user_metadata"] == {"n": 1}
    assert user["role"] == "authenticated" and user["app_metadata"]["provider"] == "email"
    assert signed["session"]["token_type"] == "bearer"
    assert signed["session"]["expires_in"] == 3600 and signed["session"]["expires_at"]
    assert ok(steps, "signUpBob")["session"]["user"]["email"] == "bob@example.com"
    taken = refused(steps, "signUpTaken")
    assert (taken["status"], taken["code"]) == (422, "user_already_exists")
    wrong = refused(steps, "wrongPassword")
    assert (wrong["status"], wrong["code"]) == (400, "invalid_credentials")
    assert wrong["name"] == "AuthApiError"
    carol = ok(steps, "signUpPkce")["session"]["user"]
    assert ok(steps, "signInPkce")["session"]["user"]["id"] == carol["id"]
    assert ok(steps, "changeEmail")["user"]["email"] == "carol@example.org"  # no mail: at once
    assert ok(steps, "signInNewEmail")["user"]["id"] == carol["id"]
    ok(steps, "signOutOthers")
    assert ok(steps, "userAfterSignOutOthers")["user"]["id"] == carol["id"]
    session = ok(steps, "signIn")["session"]
    assert session["user"]["id"] == steps["ids"]["alice"]
    assert steps["ids"]["alice"] != steps["ids"]["bob"]


def test_refresh_get_and_update_user(steps: dict[str, Any]) -> None:
    refreshed = ok(steps, "refresh")["session"]
    assert refreshed["user"]["id"] == steps["ids"]["alice"]
    assert steps["refreshRotated"] is True and steps["sessionAfterRefresh"] is True
    assert ok(steps, "getUser")["user"]["email"] == "alice@example.com"
    assert ok(steps, "updateUser")["user"]["user_metadata"] == {"n": 1, "theme": "dark"}
    assert ok(steps, "getUserAfterUpdate")["user"]["user_metadata"] == {"n": 1, "theme": "dark"}
    claims = ok(steps, "getClaims")["claims"]  # checked by the server through GET /user
    assert claims["sub"] == steps["ids"]["alice"] and claims["role"] == "authenticated"
    assert claims["email"] == "alice@example.com" and claims["session_id"]
    assert claims["user_metadata"] == {"n": 1}  # as issued: an update changes no token (GoTrue)
    assert {"SIGNED_IN", "TOKEN_REFRESHED", "USER_UPDATED", "SIGNED_OUT"} <= set(
        steps["events"]["alice"]
    )


def test_each_user_sees_only_its_rows(steps: dict[str, Any]) -> None:
    ids = steps["ids"]
    assert ok(steps, "insertAlice") == [{"id": 1, "owner": ids["alice"]}]
    assert ok(steps, "insertBob") == [{"id": 2}]
    assert ok(steps, "selectAlice") == [{"id": 1, "owner": ids["alice"]}]
    assert ok(steps, "selectBob") == [{"id": 2}]
    forged = refused(steps, "forged")
    assert forged["code"] == "42501" and steps["forged"]["status"] == 403


def test_realtime_delivers_own_inserts_only(steps: dict[str, Any]) -> None:
    assert steps["states"] == {"alice": "SUBSCRIBED", "bob": "SUBSCRIBED"}
    assert ok(steps, "refreshSubscribed")["session"]["user"]["id"] == steps["ids"]["alice"]
    ids = steps["ids"]
    assert steps["heard"] == {
        "alice": [{"id": 1, "owner": ids["alice"], "eventType": "INSERT"}],
        "bob": [{"id": 2, "owner": ids["bob"], "eventType": "INSERT"}],
    }
    assert steps["heardMs"]["alice"] < 1000 and steps["heardMs"]["bob"] < 1000


def test_storage_in_the_users_own_folder(steps: dict[str, Any]) -> None:
    alice = steps["ids"]["alice"]
    assert ok(steps, "aliceUpload")["fullPath"] == f"{BUCKET}/{alice}/note.txt"
    assert steps["aliceDownload"] == {"data": "alice notes", "error": None}
    assert [e["name"] for e in ok(steps, "aliceList")] == ["note.txt"]
    assert refused(steps, "aliceForeignUpload")
    assert steps["bobDownloadsAlice"]["data"] is None
    assert steps["bobDownloadsAlice"]["error"] in ("400", "403", "404")
    assert ok(steps, "bobList") == []


def test_sign_out(steps: dict[str, Any]) -> None:
    ok(steps, "signOut")
    assert steps["sessionAfterSignOut"] is None
    spent = refused(steps, "refreshAfterSignOut")
    assert spent["status"] == 400
    gone = refused(steps, "getUserAfterSignOut")
    assert (
        gone["name"] == "AuthSessionMissingError"
    )  # the client's reading of a 403 session_not_found
    assert ok(steps, "signInAgain")["session"]["user"]["id"] == steps["ids"]["alice"]


def test_admin_pages_through_users(steps: dict[str, Any]) -> None:
    first = ok(steps, "listUsers")  # alice, bob, carol
    assert [u["email"] for u in first["users"]] == ["alice@example.com", "bob@example.com"]
    assert (first["total"], first["nextPage"], first["lastPage"]) == (3, 2, 2)
    last = ok(steps, "listUsersLast")
    assert [u["email"] for u in last["users"]] == ["carol@example.org"]
    assert (last["total"], last["nextPage"], last["lastPage"]) == (3, None, 2)


def test_admin_manages_a_user(steps: dict[str, Any]) -> None:
    created = ok(steps, "adminCreate")["user"]
    assert created["email"] == "dan@example.com" and created["user_metadata"] == {"team": "a"}
    updated = ok(steps, "adminUpdate")["user"]
    assert updated["app_metadata"]["plan"] == "pro"
    assert ok(steps, "adminGet")["user"]["app_metadata"]["plan"] == "pro"
    ok(steps, "adminDelete")
    gone = refused(steps, "adminGetDeleted")
    assert (gone["status"], gone["code"]) == (404, "user_not_found")


def test_weak_password_reasons(steps: dict[str, Any]) -> None:
    weak = refused(steps, "weakPassword")
    assert (weak["name"], weak["status"], weak["code"]) == (
        "AuthWeakPasswordError",
        422,
        "weak_password",
    )


def test_password_recovery_through_the_webhook(steps: dict[str, Any]) -> None:
    assert ok(steps, "recover") == {}
    verified = ok(steps, "verifyRecovery")
    assert verified["session"]["user"]["email"] == "bob@example.com"
    ok(steps, "newPassword")
    assert ok(steps, "signInNewPassword")["user"]["id"] == steps["ids"]["bob"]
