"""The embedded facade: `Database.open(data_dir)`, then `execute` like sqlite3.

Writes go through the commit pipeline (`projections.pipeline`): one request is one SQLite
transaction is one log record, serialised in commit order, pipelined with the log's group
commit, visible only once durable. Reads run on a snapshot of the projection and report its
applied LSN; `as_of_lsn` reads a past state (`projections.timetravel`).

Security plugs in through `AccessControl`: for a principal it may supply a query `rewrite`
(row-level security), a SQLite authorizer (the second wall) and a check of the rows each
write statement produced (its captured changes, before the record is submitted). A
principal of None is admin and gets none of them.

Governance: every statement runs under a `Deadline` (`projections.deadline`): the caller's
(`deadline=`, which it may `cancel()` from another thread, e.g. on a client's cancel
request), else one of `timeout=` seconds, else the database's default
(`DatabaseOptions.statement_timeout_s`, None for embedded use: no deadline). A statement
past its deadline, or cancelled, raises `QueryCanceledError` and changes nothing; reads,
the write work in the commit pipeline and the replay behind `as_of_lsn` are all bounded.
`cancel_all()` cancels every running statement (a stopping server). A result larger than
`DatabaseOptions.result_limits` raises `LimitExceededError` while it is fetched.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from api import stages
from api.datadir import DataDir
from api.folds import all_folds
from api.initialise import DEFAULT_SEGMENT_BYTES, initialise
from api.logs import log_options, segment_source
from api.migrations import ledger
from api.migrations.files import Migration
from api.migrations.ledger import MigrationOutcome
from api.realtime.source import RecordSource
from api.sql import Outcome, Rewrite, SqlEngine
from api.sql.bounded import UNLIMITED, ResultLimits
from api.sql.catalog import Catalog, memo_catalog, snapshot_catalog
from api.sql.engine import Params
from api.sql.errors import BadRequestError, QueryCanceledError, StoreCorruptError
from api.sql.limits import record_too_large
from api.sql.lru import Memo
from api.sql.plan import ReadPlan
from api.sql.sqlite_errors import is_corruption
from api.writers import LogWriter, ReadOnlyReplica, Writer
from eventlog import Entry, EventLog, LogOptions, Pending, RecordTooLargeError
from eventlog.pruned import SegmentSource
from projections.checkpoint_policy import Checkpointer, CheckpointPolicy
from projections.checkpoints import Checkpoint, CheckpointStore
from projections.deadline import TIMEOUT_MESSAGE, Deadline, RunningStatements
from projections.errors import StatementCanceledError
from projections.folds import FoldRegistry
from projections.pipeline import CommitPipeline, Committed, Submit, SubmittedEvent, event_work
from projections.repair import OpenReport
from projections.store import ProjectionStore, Snapshot
from projections.timetravel import DEFAULT_CACHE_BYTES, TimeTravel

Authorizer = Callable[[int, str | None, str | None, str | None, str | None], int]
WriteCheck = Callable[[sqlite3.Connection, Outcome], None]
Verify = Callable[[list[Outcome]], None]
DEFAULT_NAMESPACE = "public"
MAX_PLANS = 1024
"""Read plans remembered (by statement text and context) before they are all forgotten."""
MAX_PLANNED_TEXT = 16 * 1024
"""The longest statement text whose plan is remembered (so the plans' memory stays bounded
by tens of megabytes, whatever statements clients send; parsing dominates a read that long
anyway)."""


class PrincipalLike(Protocol):
    """Who runs a statement: `id` is logged as the record's actor; `namespace` is where
    unqualified names resolve (None: admin, resolving to `public`)."""

    @property
    def id(self) -> str: ...
    @property
    def namespace(self) -> str | None: ...


class AccessControl(Protocol):
    """The security layer's hook, consulted for every non-admin principal."""

    def rewrite_for(self, principal: PrincipalLike) -> Rewrite | None:
        """A rewrite applied to each parsed statement (e.g. RLS predicates), or None."""
        ...

    def authorizer_for(self, principal: PrincipalLike) -> Authorizer | None:
        """A sqlite3 authorizer installed while the principal's statements run, or None."""
        ...

    def check_writes(self, principal: PrincipalLike) -> WriteCheck | None:
        """Called with the writer connection and the outcome of each write statement (its
        captured row images) right after it ran; raising refuses the whole request, which
        is rolled back with nothing logged. None: nothing to check."""
        ...


