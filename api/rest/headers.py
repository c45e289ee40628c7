"""The request headers PostgREST reads: `Prefer`, `Range`, `Accept`, the profiles, the key.

Each parser returns a plain value or raises a PostgREST-shaped error; nothing here touches
the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from api.rest.errors import RestError

OBJECT = "application/vnd.pgrst.object+json"
JSON = "application/json"
CSV = "text/csv"
_RANGE = re.compile(r"^\s*(\d{1,18})-(\d{0,18})\s*$")
PREFERENCES = {
    "return": ("minimal", "headers-only", "representation"),
    "count": ("exact", "planned", "estimated"),
    "resolution": ("merge-duplicates", "ignore-duplicates"),
    "missing": ("default", "null"),
    "tx": ("commit", "rollback"),
    "handling": ("lenient", "strict"),
}


class RequestHeaders:
    """A request's headers by lower-case name, read in one pass over the raw ASGI list
    (a Litestar `Headers` object is built again for every connection object that asks)."""

    __slots__ = ("_values",)

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        values: dict[str, list[str]] = {}
        for name, value in raw:
            values.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        self._values = values

    def get(self, name: str) -> str | None:
        """The first value of `name` (lower case), or None."""
        found = self._values.get(name)
        return found[0] if found else None

    def getall(self, name: str) -> list[str]:
        """Every value of `name` (lower case), in the order sent."""
        return self._values.get(name, [])


@dataclass(frozen=True)
class Prefer:
    """The preferences a request states (unknown or malformed ones are ignored, as
    PostgREST does with `handling=lenient`)."""

    values: Mapping[str, str]
    max_affected: int | None = None

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def applied(self) -> str:
        """The `Preference-Applied` header: the preferences honoured."""
        parts = [f"{k}={v}" for k, v in self.values.items()]
        if self.max_affected is not None:
            parts.append(f"max-affected={self.max_affected}")
        return ", ".join(parts)


def parse_prefer(headers: list[str]) -> Prefer:
    values: dict[str, str] = {}
    max_affected = None
    for header in headers:
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            name, value = name.strip().lower(), value.strip().lower()
            if value in PREFERENCES.get(name, ()):
                values[name] = value
            elif name == "max-affected" and value.isdigit() and len(value) < 19:
                max_affected = int(value)
    return Prefer(values, max_affected)


def parse_range(header: str | None) -> tuple[int, int | None] | None:
    """`Range: 0-9` (with `Range-Unit: items`) → (offset, limit); PGRST103 (416) when the
    range is backwards."""
    if header is None:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    start = int(match.group(1))
    if not match.group(2):
        return start, None
    end = int(match.group(2))
    if end < start:
        raise RestError(
            416,
            "PGRST103",
            "Requested range not satisfiable",
            "The lower boundary must be lower than or equal to the upper boundary"
            " in the Range header.",
        )
    return start, end - start + 1


def negotiate(accept: str | None) -> str:
    """The media type of the answer: JSON, a single JSON object, or CSV; PGRST107 (406)
    for anything else."""
    if not accept:
        return JSON
    offered: list[str] = []
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in (OBJECT, CSV, JSON):
            return media
        offered.append(media)
        if media in ("*/*", "application/*", "application/openapi+json"):
            return JSON
    raise RestError(
        406,
        "PGRST107",
        f"None of these media types are available: {', '.join(offered)}",
    )


def token_of(authorization: str | None, apikey: str | None) -> str | None:
    """`Authorization: Bearer <token>` when present, else the `apikey` header."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return apikey.strip() if apikey and apikey.strip() else None
