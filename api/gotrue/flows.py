"""What an end user does: sign up, sign in, refresh, read and change themselves, sign out
(recovery is `api.gotrue.recovery`). Each flow validates everything before it reads, reads
before it writes, and appends at most one record; a refused request appends nothing
(except a replayed refresh token, whose answer is to end the session it belonged to)."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from typing import Any

from api.gotrue import inputs, shapes, state
from api.gotrue.door import Door
from api.gotrue.errors import GoTrueError, invalid_credentials
from api.gotrue.passwords import check_password, hash_password
from api.gotrue.records import put, record, token_hash
from api.gotrue.sessions import answer, ended, new_refresh, open_session, reload
from api.gotrue.state import Row


async def sign_up(door: Door, body: dict[str, Any]) -> dict[str, Any]:
    """A new user with an email identity; with `autoconfirm` (no mail server here) also a
    session, as GoTrue answers when confirmations are off."""
    settings = door.settings
    email = inputs.email(inputs.text(body, "email"), settings)
    password = inputs.password(inputs.text(body, "password"), settings)
    data = inputs.metadata(body.get("data"), "data", settings) or {}
    door.limit()
    hashed = await door.compute(lambda: hash_password(password))
    async with door.lock:
        if await door.read(lambda conn: state.user_by_email(conn, door.namespace, email)):
            raise GoTrueError(422, "user_already_exists", "User already registered")
        user, identity = new_user(door, email, hashed, data, {}, settings.autoconfirm)
        if not settings.autoconfirm:
            await door.commit(
                record("user.signed_up", put("users", user), put("identities", identity))
            )
            saved, identities = await reload(door, user["id"])
            return shapes.user(saved, identities, door.aud)
        opened = open_session(door, Row(user), [Row(identity)], time.time())
        await door.commit(record("user.signed_up", put("identities", identity), *opened.ops))
    saved, identities = await reload(door, user["id"])
    return answer(door, saved, identities, opened.session_id, opened.refresh_token)


def new_user(
    door: Door,
    email: str,
    password_hash: str | None,
    user_metadata: dict[str, Any],
    app_metadata: dict[str, Any],
    confirmed: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The row images of a new user and their email identity."""
    now = time.time()
    user_id = str(uuid.uuid4())
    user = {
        "id": user_id, "namespace": door.namespace, "email": email,
        "password_hash": password_hash, "user_metadata": json.dumps(user_metadata),
        "app_metadata": json.dumps(app_metadata), "created_at": now, "updated_at": now,
        "email_confirmed_at": now if confirmed else None, "last_sign_in_at": None,
    }  # fmt: skip
    identity_data = {"sub": user_id, "email": email, "email_verified": confirmed}
    identity = {
        "id": user_id, "user_id": user_id, "namespace": door.namespace, "provider": "email",
        "identity_data": json.dumps(identity_data), "created_at": now, "updated_at": now,
        "last_sign_in_at": None,
    }  # fmt: skip
    return user, identity


async def password_grant(door: Door, body: dict[str, Any]) -> dict[str, Any]:
    """Sign in with email and password; one answer for every failure (no such email, wrong
    password, unconfirmed), each attempt counted per email and per client address."""
    email = inputs.email(inputs.text(body, "email"), door.settings)
    password = inputs.text(body, "password") or ""
    if len(password) > door.settings.max_password_length:
        raise invalid_credentials()
    door.limit(email)

    user = await door.read(lambda conn: state.user_by_email(conn, door.namespace, email))
    stored = user["password_hash"] if user else None
    matches = await door.compute(lambda: check_password(stored, password))
    if user is None or not matches or user["email_confirmed_at"] is None:
        raise invalid_credentials()
    async with door.lock:  # the row images start from the user as committed now
        current, identities = await door.read(lambda conn: _with_identities(conn, door, user))
        if current is None or current["password_hash"] != stored:
            raise invalid_credentials()  # deleted or given a new password meanwhile
        opened = open_session(door, current, identities, time.time())
        await door.commit(record("user.signed_in", *opened.ops))
    saved, identities = await reload(door, user["id"])
    return answer(door, saved, identities, opened.session_id, opened.refresh_token)


def _with_identities(
    conn: sqlite3.Connection, door: Door, user: Row
) -> tuple[Row | None, list[Row]]:
    return state.user_by_id(conn, door.namespace, user["id"]), state.identities(conn, user["id"])