class Result(NamedTuple):
    """A statement's answer and the LSN it was read at or committed at; `types` is the
    declared type of each column where the engine knows it (`int4`, `numeric(10,2)`,
    `timestamptz`...; its family is `api.sql.typemap.family_of`).

    A named tuple rather than a frozen dataclass: every read makes one, and a frozen
    dataclass's `__init__` costs more than the rest of building a point read's answer."""

    columns: list[str]
    rows: list[list[Any]]
    rowcount: int
    lsn: int
    types: tuple[str | None, ...] | None = None


@dataclass(frozen=True)
class BatchResult:
    """The answers of an atomic batch, all committed at one LSN."""

    results: list[Result]
    lsn: int


@dataclass(frozen=True)
class _Context:
    """How to run statements for one principal."""

    actor: str
    namespace: str | None
    rewrite: Rewrite | None = None
    authorizer: Authorizer | None = None
    check: WriteCheck | None = None
    plans: object = field(init=False)
    """What a read plan of this context depends on besides the statement and the
    catalogue (the namespace and the rewrite's `cache_key`); None when its rewrite has no
    `cache_key`, so its reads are planned afresh every time."""

    def __post_init__(self) -> None:
        key = () if self.rewrite is None else getattr(self.rewrite, "cache_key", None)
        plans = None if key is None else (self.default_namespace, key)
        object.__setattr__(self, "plans", plans)

    @property
    def default_namespace(self) -> str:
        return self.namespace or DEFAULT_NAMESPACE


class NotInitialisedError(Exception):
    """The data directory has no log yet (`bkgdb init` creates one)."""


ADMIN_CONTEXT = _Context(actor="admin", namespace=None)


@dataclass
class DatabaseOptions:
    """Tunables of an embedded database (all optional)."""

    log_options: LogOptions | None = None
    checkpoint_policy: CheckpointPolicy = field(default_factory=CheckpointPolicy)
    time_travel_cache_bytes: int = DEFAULT_CACHE_BYTES
    access: AccessControl | None = None
    folds: FoldRegistry = field(default_factory=all_folds)
    statement_timeout_s: float | None = None
    """Deadline of a statement given none (None: unbounded, the embedded default)."""
    result_limits: ResultLimits = UNLIMITED
    """The most rows and bytes one statement may return."""
    segment_source: SegmentSource | None = None
    """Where reads of pruned segments fetch them (None: nowhere, or see `environment`)."""
    environment: bool = True
    """Whether what is left unset here comes from the `BKG_*` environment (`api.logs`): the
    segment size (`BKG_SEGMENT_BYTES`) and the archive pruned segments are fetched from
    (`BKG_S3_*`). A server passes False: its `api.settings.Settings` say everything."""


