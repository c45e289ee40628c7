"""What the HTTP handlers work with: the open database, the security layer, limits, metrics.

One `Backend` per served data directory. Opening it takes the log's writer lock (a second
server on the same directory fails with `LogLockedError` naming the holder). Keys and
policies live in the projection; the security layer's cache is refreshed after every auth or
policy event this server appends (it is the only writer, so nothing else changes them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from api.auth.errors import RateLimitedError
from api.auth.keyfiles import ensure_token_signing_key, load_jwt_secret, load_token_signing_key
from api.auth.principal import Principal
from api.auth.ratelimit import DEFAULT_PER_MINUTE, RateLimiter
from api.auth.tokens import TokenConfig, TokenService
from api.auth.webhook import Delivery, WebhookConfig, WebhookSender
from api.database import Database, DatabaseOptions
from api.datadir import DataDir
from api.http.access import RememberedAccess
from api.http.idempotency import IdempotencyStore
from api.http.key_usage import KeyUsage
from api.http.metrics import Labels, Metrics
from api.http.principals import Principals
from api.readers import PoolSettings, ReaderPool
from api.rls.access import SecurityLayer
from api.sql.bounded import ResultLimits
from eventlog import Entry, EventLog
from eventlog.segments import list_segments
from projections.checkpoints import Checkpoint, CheckpointStore
from projections.deadline import Deadline

T = TypeVar("T")
IDEMPOTENCY_FILE = "idempotency.sqlite"
ADMIN_READERS = "*admin"
"""The reader-pool key of admin principals (namespaces are keyed by their name)."""
DEFAULT_STATEMENT_TIMEOUT_S = 30.0
DEFAULT_KIND_TIMEOUTS_S = {"namespace": 15.0, "user": 8.0, "anon": 8.0}
"""Lower statement deadlines per principal kind (admins get the server default)."""
DEFAULT_MAX_RESULT_ROWS = 100_000
DEFAULT_MAX_RESULT_BYTES = 64 * 1024 * 1024
KEY_USAGE_FILE = "key_usage.json"
log = logging.getLogger("bkgdb.http")


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one server (the `bkgdb serve` flags)."""

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


