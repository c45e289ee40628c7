"""How the wire protocol runs statements on the `Database`: on the reader pool, as the
session's principal, and transaction blocks with Postgres-like visible behaviour.

A block (`BEGIN ... COMMIT`) commits as one log record through `Database.execute_batch`.
Until then nothing is written: each statement inside the block is *rehearsed*, i.e. the
block so far plus the new statement runs as one transaction on the writer and is rolled
back, so the client sees its own writes, real row counts, RETURNING values and errors at
the statement that causes them. COMMIT runs the block for real and checks, before the
record is logged, that every statement answers what the client was shown; if a concurrent
commit changed an answer, the commit is refused with 40001 (serialization_failure) and
nothing is written, as Postgres does under SERIALIZABLE.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from api.auth.principal import Principal
from api.database import Result
from api.http.backend import Backend
from api.pgwire.answers import Answer
from api.pgwire.errors import PgError
from api.pgwire.infer import parameter_types, returning_columns
from api.pgwire.types import oid_of_declared
from api.readers import OverloadedError
from api.sql.catalog import snapshot_catalog
from api.sql.engine import Outcome, Params
from api.sql.lru import LRU
from projections.deadline import Deadline

T = TypeVar("T")
CACHE_SIZE = 1024
"""Statements whose classification and parameter types are remembered (per server)."""
_RETURNING = re.compile(r"\breturning\b", re.IGNORECASE)
MAX_BLOCK_STATEMENTS = 1000
"""Statements in one transaction block (each is rehearsed with all before it)."""


class _RehearsedError(Exception):
    """Carries a rehearsal's outcomes out of the write work, which then rolls back."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        super().__init__("rehearsal")
        self.outcomes = outcomes


@dataclass
class Block:
    """An open transaction block: its statements and what the client was shown of each."""

    statements: list[tuple[str, Params]] = field(default_factory=list)
    shown: list[tuple[list[list[Any]], int]] = field(default_factory=list)
    writes: bool = False
    failed: bool = False
    savepoints: list[tuple[str, int, bool]] = field(default_factory=list)
    """Open savepoints: name, statements before it, whether those wrote."""

    def savepoint(self, name: str) -> None:
        if len(self.savepoints) >= MAX_BLOCK_STATEMENTS:
            raise PgError("54000", f"a transaction holds at most {MAX_BLOCK_STATEMENTS} savepoints")
        self.savepoints.append((name, len(self.statements), self.writes))

    def release(self, name: str, rollback: bool) -> None:
        """RELEASE (keep the work since) or ROLLBACK TO (undo it, and the failure) a
        savepoint; ROLLBACK TO keeps the savepoint, as in Postgres."""
        found = [i for i, (n, _, _) in enumerate(self.savepoints) if n == name]
        if not found:
            raise PgError("3B001", f'savepoint "{name}" does not exist')
        index = found[-1]
        _, count, writes = self.savepoints[index]
        if rollback:
            del self.statements[count:], self.shown[count:], self.savepoints[index + 1 :]
            self.writes, self.failed = writes, False
        else:
            del self.savepoints[index:]


