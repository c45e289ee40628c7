"""Validating what `/auth/v1` is sent: JSON objects, emails, passwords, metadata; anything
else is GoTrue's 400/422 with its error code, before anything is read or written."""

from __future__ import annotations

import json
from typing import Any

from api.gotrue.errors import GoTrueError, bad_json
from api.gotrue.settings import AccountSettings

MAX_METADATA_DEPTH = 32
"""Metadata goes into access tokens and log records (msgpack nests at most 512 deep)."""


def parse_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is an empty object)."""
    if not raw.strip():
        return {}
    try:
        loaded = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise bad_json("Could not parse request body as JSON") from exc
    if not isinstance(loaded, dict):
        raise bad_json("The request body must be a JSON object")
    try:  # lone surrogates (`"\ud800"`) decode, but no UTF-8 store or hash takes them
        json.dumps(loaded, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError) as exc:
        raise bad_json("The request body must be valid UTF-8 JSON") from exc
    return loaded


def text(body: dict[str, Any], name: str) -> str | None:
    """An optional string field (absent and null alike)."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_json(f"{name} must be a string")
    return value


def email(value: str | None, settings: AccountSettings) -> str:
    """A normalised (trimmed, lower-case) email address of plausible form."""
    if not value:
        raise GoTrueError(400, "validation_failed", "An email address is required")
    normal = value.strip().lower()
    local, at, domain = normal.partition("@")
    plausible = at and local and "." in domain.strip(".") and not any(c.isspace() for c in normal)
    if len(normal) > settings.max_email_length or not plausible or "@" in domain:
        raise GoTrueError(
            400, "validation_failed", "Unable to validate email address: invalid format"
        )
    return normal


def password(value: str | None, settings: AccountSettings) -> str:
    """A password long enough (GoTrue's `weak_password`, with its reasons) and not absurdly
    long."""
    if value is None or len(value) < settings.min_password_length:
        raise GoTrueError(
            422,
            "weak_password",
            f"Password should be at least {settings.min_password_length} characters.",
            {"weak_password": {"reasons": ["length"]}},
        )
    if len(value) > settings.max_password_length:
        raise GoTrueError(
            422,
            "validation_failed",
            f"Password should be at most {settings.max_password_length} characters.",
        )
    return value


def metadata(value: Any, name: str, settings: AccountSettings) -> dict[str, Any] | None:
    """An optional metadata object (None: not given)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_json(f"{name} must be a JSON object")
    if _depth(value) > MAX_METADATA_DEPTH:
        raise bad_json(f"{name} is nested deeper than {MAX_METADATA_DEPTH} levels")
    bounded(value, name, settings)
    return value


def _depth(value: Any) -> int:
    """How deeply `value` nests (a scalar: 0), iteratively: any depth is measured."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def bounded(value: dict[str, Any], name: str, settings: AccountSettings) -> str:
    """`value` as compact JSON, refused beyond `max_metadata_bytes`."""
    try:
        encoded = json.dumps(value, separators=(",", ":"), sort_keys=True)
    except RecursionError as exc:
        raise bad_json(f"{name} is nested too deeply") from exc
    if len(encoded.encode()) > settings.max_metadata_bytes:
        raise GoTrueError(
            422,
            "validation_failed",
            f"{name} is larger than {settings.max_metadata_bytes} bytes",
        )
    return encoded


def merged(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """GoTrue's metadata update: top-level keys replace, a null value removes its key."""
    result = dict(current)
    for key, value in update.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result
