"""`/auth/v1/admin/users`: the service role (a namespace key) manages the users of its
namespace. Deleting a user ends their identity and sessions; rows they own stay, as the
table's policies decide."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from api.gotrue import inputs, shapes, state
from api.gotrue.door import Door
from api.gotrue.errors import GoTrueError, not_admin, user_not_found
from api.gotrue.flows import commit_user_change, new_user
from api.gotrue.passwords import hash_password
from api.gotrue.records import delete, put, record
from api.gotrue.sessions import ended, reload
from api.gotrue.state import Row

MAX_PAGE = 1_000_000
"""Pages beyond are refused: the offset must stay a SQLite integer."""


def require_service(door: Door) -> None:
    """Only a namespace key (Supabase's service role) manages users."""
    if door.caller.kind != "namespace":
        raise not_admin()


async def list_users(door: Door, page: int, per_page: int) -> tuple[dict[str, Any], dict[str, str]]:
    """One page of the namespace's users, and GoTrue's pagination headers for it."""
    require_service(door)
    most = door.settings.max_users_listed
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= most:
        raise GoTrueError(400, "validation_failed", f"page 1..{MAX_PAGE}, per_page 1..{most}")

    def work(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], int]:
        rows = state.users(conn, door.namespace, (page - 1) * per_page, per_page)
        found = [shapes.user(r, state.identities(conn, r["id"]), door.aud) for r in rows]
        return found, state.user_count(conn, door.namespace)

    found, total = await door.read(work)
    path = door.request.url.path
    return {"users": found, "aud": door.aud}, pagination_headers(path, page, per_page, total)


def pagination_headers(path: str, page: int, per_page: int, total: int) -> dict[str, str]:
    """`X-Total-Count` and a `Link` to the next page (when there is one) and the last, as
    GoTrue sends them: supabase-js reads `nextPage`, `lastPage` and `total` from these (the
    page number first in each link, where the client looks for it)."""
    last = -(-total // per_page)
    links = [f'<{path}?page={page + 1}&per_page={per_page}>; rel="next"'] if page < last else []
    links.append(f'<{path}?page={last}&per_page={per_page}>; rel="last"')
    return {"X-Total-Count": str(total), "Link": ", ".join(links)}


async def get_user(door: Door, user_id: str) -> dict[str, Any]:
    require_service(door)
    user, identities = await _find(door, user_id)
    return shapes.user(user, identities, door.aud)


async def create_user(door: Door, body: dict[str, Any]) -> dict[str, Any]:
    """A user with an optional password, confirmed only when `email_confirm` is true."""
    require_service(door)
    settings = door.settings
    email = inputs.email(inputs.text(body, "email"), settings)
    password = inputs.text(body, "password")
    if password is not None:
        inputs.password(password, settings)
    user_metadata = inputs.metadata(body.get("user_metadata"), "user_metadata", settings) or {}
    app_metadata = inputs.metadata(body.get("app_metadata"), "app_metadata", settings) or {}
    confirm = body.get("email_confirm") is True
    hashed = await door.compute(lambda: hash_password(password)) if password is not None else None
    async with door.lock:
        if await door.read(lambda conn: state.user_by_email(conn, door.namespace, email)):
            raise GoTrueError(
                422, "email_exists", "A user with this email address has already been registered"
            )
        user, identity = new_user(door, email, hashed, user_metadata, app_metadata, confirm)
        await door.commit(
            record("user.created_by_admin", put("users", user), put("identities", identity))
        )
    saved, identities = await reload(door, user["id"])
    return shapes.user(saved, identities, door.aud)


async def update_user(door: Door, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Email, password, metadata (merged) and `email_confirm`."""
    require_service(door)
    settings = door.settings
    email = inputs.text(body, "email")
    new_email = inputs.email(email, settings) if email is not None else None
    password = inputs.text(body, "password")
    if password is not None:
        inputs.password(password, settings)
    user_metadata = inputs.metadata(body.get("user_metadata"), "user_metadata", settings)
    app_metadata = inputs.metadata(body.get("app_metadata"), "app_metadata", settings)
    confirmed_at = time.time() if body.get("email_confirm") is True else None
    hashed = await door.compute(lambda: hash_password(password)) if password is not None else None
    async with door.lock:
        user, _ = await _find(door, user_id)
        await commit_user_change(
            door, user, new_email, hashed, user_metadata, app_metadata, "user.updated_by_admin",
            confirmed_at,
        )  # fmt: skip
    saved, identities = await reload(door, user_id)
    return shapes.user(saved, identities, door.aud)


async def delete_user(door: Door, user_id: str) -> dict[str, Any]:
    """The user, their identities, sessions, refresh and recovery tokens go; their rows stay."""
    require_service(door)
    async with door.lock:
        await _find(door, user_id)
        sessions = await door.read(lambda conn: state.sessions_of(conn, user_id))
        ops = [
            delete("users", id=user_id),
            delete("identities", user_id=user_id),
            delete("recoveries", user_id=user_id),
            *ended([s["id"] for s in sessions]),
        ]
        await door.commit(record("user.deleted", *ops))
    return {}


async def _find(door: Door, user_id: str) -> tuple[Row, list[Row]]:
    def work(conn: sqlite3.Connection) -> tuple[Row | None, list[Row]]:
        return state.user_by_id(conn, door.namespace, user_id), state.identities(conn, user_id)

    user, identities = await door.read(work)
    if user is None:
        raise user_not_found()
    return user, identities