class Backend:
    """The database and everything the handlers need besides it."""

    def __init__(
        self, config: ServerConfig, db: Database, layer: SecurityLayer, access: RememberedAccess
    ) -> None:
        self.config = config
        self.db = db
        self.layer = layer
        self.access = access
        self.tokens = layer.tokens
        self.metrics = Metrics()
        self.limiter = RateLimiter(per_minute=dict(config.rate_limits))
        self.idempotency = IdempotencyStore(
            db.data.consumers / IDEMPOTENCY_FILE, config.idempotency_window_s
        )
        self.started = time.time()
        self.webhooks = _webhook_sender(config)
        self._deliveries: set[asyncio.Task[Delivery]] = set()
        self._principals = Principals(layer)
        self.key_usage = KeyUsage(db.data.consumers / KEY_USAGE_FILE)
        self.readers = ReaderPool(config.readers)
        self.closers: list[Callable[[], None]] = []
        """Parts set up on first use (storage) that must finish before the database."""
        db.log.commit_observer = self.metrics.on_group_commit
        self._attach_gauges()
        self.refresh()

    @classmethod
    def open(cls, config: ServerConfig) -> Backend:
        """Open the data directory for serving (takes the writer lock)."""
        data = DataDir(config.data_dir)
        ensure_token_signing_key(data.keys)
        tokens = TokenService(
            TokenConfig(
                secret=load_jwt_secret(data.keys),
                signing_key=load_token_signing_key(data.keys),
                default_ttl_s=config.token_ttl_s,
                issuer=config.jwt_issuer,
                audience=config.jwt_audience,
            )
        )
        layer = SecurityLayer(tokens)
        access = RememberedAccess(layer)
        options = DatabaseOptions(
            access=access,
            statement_timeout_s=config.statement_timeout_s,
            result_limits=config.result_limits,
        )
        if config.segment_bytes is not None:
            options.log_options = data.log_options(config.segment_bytes)
        db = Database.open(data.root, options)
        try:
            return cls(config, db, layer, access)
        except BaseException:
            db.close()
            raise

    def principal(self, bearer: str | None) -> Principal:
        """Authenticate a bearer string and take one request from its rate budget."""
        principal = self._principals.resolve(bearer)
        self.key_usage.record(principal)
        wait = self.limiter.try_acquire(principal)
        if wait > 0:
            self.metrics.rate_limited.inc((("kind", principal.kind),))
            raise RateLimitedError(wait)
        return principal

    def deadline(self, principal: Principal, timeout_ms: int | None = None) -> Deadline:
        """The deadline of a request's statements: the server's statement timeout, lowered
        for the principal's kind, lowered again by the request's own `timeout_ms`."""
        limits = [self.config.statement_timeout_s, self.config.kind_timeouts_s.get(principal.kind)]
        if timeout_ms is not None:
            limits.append(timeout_ms / 1000)
        given = [seconds for seconds in limits if seconds is not None]
        owner = None if principal.kind == "admin" else principal.default_namespace
        return Deadline(min(given) if given else None, owner)

    async def off_loop(self, principal: Principal, work: Callable[[], T]) -> T:
        """Run `work` (parsing, planning, reading user SQL) on the reader pool, in the share
        of the principal's namespace (admins share one); 503 when it is full."""
        key = ADMIN_READERS if principal.kind == "admin" else principal.default_namespace
        return await self.readers.run(key, work)

    async def append(self, kind: str, payload: dict[str, object], principal: Principal) -> int:
        """Append an auth or policy event and make the security layer see it."""
        entry = Entry(kind, payload, actor=principal.id, namespace=principal.namespace)
        lsn = await self.db.append_event_async(entry)
        self.refresh()
        return lsn

    def notify(self, event: str, payload: dict[str, Any]) -> None:
        """Deliver a webhook in the background (retried with backoff by the sender); a
        failed delivery is logged, never reported to the client whose request caused it."""
        if self.webhooks is None:
            return
        task = asyncio.get_running_loop().create_task(self.webhooks.send_async(event, payload))
        self._deliveries.add(task)
        task.add_done_callback(self._delivered)

    def _delivered(self, task: asyncio.Task[Delivery]) -> None:
        self._deliveries.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        result = None if exc is not None else task.result()
        if result is None or not result.delivered:
            reason = exc or (result.error or result.status if result else None)
            log.warning("webhook delivery failed: %s", reason)

    def refresh(self) -> None:
        """Reload keys and policies from the projection if they changed."""
        with self.db.store.snapshot() as snap:
            self.layer.refresh(snap.conn)
        self.access.forget()

    def stop_statements(self) -> int:
        """Cancel every running statement and every later one (the server is stopping)."""
        return self.db.cancel_all()

    def close(self) -> None:
        self.readers.close()
        for close in reversed(self.closers):
            close()
        self.idempotency.close()
        self.key_usage.save()
        self.db.close()

    def _attach_gauges(self) -> None:
        db, metrics = self.db, self.metrics
        metrics.gauge("bkg_log_head_lsn", "Last durable LSN of the log.", lambda: db.log.head_lsn)
        metrics.gauge(
            "bkg_projection_applied_lsn", "LSN visible to readers.", lambda: db.applied_lsn
        )
        metrics.gauge(
            "bkg_projection_lag_records",
            "Durable records not yet visible to readers.",
            lambda: max(0, db.log.head_lsn - db.applied_lsn),
        )
        self._attach_governance_gauges()
        metrics.gauge(
            "bkg_uptime_seconds",
            "Seconds since the server started.",
            lambda: time.time() - self.started,
        )
        if isinstance(db.log, EventLog):  # a read replica has no log files or checkpoints
            self._attach_file_gauges()

    def _attach_governance_gauges(self) -> None:
        readers, running, metrics = self.readers, self.db.running, self.metrics
        threads = readers.settings.threads
        metrics.gauge("bkg_readers", "Threads of the reader pool.", lambda: threads)
        metrics.gauge("bkg_readers_busy", "Reader threads running work now.", lambda: readers.busy)
        metrics.gauge(
            "bkg_reader_queue_length", "Requests waiting for a reader.", lambda: readers.queued
        )
        metrics.counter(
            "bkg_reader_admissions_refused_total",
            "Requests refused with 503 because the reader pool and its queue were full.",
            lambda: readers.refused,
        )
        metrics.gauge("bkg_statements_running", "Statements running now.", lambda: len(running))
        metrics.labelled_gauge(
            "bkg_statements_cancelled_total",
            "Statements cancelled, by reason (statement timeout, server shutdown, request).",
            lambda: {(("reason", r.rpartition(" ")[2]),): n for r, n in running.cancelled.items()},
            kind="counter",
        )

    def _attach_file_gauges(self) -> None:
        db, metrics = self.db, self.metrics
        metrics.gauge(
            "bkg_log_segments",
            "Segment files of the log held locally.",
            lambda: len(list_segments(db.log.log_dir)),
        )
        metrics.gauge(
            "bkg_log_bytes",
            "Bytes of the log's segment files held locally.",
            lambda: sum(path.stat().st_size for _, path in list_segments(db.log.log_dir)),
        )
        metrics.labelled_gauge(
            "bkg_checkpoint_lsn",
            "LSN of the newest checkpoint (absent before the first).",
            lambda: _sample(cp.lsn if (cp := _newest(db.checkpoints)) else None),
        )
        metrics.labelled_gauge(
            "bkg_checkpoint_age_seconds",
            "Seconds since the newest checkpoint was written (absent before the first).",
            lambda: _sample(
                time.time() - cp.path.stat().st_mtime if (cp := _newest(db.checkpoints)) else None
            ),
        )


def _newest(checkpoints: CheckpointStore) -> Checkpoint | None:
    found = checkpoints.scan()
    return found[0] if found else None


def _sample(value: float | None) -> dict[Labels, float]:
    """A gauge's one sample, or none while there is nothing to report."""
    return {} if value is None else {(): value}


def _webhook_sender(config: ServerConfig) -> WebhookSender | None:
    """The sender for `--webhook-url`, or None; a URL without a secret is a configuration
    error (unsigned webhooks could be forged by anyone who can reach the receiver)."""
    if config.webhook_url is None:
        return None
    if not config.webhook_secret:
        raise ValueError("a webhook URL needs a webhook secret")
    return WebhookSender(WebhookConfig(url=config.webhook_url, secret=config.webhook_secret))
