"""What the HTTP handlers work with: the open database, the security layer, limits, metrics,
object storage and the realtime hub.

One `Backend` per served data directory, built by `api.wiring` (for a primary, opening it
takes the log's writer lock: a second server on the same directory fails with
`LogLockedError` naming the holder). Keys and
policies live in the projection; the security layer's cache is refreshed after every auth or
policy event this server appends (it is the only writer, so nothing else changes them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from api import stages
from api.auth.errors import RateLimitedError
from api.auth.principal import Principal
from api.auth.ratelimit import RateLimiter
from api.auth.webhook import Delivery, WebhookConfig, WebhookSender
from api.database import Database
from api.http.access import RememberedAccess
from api.http.idempotency import IdempotencyStore
from api.http.key_usage import KeyUsage
from api.http.metrics import Labels, Metrics
from api.http.principals import Principals
from api.http.request_log import note_principal
from api.readers import ReaderPool
from api.realtime.service import RealtimeService
from api.rls.access import SecurityLayer
from api.settings import ServerConfig
from api.storage.served import Storage
from api.writers import LogWriter
from eventlog import Entry
from eventlog.segments import list_segments
from projections.blobs.cache import CachedBlobStore
from projections.checkpoints import Checkpoint, CheckpointStore
from projections.deadline import Deadline
from projections.tracing import carried

T = TypeVar("T")
IDEMPOTENCY_FILE = "idempotency.sqlite"
ADMIN_READERS = "*admin"
"""The reader-pool key of admin principals (namespaces are keyed by their name)."""
KEY_USAGE_FILE = "key_usage.json"
log = logging.getLogger("bkgdb.http")


class Backend:
    """The database and everything the handlers need besides it."""

    def __init__(
        self,
        config: ServerConfig,
        db: Database,
        layer: SecurityLayer,
        access: RememberedAccess,
        realtime: RealtimeService,
        storage: Storage | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.layer = layer
        self.access = access
        self.realtime = realtime
        self.storage = storage
        """Object storage (None on a read replica, which serves no storage routes)."""
        self.bearers = layer.bearers
        self.tokens = layer.bearers.tokens
        self.metrics = Metrics()
        self.limiter = RateLimiter(per_minute=dict(config.rate_limits))
        self.idempotency = IdempotencyStore(
            db.data.consumers / IDEMPOTENCY_FILE, config.idempotency_window_s
        )
        self.started = time.time()
        self.webhooks = _webhook_sender(config)
        self.accounts_lock = asyncio.Lock()
        """Serialises `/auth/v1` writes that depend on what they read (`api.gotrue.door`)."""
        self._deliveries: set[asyncio.Task[Delivery]] = set()
        self._principals = Principals(layer.bearers)
        self.key_usage = KeyUsage(db.data.consumers / KEY_USAGE_FILE)
        self.readers = ReaderPool(config.readers)
        if isinstance(db.writer, LogWriter):  # a read replica commits no groups of its own
            db.log.commit_observer = self.metrics.on_group_commit
        self._attach_gauges()
        self.refresh()

    def principal(self, bearer: str | None) -> Principal:
        """Authenticate a bearer string and take one request from its rate budget."""
        principal = self._principals.resolve(bearer)
        note_principal(principal)
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
        return await stages.reader_hop(self.readers.run, key, carried(work))

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
        if self.storage is not None:
            self.storage.close()
        self.idempotency.close()
        self.key_usage.save()
        self.db.close()

    def _attach_gauges(self) -> None:
        db, metrics = self.db, self.metrics
        metrics.gauge(
            "bkg_log_head_lsn", "Last durable LSN of the log.", lambda: db.history.head_lsn
        )
        metrics.gauge(
            "bkg_projection_applied_lsn", "LSN visible to readers.", lambda: db.applied_lsn
        )
        metrics.gauge(
            "bkg_projection_lag_records",
            "Durable records not yet visible to readers.",
            lambda: max(0, db.history.head_lsn - db.applied_lsn),
        )
        self._attach_governance_gauges()
        metrics.gauge(
            "bkg_uptime_seconds",
            "Seconds since the server started.",
            lambda: time.time() - self.started,
        )
        realtime = self.realtime
        metrics.gauge(
            "bkg_realtime_subscribers",
            "Live /realtime subscribers (joined to the hub).",
            lambda: float(realtime.subscribers),
        )
        if isinstance(db.writer, LogWriter):  # a read replica has no log files or checkpoints
            self._attach_file_gauges()
        if self.storage is not None and isinstance(self.storage.service.blobs, CachedBlobStore):
            self._attach_cache_gauges(self.storage.service.blobs)

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

    def _attach_cache_gauges(self, blobs: CachedBlobStore) -> None:
        """The object cache's figures, when objects have one."""
        stats, metrics = blobs.stats, self.metrics
        metrics.gauge(
            "bkg_object_cache_hits", "Downloads served from the object cache.", lambda: stats.hits
        )
        metrics.gauge(
            "bkg_object_cache_misses", "Downloads that had to fetch from S3.", lambda: stats.misses
        )
        metrics.gauge("bkg_object_cache_bytes", "Bytes in the object cache.", lambda: stats.bytes)
        metrics.gauge("bkg_object_cache_blobs", "Blobs in the object cache.", lambda: stats.blobs)


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
