"""`bkgdb serve` flags of the accounts: password length and confirmation by an admin, and
out-of-range values refused before the server starts."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.runner import bkgdb
from tests.gotrue.conftest import admin_post
from tests.http.conftest import serving


def test_password_length_and_confirmation_flags(tmp_path: Path) -> None:
    args = ["--auth-min-password-length", "10", "--auth-require-confirmation"]
    with serving(tmp_path / "data", args=args) as served:
        anon = admin_post(served, "/auth/keys", {"scope": "anon", "namespace": "public"})["key"]
        auth, headers = f"{served.url}/auth/v1", {"apikey": anon}
        assert httpx.get(f"{auth}/settings").json()["mailer_autoconfirm"] is False
        short = {"email": "sam@example.com", "password": "123456789"}
        assert httpx.post(f"{auth}/signup", json=short, headers=headers).status_code == 422
        long_enough = {"email": "sam@example.com", "password": "1234567890"}
        signed = httpx.post(f"{auth}/signup", json=long_enough, headers=headers).json()
        assert "access_token" not in signed and signed["confirmed_at"] is None


def test_out_of_range_flags_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "data"
    assert bkgdb(root, "init").returncode == 0
    for flag, value in (("--auth-min-password-length", "0"), ("--auth-access-token-ttl", "5")):
        done = bkgdb(root, "serve", "--port", "0", flag, value)
        assert done.returncode != 0 and flag in done.stderr
