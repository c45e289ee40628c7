"""The `bkgdb serve` flags of `/auth/v1` end-user accounts (`AccountSettings`), each
defaulting to its `BKG_AUTH_*` variable."""

from __future__ import annotations

import argparse
import os

from api.cli.output import CommandError
from api.gotrue.settings import AccountSettings

_DEFAULTS = AccountSettings()


def add_account_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--auth-min-password-length",
        type=int,
        default=int(
            os.environ.get("BKG_AUTH_MIN_PASSWORD_LENGTH") or _DEFAULTS.min_password_length
        ),
        help="shortest /auth/v1 password (default: $BKG_AUTH_MIN_PASSWORD_LENGTH, else 6)",
    )
    parser.add_argument(
        "--auth-require-confirmation",
        action="store_true",
        default=os.environ.get("BKG_AUTH_REQUIRE_CONFIRMATION", "") not in ("", "0", "false"),
        help="new /auth/v1 users sign in only once an admin confirms them (default: confirmed"
        " at sign-up, there is no mail server; $BKG_AUTH_REQUIRE_CONFIRMATION)",
    )
    parser.add_argument(
        "--auth-access-token-ttl",
        type=int,
        default=int(os.environ.get("BKG_AUTH_ACCESS_TOKEN_TTL") or _DEFAULTS.access_token_ttl_s),
        help="seconds an /auth/v1 access token lives (default: $BKG_AUTH_ACCESS_TOKEN_TTL, 3600)",
    )


def account_settings(args: argparse.Namespace) -> AccountSettings:
    """The accounts' settings of the flags; out-of-range values are a usage error."""
    if not 1 <= args.auth_min_password_length <= _DEFAULTS.max_password_length:
        raise CommandError("--auth-min-password-length must be 1..1024")
    if not 60 <= args.auth_access_token_ttl <= 7 * 24 * 3600:
        raise CommandError("--auth-access-token-ttl must be 60..604800 seconds")
    return AccountSettings(
        min_password_length=args.auth_min_password_length,
        autoconfirm=not args.auth_require_confirmation,
        access_token_ttl_s=args.auth_access_token_ttl,
    )
