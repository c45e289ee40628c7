"""Everything a served data directory is set up with, read once from flags and environment.

`Settings` is built by `bkgdb serve` (and `bkgdb replica --serve`) from its flags, each of
which takes its default from a `BKG_*` variable, and handed to `api.wiring`, which builds
the server from it and nothing else: no part of a running server reads the environment.
Its parts are the settings of each door and of what runs beside them:

    server     the HTTP API's limits and the governance of every statement (`ServerConfig`)
    pg         the PostgreSQL listener, or None (`PgSettings`)
    storage    where objects and the archive go (`api.storage.settings.StorageSettings`)
    kafka      the Kafka cluster the log is mirrored to, or None
    log        how the process logs: format and level (`LogSettings`)
    retain_local_segments   sealed segments kept locally once archived (None: all)
    telemetry  where traces go and how they are sampled, or None (`api.telemetry.settings`)
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from api.auth.ratelimit import DEFAULT_PER_MINUTE
from api.datadir import DataDir
from api.gotrue.settings import AccountSettings
from api.readers import PoolSettings
from api.sql.bounded import ResultLimits
from api.storage.settings import StorageSettings
from api.telemetry.settings import TelemetrySettings

DEFAULT_STATEMENT_TIMEOUT_S = 30.0
DEFAULT_KIND_TIMEOUTS_S = {"namespace": 15.0, "user": 8.0, "anon": 8.0}
"""Lower statement deadlines per principal kind (admins get the server default)."""
DEFAULT_MAX_RESULT_ROWS = 100_000
DEFAULT_MAX_RESULT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one server's doors (the `bkgdb serve` flags)."""

    data_dir: Path
    segment_bytes: int | None = None
    metrics_token: str | None = None
    max_body_bytes: int = 1 << 20
    rate_limits: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PER_MINUTE))
    rotation_grace_s: float = 3600.0
    token_ttl_s: int = 3600
    idempotency_window_s: float = 24 * 3600.0
    webhook_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    webhook_secret: bytes | None = None
    max_streams_per_principal: int = 32
    max_keys_per_namespace: int = 100
    max_keys: int = 1000
    statement_timeout_s: float | None = DEFAULT_STATEMENT_TIMEOUT_S
    """Every statement's deadline (None: none); per kind lowered by `kind_timeouts_s`."""
    kind_timeouts_s: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_KIND_TIMEOUTS_S)
    )
    result_limits: ResultLimits = field(
        default_factory=lambda: ResultLimits(DEFAULT_MAX_RESULT_ROWS, DEFAULT_MAX_RESULT_BYTES)
    )
    readers: PoolSettings = field(default_factory=PoolSettings)
    accounts: AccountSettings = field(default_factory=AccountSettings)
    """End-user accounts of `/auth/v1` (password and metadata limits, token lifetimes)."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins allowed to call the HTTP doors from their pages (`*`: any); none by
    default, so a page of another origin cannot read an answer."""


@dataclass(frozen=True)
class PgSettings:
    """The PostgreSQL listener's flags (`bkgdb serve --pg-*`)."""

    host: str = "127.0.0.1"
    port: int = 5433
    max_connections: int = 512
    """Sessions (connections past their startup phase) served at once."""
    max_handshakes: int = 256
    """Connections in their startup phase at once (the oldest gives way beyond)."""
    max_message_bytes: int = 1 << 20
    handshake_timeout_s: float = 10.0
    tls: ssl.SSLContext | None = None
    """Offered to clients that send an SSLRequest (None: answered `N`)."""


@dataclass(frozen=True)
class LogSettings:
    """How the process logs (`--log-format`, `--log-level`; see `api.logconfig`)."""

    format: str = "text"
    """`text` (one readable line per event) or `json` (one object per line)."""
    level: str = "info"


@dataclass(frozen=True)
class Settings:
    """One server's settings (see the module docstring)."""

    server: ServerConfig
    storage: StorageSettings = field(default_factory=StorageSettings)
    pg: PgSettings | None = None
    kafka: str | None = None
    """Bootstrap servers of the Kafka cluster the log is mirrored to (None: no mirror)."""
    retain_local_segments: int | None = None
    log: LogSettings = field(default_factory=LogSettings)
    telemetry: TelemetrySettings | None = None
    """OpenTelemetry tracing (None: off, and no SDK is loaded)."""

    @property
    def data(self) -> DataDir:
        return DataDir(self.server.data_dir)
