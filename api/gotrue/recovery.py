"""Password recovery without a mail server: `recover` makes a one-time token and hands it
to the webhook (`user.recovery_requested`), `verify` exchanges it for a session. Only the
token's hash is stored; the answer to `recover` does not tell whether the email exists."""

from __future__ import annotations

import secrets
import sqlite3
import time
from typing import Any

from api.gotrue import inputs, state
from api.gotrue.door import Door
from api.gotrue.errors import GoTrueError
from api.gotrue.records import put, record, token_hash
from api.gotrue.sessions import answer, open_session, reload
from api.gotrue.state import Row


async def recover(door: Door, body: dict[str, Any]) -> dict[str, Any]:
    """A one-time recovery token for the user of `email`, delivered by the webhook
    (`user.recovery_requested`); the answer is the same whether the email exists or not.
    Without a webhook configured nothing could deliver a token: none is made."""
    email = inputs.email(inputs.text(body, "email"), door.settings)
    door.limit(email)
    user = await door.read(lambda conn: state.user_by_email(conn, door.namespace, email))
    if user is None or door.backend.webhooks is None:  # no webhook: no way to deliver it
        return {}
    token = secrets.token_urlsafe(32)
    now = time.time()
    expires = now + door.settings.recovery_ttl_s
    row = {
        "hash": token_hash(token), "user_id": user["id"], "namespace": door.namespace,
        "created_at": now, "expires_at": expires, "used_at": None,
    }  # fmt: skip
    await door.commit(record("user.recovery_requested", put("recoveries", row)))
    door.backend.notify(
        "user.recovery_requested",
        {
            "namespace": door.namespace, "user_id": user["id"], "email": email,
            "token": token, "type": "recovery", "expires_at": expires,
        },
    )  # fmt: skip
    return {}


async def verify(door: Door, body: dict[str, Any]) -> dict[str, Any]:
    """Exchange a recovery token (`token` with `email`, or `token_hash`) for a session;
    each token works once and until it expires."""
    kind = inputs.text(body, "type")
    if kind != "recovery":
        raise GoTrueError(
            400,
            "validation_failed",
            "Only type=recovery is supported: there is no mail or SMS here",
        )
    token = inputs.text(body, "token_hash") or inputs.text(body, "token")
    email = inputs.text(body, "email")
    normal = inputs.email(email, door.settings) if email is not None else None
    door.limit(normal)
    refused = GoTrueError(403, "otp_expired", "Token has expired or is invalid")
    if not token or len(token) > 256:
        raise refused
    hashed = token_hash(token)
    async with door.lock:
        found = await door.read(lambda conn: state.recovery(conn, door.namespace, hashed))
        now = time.time()
        if found is None or found["used_at"] is not None or found["expires_at"] <= now:
            raise refused

        def lookup(conn: sqlite3.Connection) -> tuple[Row | None, list[Row]]:
            return state.user_by_id(conn, door.namespace, found["user_id"]), state.identities(
                conn, found["user_id"]
            )

        user, identities = await door.read(lookup)
        if user is None or (normal is not None and user["email"] != normal):
            raise refused
        confirmed = {**user.values, "email_confirmed_at": user["email_confirmed_at"] or now}
        opened = open_session(door, Row(confirmed), identities, now)
        used = put("recoveries", {**found.values, "used_at": now})
        await door.commit(record("user.recovered", used, *opened.ops))
    saved, identities = await reload(door, user["id"])
    return answer(door, saved, identities, opened.session_id, opened.refresh_token)
