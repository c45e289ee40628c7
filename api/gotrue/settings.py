"""How `/auth/v1` treats passwords, metadata and tokens (part of `ServerConfig`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AccountSettings:
    """Limits and lifetimes of end-user accounts (GoTrue's defaults where it has one)."""

    min_password_length: int = 6
    max_password_length: int = 1024
    """Longer passwords are refused rather than hashed (hashing cost grows with length)."""
    max_email_length: int = 255
    max_metadata_bytes: int = 16 * 1024
    """`user_metadata` (and an admin's `app_metadata`) as compact JSON, at most this."""
    autoconfirm: bool = True
    """There is no mail server: new users are confirmed at once unless this is False, in
    which case they cannot sign in until an admin confirms them (`email_confirm`)."""
    access_token_ttl_s: int = 3600
    recovery_ttl_s: int = 3600
    max_users_listed: int = 1000
    """The largest `per_page` of `GET /auth/v1/admin/users`."""
