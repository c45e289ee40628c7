"""Accounts are records of the log: after the projection is deleted and rebuilt by `bkgdb
rebuild` in a process of its own, a server on the directory signs the same users in and
honours (and still polices) the same refresh tokens."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.runner import bkgdb
from tests.gotrue.conftest import admin_post
from tests.http.conftest import serving


def test_users_and_sessions_survive_a_fresh_process_rebuild(tmp_path: Path) -> None:
    root = tmp_path / "data"
    with serving(root) as served:
        anon = admin_post(served, "/auth/keys", {"scope": "anon", "namespace": "public"})["key"]
        auth = f"{served.url}/auth/v1"
        signup = {"email": "rae@example.com", "password": "pass-word", "data": {"k": "v"}}
        first = httpx.post(f"{auth}/signup", json=signup, headers={"apikey": anon}).json()
        spent = first["refresh_token"]
        body = {"refresh_token": spent}
        second = httpx.post(
            f"{auth}/token?grant_type=refresh_token", json=body, headers={"apikey": anon}
        )
        live = second.json()["refresh_token"]
        admin_key = served.admin_key
    (root / "projections" / "store.sqlite").unlink()
    rebuilt = bkgdb(root, "rebuild", "--from-scratch", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    with serving(root, admin_key=admin_key) as served:
        auth = f"{served.url}/auth/v1"
        headers = {"apikey": anon}
        signin = {"email": "rae@example.com", "password": "pass-word"}
        again = httpx.post(f"{auth}/token?grant_type=password", json=signin, headers=headers)
        assert again.status_code == 200, again.text
        assert again.json()["user"]["user_metadata"] == {"k": "v"}
        assert again.json()["user"]["id"] == first["user"]["id"]
        token = f"{auth}/token?grant_type=refresh_token"
        rotated = httpx.post(token, json={"refresh_token": live}, headers=headers)
        assert rotated.status_code == 200, rotated.text
        replayed = httpx.post(token, json={"refresh_token": spent}, headers=headers)
        assert replayed.json()["error_code"] == "refresh_token_already_used"