class Database:
    """An open data directory: the projection and its readers, and behind them a `Writer`
    (`api.writers`): a primary's log writer, or a read replica's follower-fed store."""

    def __init__(self, data: DataDir, writer: Writer, options: DatabaseOptions) -> None:
        self.data = data
        self.writer = writer
        self.store = writer.store
        self.engine = SqlEngine()
        self._access = options.access
        self._folds = options.folds
        self.statement_timeout_s = options.statement_timeout_s
        self.result_limits = options.result_limits
        self.running = RunningStatements()
        self._plans: Memo[tuple[str, object], ReadPlan] = Memo(MAX_PLANS)

    @classmethod
    def open(
        cls, data_dir: str | Path, options: DatabaseOptions | None = None, *, create: bool = True
    ) -> Database:
        """Open a data directory, repairing the projection from checkpoint + log if it was
        not closed cleanly. Like `sqlite3.connect`, a directory that does not exist (or is
        empty) is created and initialised first, as `bkgdb init` would; `create=False`
        refuses it with `NotInitialisedError` instead (as `bkgdb serve` does)."""
        options = options or DatabaseOptions()
        data = DataDir(Path(data_dir))
        if not data.is_initialised():
            _create(data, options, create)
        chosen, source = options.log_options, options.segment_source
        if options.environment:
            chosen, source = chosen or log_options(data), source or segment_source(data)
        log = EventLog.open(data.log, data.signing_key(), chosen or data.log_options(), source)
        try:
            writer = LogWriter(
                data, log, options.folds, options.checkpoint_policy, options.time_travel_cache_bytes
            )
        except BaseException:
            log.close()
            raise
        return cls(data, writer, options)

    @classmethod
    def replica(
        cls,
        data: DataDir,
        store: ProjectionStore,
        primary: str | None,
        options: DatabaseOptions | None = None,
    ) -> Database:
        """A read replica's database over `store` (folded by a follower of `bkg.log`): reads
        run as on a primary, writes are refused naming `primary` (see `api.writers`)."""
        return cls(data, ReadOnlyReplica(store, primary), options or DatabaseOptions())

    @property
    def history(self) -> RecordSource:
        """The records readers may follow: the log, or a replica's applied records."""
        return self.writer.history

    @property
    def log(self) -> EventLog:
        """A primary's log writer (a replica has none: `ReadOnlyError`)."""
        return self._primary().log

    @property
    def checkpoints(self) -> CheckpointStore:
        return self._primary().checkpoints

    @property
    def pipeline(self) -> CommitPipeline:
        return self._primary().pipeline

    @property
    def time_travel(self) -> TimeTravel:
        return self._primary().time_travel

    @property
    def checkpointer(self) -> Checkpointer:
        return self._primary().checkpointer

    @property
    def open_report(self) -> OpenReport:
        """What opening found and repaired (a primary's projection)."""
        return self._primary().open_report

    def _primary(self) -> LogWriter:
        writer = self.writer
        if not isinstance(writer, LogWriter):
            writer.check_writable()
            raise TypeError(f"{type(writer).__name__} is not a log writer")
        return writer

    @property
    def applied_lsn(self) -> int:
        """The LSN of the last record visible to readers."""
        return self.store.applied_lsn

    # -- statements ----------------------------------------------------------------------

    def writes(
        self,
        statements: Sequence[tuple[str, Params]],
        principal: PrincipalLike | None = None,
        as_of_lsn: int | None = None,
    ) -> bool:
        """Whether any of `statements` writes, its names resolved in the principal's
        namespace: the one place where read or write is decided, for this facade and for
        every door (which classify on a reader thread, then await `write_async` without
        holding one). Parsing is cached, so running them does not parse again. A write
        at `as_of_lsn` is refused (past states cannot be written); so is any write to a
        read replica (`ReadOnlyError`)."""
        namespace = (principal.namespace if principal else None) or DEFAULT_NAMESPACE
        if not any(self.engine.is_write(sql, namespace) for sql, _ in statements):
            return False
        self.writer.check_writable()
        if as_of_lsn is not None:
            raise BadRequestError("as_of_lsn is for reads; past states cannot be written")
        return True

    def execute(
        self,
        sql: str,
        params: Params = None,
        principal: PrincipalLike | None = None,
        as_of_lsn: int | None = None,
        *,
        timeout: float | None = None,
        deadline: Deadline | None = None,
    ) -> Result:
        """Run one statement: a read on a snapshot (or a past state), a write durably; under
        `deadline`, else `timeout` seconds, else the default (see the module docstring)."""
        ctx = self._context(principal)
        plan = self._plans.get((sql, ctx.plans)) if as_of_lsn is None else None
        if plan is not None:
            # A read planned before (the hot path): known to read, parsed and translated;
            # governed as `_governed` does, without its context-manager object.
            governed, running = self.deadline(timeout, deadline), self.running
            running.start(governed)
            try:
                return self._read(ctx, sql, params, None, governed, plan)
            except (QueryCanceledError, StatementCanceledError) as exc:
                raise _cancellation(running, governed) from exc
            finally:
                running.finish(governed)
        with self._governed(timeout, deadline) as governed:
            if not self.writes([(sql, params)], principal, as_of_lsn):
                return self._read(ctx, sql, params, as_of_lsn, governed)
            work = self._write_work(ctx, [(sql, params)], governed)
            committed = self.writer.run(work)
            return _result(committed.value[0], committed.lsn)

    def deadline(self, timeout: float | None = None, deadline: Deadline | None = None) -> Deadline:
        """The deadline a statement runs under: `deadline`, else one of `timeout` seconds,
        else one of the default timeout (no deadline when that is None)."""
        if deadline is not None:
            return deadline
        return Deadline(timeout if timeout is not None else self.statement_timeout_s)

    def cancel_all(self, reason: str | None = None) -> int:
        """Cancel every running statement, and every one started from now on (a stopping
        server); returns how many were running."""
        return self.running.cancel_all(*(() if reason is None else (reason,)))

    def _read(
        self,
        ctx: _Context,
        sql: str,
        params: Params,
        as_of_lsn: int | None,
        deadline: Deadline,
        plan: ReadPlan | None = None,
    ) -> Result:
        """A read on a pooled snapshot of the newest state (with the principal's authorizer
        installed; by `plan` if it is still valid there), or on the state at `as_of_lsn`."""
        snapshot = self.store.acquire(ctx.authorizer)  # the hot path: no context managers
        try:
            if as_of_lsn is None or as_of_lsn == snapshot.lsn:
                return self._read_snapshot(snapshot, ctx, sql, params, deadline, plan)
        finally:
            self.store.release(snapshot)
        with self.writer.state_at(as_of_lsn, deadline) as conn:
            return _result(self._run(conn, ctx, sql, params, deadline), as_of_lsn)

    def _read_snapshot(
        self,
        snapshot: Snapshot,
        ctx: _Context,
        sql: str,
        params: Params,
        deadline: Deadline,
        plan: ReadPlan | None,
    ) -> Result:
        """A read statement on a pooled snapshot by its plan: `plan` (the one remembered
        for the statement and context) if the snapshot sees the catalogue it was made
        under, else a new one (remembered in its place)."""
        deadline.check()
        conn = snapshot.conn
        try:
            catalog = snapshot_catalog(snapshot)
            if plan is None or plan.token != catalog.token:
                plan = self._plan(ctx, sql, catalog)
            with deadline.watching(conn):
                columns, rows = plan.run(conn, params, self.result_limits)
        except (sqlite3.DatabaseError, StoreCorruptError) as exc:
            if is_corruption(exc):
                raise self._damaged(exc) from exc
            raise
        return Result(columns, rows, len(rows), snapshot.lsn, plan.types)

    def _plan(self, ctx: _Context, sql: str, catalog: Catalog) -> ReadPlan:
        """A new plan of a read, remembered unless its context's rewrite has no key or the
        statement is longer than `MAX_PLANNED_TEXT`."""
        plan = self.engine.read_plan(sql, ctx.default_namespace, ctx.rewrite, catalog)
        if plan is None:
            raise BadRequestError("a statement that writes cannot run on a snapshot")
        if ctx.plans is not None and len(sql) <= MAX_PLANNED_TEXT:
            self._plans.put((sql, ctx.plans), plan)
        return plan

    def execute_batch(
        self,
        statements: Sequence[tuple[str, Params]],
        principal: PrincipalLike | None = None,
        *,
        timeout: float | None = None,
        deadline: Deadline | None = None,
        verify: Verify | None = None,
    ) -> BatchResult:
        """Run statements atomically as one transaction and one log record (reads only: on
        one snapshot, no record), all under one deadline. `verify`, if given, sees the
        outcomes before anything is logged; raising refuses the batch, which then changes
        nothing (the wire protocol's transactions check that a commit answers what the
        client was shown)."""
        ctx = self._context(principal)
        with self._governed(timeout, deadline) as governed:
            if not self.writes(statements, principal):
                with self.store.snapshot() as snap:
                    outcomes = [
                        self._run(snap.conn, ctx, sql, params, governed, snapshot=snap)
                        for sql, params in statements
                    ]
                    if verify is not None:
                        verify(outcomes)
                    return BatchResult([_result(o, snap.lsn) for o in outcomes], snap.lsn)
            work = self._write_work(ctx, statements, governed, verify)
            return _batch_result(self.writer.run(work))

    def append_event(self, entry: Entry) -> int:
        """Append a non-SQL event (auth, policy, storage) through the same serialised commit
        path, folded into the projection by its registered fold; returns its LSN."""
        return self.writer.run(event_work(entry, self._folds)).lsn

    async def execute_async(
        self,
        sql: str,
        params: Params = None,
        principal: PrincipalLike | None = None,
        as_of_lsn: int | None = None,
        *,
        timeout: float | None = None,
        deadline: Deadline | None = None,
    ) -> Result:
        """`execute` for asyncio: writes wait on the pipeline's future, reads in a thread.
        (The caller that already knows the statement writes, parsed off the event loop,
        awaits `write_async`.)"""
        if as_of_lsn is None and self.writes([(sql, params)], principal):
            batch = await self.write_async([(sql, params)], principal, timeout, deadline)
            return batch.results[0]
        return await asyncio.to_thread(
            self.execute, sql, params, principal, as_of_lsn, timeout=timeout, deadline=deadline
        )

    async def execute_batch_async(
        self,
        statements: Sequence[tuple[str, Params]],
        principal: PrincipalLike | None = None,
        *,
        timeout: float | None = None,
        deadline: Deadline | None = None,
        verify: Verify | None = None,
    ) -> BatchResult:
        """`execute_batch` for asyncio: a write batch waits on the pipeline's future (no
        thread held while it waits for the fsync), a read-only batch runs in a thread."""
        if self.writes(statements, principal):
            return await self.write_async(statements, principal, timeout, deadline, verify)
        return await asyncio.to_thread(
            self.execute_batch,
            statements,
            principal,
            timeout=timeout,
            deadline=deadline,
            verify=verify,
        )

    async def write_async(
        self,
        statements: Sequence[tuple[str, Params]],
        principal: PrincipalLike | None = None,
        timeout: float | None = None,
        deadline: Deadline | None = None,
        verify: Verify | None = None,
    ) -> BatchResult:
        """Statements known to write (classified by the caller), as one transaction and one
        log record, awaited on the pipeline's future without holding a thread (`verify`:
        see `execute_batch`)."""
        ctx = self._context(principal)
        with self._governed(timeout, deadline) as governed, stages.Timed(stages.COMMIT):
            future = self.writer.submit(self._write_work(ctx, statements, governed, verify))
            return _batch_result(await asyncio.wrap_future(future))

    def apply_migration(
        self,
        migration: Migration,
        statements: Sequence[str],
        principal: PrincipalLike | None = None,
        *,
        deadline: Deadline | None = None,
    ) -> MigrationOutcome:
        """Apply `migration` (its `statements`, `api.migrations.files.statements_of`) as one
        transaction and one record, unless the ledger says it was applied (then nothing is
        done: `applied` False) or refuses it (`MigrationError`, nothing done); a statement
        that fails fails it whole."""
        self.writer.check_writable()
        with self._governed(None, deadline) as governed:
            work = self._migration_work(self._context(principal), migration, statements, governed)
            return self.writer.run(work).value

    async def apply_migration_async(
        self,
        migration: Migration,
        statements: Sequence[str],
        principal: PrincipalLike | None = None,
        *,
        deadline: Deadline | None = None,
    ) -> MigrationOutcome:
        """`apply_migration` for asyncio (no thread held while the record is made durable)."""
        self.writer.check_writable()
        with self._governed(None, deadline) as governed:
            work = self._migration_work(self._context(principal), migration, statements, governed)
            return (await asyncio.wrap_future(self.writer.submit(work))).value

    async def append_event_async(self, entry: Entry) -> int:
        """`append_event` for asyncio."""
        with stages.Timed(stages.COMMIT):
            future = self.writer.submit(event_work(entry, self._folds))
            return (await asyncio.wrap_future(future)).lsn

    # -- maintenance ---------------------------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        """Take a checkpoint of the current state now (retiring old ones by the policy)."""
        return self.writer.checkpoint()

    def close(self) -> None:
        """Finish queued writes, close the projection cleanly and release the log."""
        self.writer.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------

    def _context(self, principal: PrincipalLike | None) -> _Context:
        if principal is None:
            return ADMIN_CONTEXT
        access = self._access
        return _Context(
            actor=principal.id,
            namespace=principal.namespace,
            rewrite=access.rewrite_for(principal) if access else None,
            authorizer=access.authorizer_for(principal) if access else None,
            check=access.check_writes(principal) if access else None,
        )

    def _governed(self, timeout: float | None, deadline: Deadline | None) -> _Governed:
        """The deadline a call's statements run under (see `deadline`), tracked while they
        run so that `cancel_all` reaches them; a cancellation (by the deadline, a cancel
        request or a stopping server) leaves as `QueryCanceledError` saying why, counted."""
        return _Governed(self.running, self.deadline(timeout, deadline))

    def _run(
        self,
        conn: sqlite3.Connection,
        ctx: _Context,
        sql: str,
        params: Params,
        deadline: Deadline,
        interruptible: bool = True,
        snapshot: Snapshot | None = None,
        memo: dict[str, object] | None = None,
    ) -> Outcome:
        """One statement on `conn` as the context's principal, under `deadline`; on a
        pooled `snapshot` (whose connection `conn` is) with the catalogue it memoises, or
        with the catalogue kept in `memo` (the write connection's)."""
        deadline.check()
        try:
            catalog = None
            if snapshot is not None:
                catalog = snapshot_catalog(snapshot)
                snapshot.authorize(ctx.authorizer)  # stays installed: see ProjectionStore
            elif memo is not None:
                catalog = memo_catalog(conn, memo)
            authorizer = ctx.authorizer if snapshot is None else None
            ns, rewrite, limits = ctx.default_namespace, ctx.rewrite, self.result_limits
            watched = deadline.watching(conn, interruptible=interruptible)
            with watched, _authorized(conn, authorizer):
                return self.engine.execute(conn, sql, params, ns, rewrite, limits, catalog)
        except (sqlite3.DatabaseError, StoreCorruptError) as exc:
            if is_corruption(exc):
                raise self._damaged(exc) from exc
            raise

    def _damaged(self, exc: sqlite3.DatabaseError | StoreCorruptError) -> Exception:
        """SQLite found the file malformed: from now on the store answers nothing (503) and
        the next open rebuilds it from the log."""
        return self.store.mark_damaged(str(exc))

    def _run_write(
        self, conn: sqlite3.Connection, ctx: _Context, sql: str, params: Params, deadline: Deadline
    ) -> Outcome:
        """One statement of a write request (on the write connection, which is never
        interrupted from outside: see `projections.deadline`), then the principal's check
        of what it wrote. The catalogue is the one kept for the write connection, which
        DDL makes it forget (a failed job's rollback does too: `projections.pipeline`)."""
        memo = self.store.write_memo
        outcome = self._run(conn, ctx, sql, params, deadline, interruptible=False, memo=memo)
        if outcome.is_ddl:
            memo.clear()
        if ctx.check is not None and outcome.is_write:
            ctx.check(conn, outcome)
        return outcome

    def _write_work(
        self,
        ctx: _Context,
        statements: Sequence[tuple[str, Params]],
        deadline: Deadline,
        verify: Verify | None = None,
    ) -> Callable[[sqlite3.Connection, Submit], list[Outcome]]:
        """The pipeline job of a write request: run every statement, then log one record,
        unless nothing changed (0-row UPDATE/DELETE, IF [NOT] EXISTS with nothing to do):
        then no record, and the answer carries the LSN of the state it ran on."""

        def work(conn: sqlite3.Connection, submit: Submit) -> list[Outcome]:
            outcomes = [
                self._run_write(conn, ctx, sql, params, deadline) for sql, params in statements
            ]
            if verify is not None:
                verify(outcomes)
            if any(o.changes for o in outcomes):
                _submit(submit, _sql_entry(ctx, outcomes))
            return outcomes

        return work

    def _migration_work(
        self, ctx: _Context, migration: Migration, statements: Sequence[str], deadline: Deadline
    ) -> Callable[[sqlite3.Connection, Submit], MigrationOutcome]:
        """The pipeline job of a migration: the ledger's check, then its statements as one
        record stamped with the migration (even when they change nothing), then its ledger
        row, all in one transaction (see `api.migrations`)."""

        def work(conn: sqlite3.Connection, submit: Submit) -> MigrationOutcome:
            done = ledger.check_new(conn, migration)
            if done is not None:
                return MigrationOutcome(done, applied=False)
            outcomes = [self._run_write(conn, ctx, sql, None, deadline) for sql in statements]
            entry = _sql_entry(ctx, outcomes, migration=ledger.stamp(migration))
            pending = _submit(submit, entry)
            event = SubmittedEvent(
                pending.lsn, pending.ts_us, entry.kind, entry.actor, entry.namespace, entry.payload
            )
            return MigrationOutcome(ledger.record(conn, event), applied=True)

        return work


