"""Users and sessions in GoTrue's shapes, which the Supabase clients validate (pydantic
`User`, `Session`, `UserIdentity` of `supabase_auth.types`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from api.gotrue.state import Row

PROVIDER = "email"


def iso(seconds: float | None) -> str | None:
    """A time as GoTrue writes it (RFC 3339, UTC)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(float(seconds), UTC).isoformat().replace("+00:00", "Z")


def metadata(text: str | None) -> dict[str, Any]:
    loaded = json.loads(text) if text else {}
    return loaded if isinstance(loaded, dict) else {}


def app_metadata(user: Row) -> dict[str, Any]:
    """`provider`/`providers` (always `email` here) over what an admin set."""
    return {**metadata(user["app_metadata"]), "provider": PROVIDER, "providers": [PROVIDER]}


def identity(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "identity_id": row["id"],
        "user_id": row["user_id"],
        "identity_data": metadata(row["identity_data"]),
        "provider": row["provider"],
        "created_at": iso(row["created_at"]),
        "last_sign_in_at": iso(row["last_sign_in_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def user(row: Row, identities: list[Row], aud: str) -> dict[str, Any]:
    """A user as `GET /auth/v1/user` answers it."""
    return {
        "id": row["id"],
        "aud": aud,
        "role": "authenticated",
        "email": row["email"],
        "email_confirmed_at": iso(row["email_confirmed_at"]),
        "phone": "",
        "confirmed_at": iso(row["email_confirmed_at"]),
        "last_sign_in_at": iso(row["last_sign_in_at"]),
        "app_metadata": app_metadata(row),
        "user_metadata": metadata(row["user_metadata"]),
        "identities": [identity(i) for i in identities],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "is_anonymous": False,
    }


def session(
    access_token: str, refresh_token: str, ttl_s: int, issued_at: int, user_body: dict[str, Any]
) -> dict[str, Any]:
    """A session as the token, sign-up and verify endpoints answer it."""
    return {
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": ttl_s,
        "expires_at": issued_at + ttl_s,
        "refresh_token": refresh_token,
        "user": user_body,
    }
