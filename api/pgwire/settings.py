"""Session settings (`SET`/`SHOW`/`RESET`) and the ParameterStatus values clients parse.

The values describe the server truthfully where clients act on them: text is UTF-8,
timestamps are ISO and UTC, strings are standard-conforming. Settings that only matter to
Postgres' planner or storage are accepted and remembered so that drivers and ORMs that set
them at connect time work; `statement_timeout` is enforced.
"""

from __future__ import annotations

import contextlib
import re

from api.pgwire.errors import PgError

SERVER_VERSION = "15.0"
REPORTED = {
    "server_version": SERVER_VERSION,
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres",
    "integer_datetimes": "on",
    "standard_conforming_strings": "on",
    "TimeZone": "UTC",
    "application_name": "",
    "is_superuser": "off",
    "default_transaction_read_only": "off",
    "in_hot_standby": "off",
}
"""What is sent as ParameterStatus at startup (and again when SET changes one of them)."""
DEFAULTS = {name.lower(): value for name, value in REPORTED.items()} | {
    "statement_timeout": "0",
    "search_path": '"$user", public',
    "transaction_isolation": "read committed",
    "default_transaction_isolation": "read committed",
    "transaction_read_only": "off",
    "extra_float_digits": "1",
    "max_identifier_length": "63",
    "lc_collate": "C",
    "lc_ctype": "C",
    "datestyle": "ISO, MDY",
    "timezone": "UTC",
}
_FIXED = {"server_version", "server_encoding", "integer_datetimes", "is_superuser", "lc_collate"}
_UTF8 = {"utf8", "utf-8", "unicode"}
_UTC = {"utc", "gmt", "etc/utc", "z", "+00", "00:00", "+00:00", "0"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)?\s*$", re.IGNORECASE)
_UNITS = {"ms": 1.0, "s": 1000.0, "min": 60_000.0, "h": 3_600_000.0, "d": 86_400_000.0}


class Settings:
    """One session's settings; `changed` collects ParameterStatus updates to send."""

    def __init__(self, startup: dict[str, str]) -> None:
        self.values = dict(DEFAULTS)
        self.changed: list[tuple[str, str]] = []
        for name, value in startup.items():
            if name.lower() not in ("user", "database", "options", "replication"):
                # libpq's client_encoding=auto, a JVM's TimeZone: ours stay, and are reported
                with contextlib.suppress(PgError):
                    self.set(name, value)
        self.changed.clear()

    @property
    def statement_timeout_s(self) -> float | None:
        """The session's statement timeout in seconds (None: off)."""
        millis = float(self.values["statement_timeout"])
        return millis / 1000 if millis > 0 else None

    def set(self, name: str, value: str) -> None:
        """SET name = value (an empty value is DEFAULT)."""
        key = name.lower()
        if not key:
            raise PgError("42601", "syntax error in SET")
        if key in _FIXED:
            raise PgError("55P02", f'parameter "{name}" cannot be changed')
        value = value or DEFAULTS.get(key, "")
        if key == "client_encoding" and value.lower() not in _UTF8:
            raise PgError("22023", f"client_encoding {value} is not supported (only UTF8)")
        if key == "timezone" and value.lower() not in _UTC:
            raise PgError("22023", f"time zone {value} is not supported (timestamps are UTC)")
        if key == "statement_timeout":
            value = _millis(value)
        self.values[key] = value
        reported = next((n for n in REPORTED if n.lower() == key), None)
        if reported is not None:
            self.changed.append((reported, value))

    def show(self, name: str) -> str:
        key = name.lower()
        if key not in self.values:
            raise PgError("42704", f'unrecognized configuration parameter "{name}"')
        value = self.values[key]
        return f"{value}ms" if key == "statement_timeout" and value != "0" else value

    def reset(self, name: str) -> None:
        names = list(self.values) if name.lower() == "all" else [name.lower()]
        for key in names:
            if key in DEFAULTS and key not in _FIXED:
                self.set(key, DEFAULTS[key])


def _millis(value: str) -> str:
    """A duration in milliseconds (a bare number is milliseconds, as in Postgres)."""
    match = _DURATION.match(value)
    if match is None:
        raise PgError("22023", f'invalid value for parameter "statement_timeout": "{value}"')
    number = float(match.group(1)) * _UNITS[(match.group(2) or "ms").lower()]
    return str(int(number))