def _sql_entry(ctx: _Context, outcomes: Sequence[Outcome], **extra: Any) -> Entry:
    """The one record of a write request's outcomes ("ddl" when any statement is DDL)."""
    payload = {
        "statements": [o.statement for o in outcomes if o.is_write],
        "changes": [change for o in outcomes for change in o.changes],
        **extra,
    }
    kind = "ddl" if any(o.is_ddl for o in outcomes) else "dml"
    return Entry(kind, payload, actor=ctx.actor, namespace=ctx.namespace)


def _submit(submit: Submit, entry: Entry) -> Pending:
    """Submit `entry`; one too large for the log is the client's error (413)."""
    try:
        return submit(entry)
    except RecordTooLargeError as exc:
        raise record_too_large(exc) from exc


def _create(data: DataDir, options: DatabaseOptions, create: bool) -> None:
    """Initialise a missing or empty data directory, unless refused (`create=False`)."""
    if not create:
        raise NotInitialisedError(f"{data.root} is not an initialised data directory")
    if data.root.exists() and any(data.root.iterdir()):
        raise NotInitialisedError(f"{data.root} is not a data directory and is not empty")
    chosen = options.log_options.segment_bytes if options.log_options else None
    initialise(data, chosen or DEFAULT_SEGMENT_BYTES)


