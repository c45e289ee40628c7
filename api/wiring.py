"""The one place a server is put together, for a primary and a read replica alike.

`build_server(settings)` builds everything a served data directory runs, from its
`api.settings.Settings` and nothing else, in this order:

    Database          the log writer and projection (primary), or a replica's store
    security layer    token service (the directory's keys), key and policy cache
    object storage    blob store, resumable uploads, URL signer (primary only)
    realtime          the hub's owner and the stream slots
    Backend           what every door shares: the above, limits, metrics, reader pool
    consumers         audit trail and Kafka mirror (primary)
    archive           the continuous S3 archive and local retention (primary, when set)
    doors             the HTTP app (`api.http.app`) and the PostgreSQL listener
    tracing           the OpenTelemetry provider and the HTTP server span, when configured

The doors get the `Backend` and nothing else; a new door (`/rest/v1`, say) is one more
listener or route set handed the same `Backend`. `open_primary` and `open_replica` build the
backend alone (the test harness serves it in-process without consumers or archive).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from litestar.types import ASGIApp

from api import logconfig
from api.auth.keyfiles import (
    JWT_SECRET_FILE,
    SECRET_ENV,
    ensure_token_signing_key,
    load_jwt_secret,
    load_token_signing_key,
)
from api.auth.tokens import TokenConfig, TokenService
from api.database import Database, DatabaseOptions
from api.datadir import DataDir
from api.http.access import RememberedAccess
from api.http.app import create_app, create_replica_app
from api.http.backend import Backend
from api.http.replica import ReplicaFollower
from api.http.server import Listener
from api.logs import segment_source
from api.pgwire.server import PgServer
from api.realtime.service import RealtimeService
from api.rls.access import SecurityLayer
from api.settings import Settings
from api.storage.backup import blob_attachments
from api.storage.served import Storage, open_storage
from eventlog import EventLog
from projections.archive.archiver import Archiver
from projections.archive.retention import prune
from projections.blobs.s3 import S3BlobStore
from projections.consumers.kafka_mirror import MirrorConfig
from projections.consumers.replica import KafkaReplica
from projections.consumers.service import ConsumerService
from projections.store import STORE_FILE, ProjectionStore, StoreLock

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger("bkgdb.archive")


@dataclass
class Server:
    """A built server: the backend its doors share and what runs beside them."""

    backend: Backend
    app: ASGIApp
    listeners: list[Listener] = field(default_factory=list)
    consumers: ConsumerService | None = None
    archiver: Archiver | None = None
    follower: ReplicaFollower | None = None
    tracer_provider: TracerProvider | None = None

    def start(self) -> None:
        """Start what runs beside the doors (the doors start with `api.http.server.serve`)."""
        for part in (self.consumers, self.archiver, self.follower):
            if part is not None:
                part.start()

    def close(self) -> None:
        """Stop what runs beside the doors, then close the backend (and the database)."""
        for stop in (self.follower, self.archiver, self.consumers):
            if stop is not None:
                stop.stop()
        self.backend.close()
        if self.tracer_provider is not None:
            from api.telemetry.provider import stop as stop_tracing

            stop_tracing(self.tracer_provider)


def build_server(
    settings: Settings, replica: KafkaReplica | None = None, primary_url: str | None = None
) -> Server:
    """The server of `settings`: a primary, or (given the `replica` that follows `bkg.log`)
    a read replica that names `primary_url` in its answer to a write."""
    if replica is not None:
        backend = open_replica(settings, replica.path, primary_url)
        server = Server(backend, create_replica_app(backend))
        with _closed_on_error(server):
            server.follower = ReplicaFollower(replica, backend)
            _trace(settings, server)
        return server
    backend = open_primary(settings)
    server = Server(backend, create_app(backend))
    with _closed_on_error(server):
        server.consumers = _consumers(settings, backend)
        server.archiver = _archiver(settings, backend)
        if settings.pg is not None:
            server.listeners.append(PgServer(backend, settings.pg))
        _trace(settings, server)
    return server


def _trace(settings: Settings, server: Server) -> None:
    """Trace `server` when the settings name an OTLP endpoint (the SDK is imported only
    then): the HTTP app inside a server span, the layers below spanning too."""
    if settings.telemetry is None:
        return
    from api.telemetry.asgi import TracedApp
    from api.telemetry.provider import build_provider, start

    provider = build_provider(settings.telemetry)
    server.tracer_provider = provider
    server.app = TracedApp(server.app, provider, settings.telemetry)
    start(provider)


@contextmanager
def _closed_on_error(server: Server) -> Iterator[None]:
    """Close what is built of `server` so far if building the rest fails."""
    try:
        yield
    except BaseException:
        server.close()
        raise


def open_primary(settings: Settings) -> Backend:
    """The backend of a primary: opens the data directory (takes the writer lock)."""
    config, data = settings.server, settings.data
    ensure_token_signing_key(data.keys)
    layer, access = _security(settings, load_jwt_secret(data.keys))
    options = DatabaseOptions(
        access=access,
        statement_timeout_s=config.statement_timeout_s,
        result_limits=config.result_limits,
        log_options=data.log_options(config.segment_bytes) if config.segment_bytes else None,
        segment_source=segment_source(data, settings.storage),
        environment=False,
    )
    db = Database.open(data.root, options, create=False)
    try:
        storage = open_storage(db, settings.storage, lambda: layer.policies)
        return _backend(settings, db, layer, access, storage)
    except BaseException:
        db.close()
        raise


def open_replica(settings: Settings, store_path: Path, primary: str | None) -> Backend:
    """The backend of a read replica serving the store at `store_path` (a `store.sqlite`
    in a directory this process then holds, as a primary holds its projection's)."""
    if store_path.name != STORE_FILE:
        raise ValueError(f"a served replica store is named {STORE_FILE}, not {store_path.name}")
    config, data = settings.server, settings.data
    layer, access = _security(settings, _replica_jwt_secret(data))
    data.consumers.mkdir(parents=True, exist_ok=True)
    store = ProjectionStore(StoreLock(store_path.parent))
    options = DatabaseOptions(
        access=access,
        statement_timeout_s=config.statement_timeout_s,
        result_limits=config.result_limits,
    )
    db = Database.replica(data, store, primary, options)
    try:
        return _backend(settings, db, layer, access)
    except BaseException:
        db.close()
        raise


def _security(settings: Settings, jwt_secret: bytes) -> tuple[SecurityLayer, RememberedAccess]:
    """The security layer (tokens signed with the directory's keys) and its access cache."""
    config, keys = settings.server, settings.data.keys
    tokens = TokenService(
        TokenConfig(
            secret=jwt_secret,
            signing_key=load_token_signing_key(keys),
            default_ttl_s=config.token_ttl_s,
            issuer=config.jwt_issuer,
            audience=config.jwt_audience,
        )
    )
    layer = SecurityLayer(tokens)
    return layer, RememberedAccess(layer)


def _backend(
    settings: Settings,
    db: Database,
    layer: SecurityLayer,
    access: RememberedAccess,
    storage: Storage | None = None,
) -> Backend:
    """What the doors share, around an open database."""
    config = settings.server
    realtime = RealtimeService(
        db.history, db.store, lambda: layer.policies, config.max_streams_per_principal
    )
    try:
        backend = Backend(config, db, layer, access, realtime, storage)
    except BaseException:
        if storage is not None:
            storage.close()
        raise
    backend.metrics.counter(
        "bkg_log_records_dropped_total",
        "Log lines dropped because stderr was not read fast enough (docs/operations.md).",
        lambda: float(logconfig.dropped()),
    )
    return backend


def _replica_jwt_secret(data: DataDir) -> bytes:
    """The project secret (`BKG_JWT_SECRET` or the replica's `keys/jwt_secret`), so that user
    tokens work as on the primary; without one, a random secret: API keys only."""
    if os.environ.get(SECRET_ENV) or (data.keys / JWT_SECRET_FILE).exists():
        return load_jwt_secret(data.keys)
    return secrets.token_bytes(32)


def _consumers(settings: Settings, backend: Backend) -> ConsumerService:
    """The audit trail, and the Kafka mirror when one is configured."""
    data = settings.data
    mirror = MirrorConfig(settings.kafka) if settings.kafka else None
    consumers = ConsumerService.for_log(backend.db.log, data.consumers, data.audit, mirror)
    consumers.register_gauges(backend.metrics.labelled_gauge)
    return consumers


def _archiver(settings: Settings, backend: Backend) -> Archiver | None:
    """The continuous archive, when the settings name an S3 location for it."""
    location = settings.storage.archive_location()
    if location is None:
        return None
    data = settings.data
    blobs = blob_attachments(data.objects) if settings.storage.backend == "local" else None
    archiver = Archiver(
        backend.db.log, data.log, data.checkpoints, data.consumers, S3BlobStore(location),
        settings.storage.archive_interval_s, blobs,
    )  # fmt: skip
    backend.metrics.gauge(
        "bkg_archive_lag_records",
        "Acknowledged records not yet in the S3 archive.",
        lambda: archiver.lag_records,
    )
    backend.metrics.counter(
        "bkg_archive_blobs_missing_total",
        "Object blobs the archive could not copy: removed locally before it got to them.",
        lambda: archiver.attachments_missing,
    )
    if settings.retain_local_segments is not None:
        retain = settings.retain_local_segments
        archiver.after_pass = partial(_retain, backend.db.log, archiver, retain)
    return archiver


def _retain(log_: EventLog, archiver: Archiver, retain: int) -> None:
    """After an archive pass: prune archived sealed segments beyond the newest `retain`."""
    report = prune(log_, retain, archiver.cursor, archiver.remote)
    if report.pruned:
        log.info(
            "pruned %s (archived); %s",
            ", ".join(report.pruned),
            report.stopped,
            extra={"event": "segments_pruned", "pruned": len(report.pruned)},
        )


@contextmanager
def running_archive(settings: Settings, backend: Backend) -> Iterator[Archiver | None]:
    """The archive of `settings` running beside `backend` while the block runs."""
    archiver = _archiver(settings, backend)
    if archiver is not None:
        archiver.start()
    try:
        yield archiver
    finally:
        if archiver is not None:
            archiver.stop()
