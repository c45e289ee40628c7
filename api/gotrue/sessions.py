"""Sessions: opening one (a row, a refresh token, an access token), rotating its refresh
token, and the row images that end sessions."""

from __future__ import annotations

import secrets
import sqlite3
import time
import uuid
from dataclasses import dataclass
from typing import Any

from api.auth.tokens import HS256
from api.gotrue import shapes, state
from api.gotrue.door import Door
from api.gotrue.errors import user_not_found
from api.gotrue.records import delete, put, token_hash
from api.gotrue.state import Row


@dataclass(frozen=True)
class Opened:
    """A session about to be committed: its row images and what the client is told."""

    ops: list[dict[str, Any]]
    session_id: str
    refresh_token: str


def new_refresh(
    door: Door, session_id: str, user_id: str, now: float
) -> tuple[str, dict[str, Any]]:
    """A fresh refresh token (256 random bits) and the row image of its hash."""
    token = secrets.token_urlsafe(32)
    row = {
        "hash": token_hash(token), "session_id": session_id, "user_id": user_id,
        "namespace": door.namespace, "created_at": now, "revoked_at": None,
    }  # fmt: skip
    return token, put("refresh_tokens", row)


def open_session(door: Door, user: Row, identities: list[Row], now: float) -> Opened:
    """A new session for `user` signing in now; also stamps `last_sign_in_at`."""
    session_id = str(uuid.uuid4())
    session = {
        "id": session_id, "user_id": user["id"], "namespace": door.namespace,
        "created_at": now, "updated_at": now, "refreshed_at": None,
    }  # fmt: skip
    token, refresh_op = new_refresh(door, session_id, user["id"], now)
    ops = [put("users", {**user.values, "last_sign_in_at": now}), put("sessions", session)]
    ops += [put("identities", {**i.values, "last_sign_in_at": now}) for i in identities]
    return Opened([*ops, refresh_op], session_id, token)


def ended(session_ids: list[str]) -> list[dict[str, Any]]:
    """Row images ending these sessions and every refresh token of theirs."""
    ops: list[dict[str, Any]] = []
    for session_id in session_ids:
        ops += [delete("sessions", id=session_id), delete("refresh_tokens", session_id=session_id)]
    return ops


def answer(
    door: Door, user: Row, identities: list[Row], session_id: str, refresh: str
) -> dict[str, Any]:
    """The session body: a new access token (our user JWT, role `authenticated`) for it."""
    now = int(time.time())
    ttl = door.settings.access_token_ttl_s
    user_body = shapes.user(user, identities, door.aud)
    claims = {
        "email": user["email"], "phone": "", "session_id": session_id,
        "app_metadata": user_body["app_metadata"], "user_metadata": user_body["user_metadata"],
        "aal": "aal1", "amr": [{"method": "password", "timestamp": now}], "is_anonymous": False,
    }  # fmt: skip
    access = door.backend.tokens.mint(
        user["id"], "authenticated", door.namespace, ttl, claims, algorithm=HS256, now_s=now
    )
    return shapes.session(access, refresh, ttl, now, user_body)


async def reload(door: Door, user_id: str) -> tuple[Row, list[Row]]:
    """A user and their identities as committed."""

    def work(conn: sqlite3.Connection) -> tuple[Row | None, list[Row]]:
        return state.user_by_id(conn, door.namespace, user_id), state.identities(conn, user_id)

    user, identities = await door.read(work)
    if user is None:  # deleted by an admin since this request committed
        raise user_not_found()
    return user, identities