class _Governed:
    """`Database._governed`'s context (a plain object: every statement enters one)."""

    __slots__ = ("deadline", "running")

    def __init__(self, running: RunningStatements, deadline: Deadline) -> None:
        self.running, self.deadline = running, deadline

    def __enter__(self) -> Deadline:
        self.running.start(self.deadline)
        return self.deadline

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        self.running.finish(self.deadline)
        if isinstance(exc, QueryCanceledError | StatementCanceledError):
            raise _cancellation(self.running, self.deadline) from exc


def _cancellation(running: RunningStatements, deadline: Deadline) -> QueryCanceledError:
    """The error of a statement cancelled (by its deadline, a cancel request or a stopping
    server), saying why, and counted."""
    reason = deadline.reason or TIMEOUT_MESSAGE
    running.count_cancelled(reason)
    return QueryCanceledError(reason)


@contextmanager
def _authorized(conn: sqlite3.Connection, authorizer: Authorizer | None) -> Iterator[None]:
    """Install a principal's authorizer for the duration of its statements (on connections
    outside the snapshot pool, which keeps its own installed: see `ProjectionStore`)."""
    if authorizer is None:
        yield
        return
    conn.set_authorizer(authorizer)
    try:
        yield
    finally:
        conn.set_authorizer(None)


def _batch_result(committed: Committed[list[Outcome]]) -> BatchResult:
    """The answers of a committed batch, all at its one LSN."""
    return BatchResult([_result(o, committed.lsn) for o in committed.value], committed.lsn)


def _result(outcome: Outcome, lsn: int) -> Result:
    """The client's view of an outcome (the engine hands over fresh lists it keeps no
    reference to, so they are not copied)."""
    return Result(outcome.columns, outcome.rows, outcome.rowcount, lsn, outcome.types)


__all__ = [
    "AccessControl",
    "BatchResult",
    "Database",
    "DatabaseOptions",
    "OpenReport",
    "PrincipalLike",
    "Result",
]