async def refresh_grant(door: Door, body: dict[str, Any]) -> dict[str, Any]:
    """Rotate a refresh token: the old one is spent, a new one issued with a new access
    token. Presenting a spent token again ends its session (GoTrue's reuse detection)."""
    token = inputs.text(body, "refresh_token")
    if not token or len(token) > 256:
        raise GoTrueError(
            400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
        )
    door.limit()
    hashed = token_hash(token)
    async with door.lock:
        found = await door.read(lambda conn: state.refresh_token(conn, door.namespace, hashed))
        if found is None:
            raise GoTrueError(
                400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
            )
        if found["revoked_at"] is not None:
            await door.commit(record("session.revoked_on_reuse", *ended([found["session_id"]])))
            raise GoTrueError(
                400, "refresh_token_already_used", "Invalid Refresh Token: Already Used"
            )
        now = time.time()
        session = await door.read(
            lambda conn: state.session(conn, door.namespace, found["session_id"])
        )
        if session is None:
            raise GoTrueError(400, "session_not_found", "Invalid Refresh Token: Session Not Found")
        new_token, new_op = new_refresh(door, session["id"], session["user_id"], now)
        ops = [
            put("refresh_tokens", {**found.values, "revoked_at": now}),
            put("sessions", {**session.values, "updated_at": now, "refreshed_at": now}),
            new_op,
        ]
        await door.commit(record("token.refreshed", *ops))
    user, identities = await reload(door, session["user_id"])
    return answer(door, user, identities, session["id"], new_token)


async def get_user(door: Door) -> dict[str, Any]:
    signed = await door.signed_in()
    identities = await door.read(lambda conn: state.identities(conn, signed.user["id"]))
    return shapes.user(signed.user, identities, door.aud)


async def update_user(door: Door, body: dict[str, Any]) -> dict[str, Any]:
    """Change one's email (applied at once: there is no mail to confirm it), password or
    `data` (merged into `user_metadata`, a null value removing its key)."""
    signed = await door.signed_in()
    settings = door.settings
    email = inputs.text(body, "email")
    new_email = inputs.email(email, settings) if email is not None else None
    password = inputs.text(body, "password")
    if password is not None:
        inputs.password(password, settings)
    data = inputs.metadata(body.get("data"), "data", settings)
    hashed = await door.compute(lambda: hash_password(password)) if password is not None else None
    async with door.lock:
        user = await door.read(
            lambda conn: state.user_by_id(conn, door.namespace, signed.user["id"])
        )
        if user is None:
            raise GoTrueError(403, "user_not_found", "User from sub claim in JWT does not exist")
        await commit_user_change(door, user, new_email, hashed, data, None, "user.updated")
    saved, identities = await reload(door, user["id"])
    return shapes.user(saved, identities, door.aud)


async def commit_user_change(
    door: Door,
    user: Row,
    email: str | None,
    password_hash: str | None,
    user_metadata: dict[str, Any] | None,
    app_metadata: dict[str, Any] | None,
    event_type: str,
    confirmed_at: float | None = None,
) -> None:
    """Append the changed user (and their identity, for a new email); caller holds the lock.
    A taken email is 422 `email_exists`; metadata after merging must stay bounded."""
    now = time.time()
    row = {**user.values, "updated_at": now}
    if email is not None and email != user["email"]:
        other = await door.read(lambda conn: state.user_by_email(conn, door.namespace, email))
        if other is not None:
            raise GoTrueError(
                422, "email_exists", "A user with this email address has already been registered"
            )
        row["email"] = email
    if password_hash is not None:
        row["password_hash"] = password_hash
    for column, update, name in (
        ("user_metadata", user_metadata, "data"),
        ("app_metadata", app_metadata, "app_metadata"),
    ):
        if update is not None:
            value = inputs.merged(shapes.metadata(user[column]), update)
            row[column] = inputs.bounded(value, name, door.settings)
    if confirmed_at is not None and row["email_confirmed_at"] is None:
        row["email_confirmed_at"] = confirmed_at
    ops = [put("users", row)]
    if row["email"] != user["email"] or confirmed_at is not None:
        identities = await door.read(lambda conn: state.identities(conn, user["id"]))
        for identity in identities:
            data = {
                **shapes.metadata(identity["identity_data"]), "email": row["email"],
                "email_verified": row["email_confirmed_at"] is not None,
            }  # fmt: skip
            ops.append(
                put(
                    "identities",
                    {**identity.values, "identity_data": json.dumps(data), "updated_at": now},
                )
            )
    await door.commit(record(event_type, *ops))


async def logout(door: Door, scope: str) -> None:
    """End this session (`local`), every session of the user (`global`, the default) or all
    but this one (`others`). Access tokens already issued live until they expire."""
    if scope not in ("global", "local", "others"):
        raise GoTrueError(400, "validation_failed", "Unsupported logout scope")
    signed = await door.signed_in()
    current = signed.session["id"]
    async with door.lock:
        sessions = await door.read(lambda conn: state.sessions_of(conn, signed.user["id"]))
        ids = [s["id"] for s in sessions]
        chosen = {"local": [current], "others": [i for i in ids if i != current]}.get(scope, ids)
        if chosen:
            await door.commit(record("user.logged_out", *ended(chosen)))
