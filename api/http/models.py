"""Request and response bodies of the HTTP API as msgspec structs.

Litestar validates request bodies against these types (a mismatch is a 422 before any
handler runs) and derives the OpenAPI document from them; unknown fields are refused so
that a misspelt field is an error, not a silently ignored option.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

Params = list[Any] | dict[str, Any] | None


class Statement(msgspec.Struct, forbid_unknown_fields=True):
    """One statement of an atomic batch."""

    sql: str
    params: Params = None


class QueryRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Either `sql` (one statement) or `statements` (an atomic batch), not both.
    `timeout_ms` lowers the request's statement deadline (it never raises it)."""

    sql: str | None = None
    params: Params = None
    as_of_lsn: int | None = None
    statements: list[Statement] | None = None
    timeout_ms: Annotated[int, msgspec.Meta(ge=1, le=86_400_000)] | None = None


class QueryResult(msgspec.Struct):
    """One statement's answer and the LSN it was read or committed at."""

    columns: list[str]
    rows: list[list[Any]]
    rowcount: int
    lsn: int


class BatchResponse(msgspec.Struct):
    """The body answering a `/query` batch: its statements' answers, at one LSN."""

    results: list[QueryResult]
    lsn: int


class ColumnInfo(msgspec.Struct):
    name: str
    type: str
    nullable: bool
    primary_key: bool


class IndexInfo(msgspec.Struct):
    name: str
    columns: list[str]
    unique: bool


class TableInfo(msgspec.Struct):
    name: str
    columns: list[ColumnInfo]
    indexes: list[IndexInfo]
    rls_enabled: bool


class ViewInfo(msgspec.Struct):
    """A view: its output columns and its query (Postgres SQL, schema-qualified)."""

    name: str
    columns: list[str]
    sql: str


class SchemaResponse(msgspec.Struct):
    lsn: int
    tables: list[TableInfo]
    views: list[ViewInfo] = []


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`api_key` alone: exchange an admin key for an admin token. With `sub`: a user token
    in the key's namespace (admins name it with `ns`, default `public`)."""

    api_key: str | None = None
    sub: str | None = None
    ns: str | None = None
    ttl_seconds: int | None = None
    claims: dict[str, Any] | None = None


class TokenResponse(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int


class KeyCreateRequest(msgspec.Struct, forbid_unknown_fields=True):
    scope: str
    namespace: str | None = None
    ttl_seconds: int | None = None
    name: str | None = None


class KeyRotateRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`grace_seconds`: how long the old key keeps working (default: the server's setting)."""

    grace_seconds: float | None = None
    ttl_seconds: int | None = None


class CreatedKey(msgspec.Struct):
    """A new key; `key` is the plaintext, shown only in this response."""

    id: str
    key: str
    prefix: str
    scope: str
    namespace: str | None
    name: str | None
    expires_at: float | None
    rotated_from: str | None = None
    old_key_valid_until: float | None = None


class KeyInfo(msgspec.Struct):
    """What is known of a key; never its plaintext or hash."""

    id: str
    prefix: str
    scope: str
    namespace: str | None
    name: str | None
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    rotated_to: str | None
    grace_until: float | None
    active: bool
    last_used_at: float | None = None


class KeyList(msgspec.Struct):
    keys: list[KeyInfo]


class PolicyDocument(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=False):
    """A row-level security policy (see DESIGN.md)."""

    name: str
    table: str
    actions: list[str]
    roles: list[str] = msgspec.field(default_factory=lambda: ["user"])
    using: str | None = None
    check: str | None = None


class PolicyList(msgspec.Struct):
    policies: list[PolicyDocument]


class Health(msgspec.Struct, omit_defaults=True):
    """`status` is "ok", or "degraded" with the `reason` (a replica that cannot follow)."""

    status: str
    head_lsn: int
    applied_lsn: int
    reason: str | None = None


class BucketRequest(msgspec.Struct):
    """A bucket to create: public buckets serve downloads without a token."""

    name: str
    public: bool = False
    size_limit: int | None = None


class ObjectRef(msgspec.Struct):
    bucket: str
    name: str


class CopyRequest(msgspec.Struct, rename={"source": "from", "target": "to"}):
    """Copy `from` to `to` (both `{"bucket", "name"}`)."""

    source: ObjectRef
    target: ObjectRef


class SignRequest(msgspec.Struct):
    """A signed URL for `method` valid `expires_in` seconds (1 s to 7 days)."""

    expires_in: int
    method: str = "GET"