class Runner:
    """Runs a session's statements: parsing and reading on the server's bounded, fair reader
    pool (as the HTTP door does), writes awaited on the commit pipeline, every statement
    under a `Deadline` the session can cancel."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.db = backend.db
        self._writes: LRU[tuple[str, str], bool] = LRU(CACHE_SIZE)
        """Whether a statement (in a namespace) writes, as the engine classified it."""
        self._parameters: LRU[tuple[str, str, tuple[int, ...], str], list[int]] = LRU(CACHE_SIZE)
        """Inferred parameter types by statement, namespace, declared types and catalogue
        version (inference parses the statement again)."""

    def deadline(self, principal: Principal, timeout_s: float | None) -> Deadline:
        """A statement's deadline: the server's and the principal kind's statement timeout,
        lowered by the session's `statement_timeout` (seconds; None: not set)."""
        millis = None if timeout_s is None else max(1, int(timeout_s * 1000))
        return self.backend.deadline(principal, millis)

    async def call(self, principal: Principal, fn: Callable[[], T]) -> T:
        """Run blocking work (parsing, reading, waiting for a commit) on the reader pool,
        in the principal's namespace's share (`Backend.off_loop`, as the HTTP door does); a
        full pool is 53000 (retry later)."""
        try:
            return await self.backend.off_loop(principal, fn)
        except OverloadedError as exc:
            raise PgError("53000", str(exc), hint="retry later") from exc

    async def execute(
        self, sql: str, params: Params, principal: Principal, deadline: Deadline
    ) -> Result:
        """One autocommit statement: a read on a snapshot (parsed and read on a thread), a
        write as one record (classified on the thread, then awaited on the commit
        pipeline without holding a thread while its record is made durable)."""

        def read() -> Result | None:
            if self.db.writes([(sql, params)], principal):
                return None
            return self.db.execute(sql, params, principal, deadline=deadline)

        result = await self.call(principal, read)
        if result is not None:
            return result
        batch = await self.db.write_async([(sql, params)], principal, deadline=deadline)
        return batch.results[0]

    async def read_or_shape(
        self, sql: str, params: Params, principal: Principal, deadline: Deadline
    ) -> Result | Answer:
        """A read's result, or a write's shape (its RETURNING columns, `deferred`) without
        running it, in one trip to the reader pool."""
        namespace = principal.default_namespace
        if self._writes.get((sql, namespace)) and _RETURNING.search(sql) is None:
            return Answer("", deferred=True)  # a known write answering no rows: no trip

        def read() -> Result | Answer:
            writes = self.db.engine.is_write(sql, namespace)
            self._writes.put((sql, namespace), writes)
            if not writes:
                return self.db.execute(sql, params, principal, deadline=deadline)
            answer = self._returning(sql, namespace)
            answer.deferred = True
            return answer

        return await self.call(principal, read)

    async def write_alone(
        self, sql: str, params: Params, principal: Principal, deadline: Deadline
    ) -> Answer:
        """A write as one record, awaited on the commit pipeline."""
        batch = await self.db.write_async([(sql, params)], principal, deadline=deadline)
        return Answer.of_result(sql, batch.results[0])

    async def in_block(
        self, block: Block, sql: str, params: Params, principal: Principal, deadline: Deadline
    ) -> Result:
        """Run a statement inside a block (see the module docstring); on error the block
        is failed and the caller reports it."""
        if len(block.statements) >= MAX_BLOCK_STATEMENTS:
            raise PgError("54000", f"a transaction holds at most {MAX_BLOCK_STATEMENTS} statements")
        writes = block.writes or await self.call(
            principal, lambda: self.db.writes([(sql, params)], principal)
        )
        if not writes:
            result = await self.execute(sql, params, principal, deadline)
        else:
            statements = [*block.statements, (sql, params)]
            result = await self.call(
                principal, lambda: self._rehearse(statements, principal, deadline)
            )
        block.statements.append((sql, params))
        block.shown.append((result.rows, result.rowcount))
        block.writes = writes
        return result

    async def commit(self, block: Block, principal: Principal, deadline: Deadline) -> None:
        """Commit a block as one record, refusing it if an answer changed (40001)."""
        if not block.writes:
            return

        def verify(outcomes: list[Outcome]) -> None:
            for outcome, (rows, rowcount) in zip(outcomes, block.shown, strict=True):
                if outcome.rows != rows or outcome.rowcount != rowcount:
                    raise PgError(
                        "40001",
                        "could not serialize access due to concurrent update",
                        hint="retry the transaction",
                    )

        await self.db.write_async(block.statements, principal, deadline=deadline, verify=verify)

    async def parameter_types(
        self, sql: str, principal: Principal, declared: list[int]
    ) -> list[int]:
        """The OIDs of a statement's parameters (declared, else inferred, else text)."""
        namespace = principal.default_namespace

        def infer() -> list[int]:
            with self.db.store.snapshot() as snap:
                catalog = snapshot_catalog(snap)
            key = (sql, namespace, tuple(declared), catalog.token)
            found = self._parameters.get(key)
            if found is None:
                found = parameter_types(sql, namespace, catalog, declared)
                self._parameters.put(key, found)
            return list(found)

        return await self.call(principal, infer)

    async def shape(
        self, sql: str, params: Params, principal: Principal, deadline: Deadline
    ) -> Answer:
        """The columns a statement answers, found without writing anything: a read runs
        (its parameters are NULL), a write's come from its RETURNING list."""
        namespace = principal.default_namespace

        def find() -> Answer:
            if not self.db.writes([(sql, params)], principal):
                result = self.db.execute(sql, params, principal, deadline=deadline)
                return Answer.of_result(sql, result)
            return self._returning(sql, namespace)

        return await self.call(principal, find)

    def _returning(self, sql: str, namespace: str) -> Answer:
        with self.db.store.snapshot() as snap:
            catalog = snapshot_catalog(snap)
        columns = returning_columns(sql, namespace, catalog)
        return Answer("", [name for name, _ in columns], [oid for _, oid in columns])

    async def columns_of(
        self, table: str, names: list[str], principal: Principal
    ) -> tuple[str, list[str], list[int]]:
        """A table's logical name, and the names and OIDs of `names` (all if empty)."""
        namespace = principal.default_namespace

        def find() -> tuple[str, list[str], list[int]]:
            logical = table.replace('"', "")
            logical = logical if "." in logical else f"{namespace}.{logical}"
            with self.db.store.snapshot() as snap:
                definition = snapshot_catalog(snap).table(logical)
            wanted = [n.replace('"', "") for n in names] or definition.column_names()
            columns = [definition.column(n) for n in wanted]
            missing = [n for n, c in zip(wanted, columns, strict=True) if c is None]
            if missing:
                raise PgError("42703", f'column "{missing[0]}" of {logical} does not exist')
            oids = [oid_of_declared(c.type) for c in columns if c is not None]
            return logical, wanted, oids

        return await self.call(principal, find)

    async def write_batch(
        self,
        block: Block | None,
        statements: Sequence[tuple[str, Params]],
        principal: Principal,
        deadline: Deadline,
    ) -> None:
        """Statements that must all apply or none: one record, or part of the open block."""
        if block is None:
            await self.db.write_async(statements, principal, deadline=deadline)
            return
        for sql, params in statements:
            await self.in_block(block, sql, params, principal, deadline)

    def _rehearse(
        self, statements: list[tuple[str, Params]], principal: Principal, deadline: Deadline
    ) -> Result:
        def stop(outcomes: list[Outcome]) -> None:
            raise _RehearsedError(outcomes)

        try:
            self.db.execute_batch(statements, principal, deadline=deadline, verify=stop)
        except _RehearsedError as rehearsed:
            last = rehearsed.outcomes[-1]
            return Result(last.columns, last.rows, last.rowcount, 0, last.types)
        raise AssertionError("a rehearsal always stops before committing")
