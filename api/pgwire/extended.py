"""The extended query protocol: Parse, Bind, Describe, Execute, Close and Sync over named
and unnamed prepared statements and portals.

A portal runs when it is first described or executed and keeps its answer, so Describe
(which must name the columns before Execute) and Execute with a row limit (PortalSuspended)
read the same rows.

Outside an explicit block, everything executed between two Syncs is one implicit
transaction, as in Postgres: an error skips to Sync and nothing of the batch commits. The
common case, one write followed by Sync, is not rehearsed: a write outside any block is
*deferred* (described from its RETURNING list) and, when Sync comes next, runs on its own as
one record. Any other message first *promotes* it into an implicit block (rehearsed there);
the block commits at Sync.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from api.auth.principal import Principal
from api.pgwire import codec
from api.pgwire import types as t
from api.pgwire.answers import Answer, formats_for, row_description
from api.pgwire.catalog import Emulator
from api.pgwire.cursors import Cursors, cursor_statement
from api.pgwire.errors import PgError
from api.pgwire.notify import notify_statement
from api.pgwire.runner import Block, Runner
from api.pgwire.statements import control
from projections.deadline import Deadline

MAX_PREPARED = 10_000
"""Prepared statements (and, separately, portals) one session may hold."""


@dataclass
class Prepared:
    """A parsed (named or unnamed) statement: its text and parameter types."""

    sql: str
    param_oids: list[int]
    described: Answer | None = None


@dataclass
class Portal:
    """A bound statement: parameter values, result formats, and its answer once run."""

    prepared: Prepared
    params: list[Any]
    result_codes: list[int]
    answer: Answer | None = None
    sent: int = 0


class Conversation(Protocol):
    """What the extended protocol needs of its session."""

    runner: Runner
    principal: Principal
    emulator: Emulator
    cursors: Cursors
    charge: Callable[[Principal], None]
    skipping: bool
    block: Block | None

    def send(self, data: bytes) -> None: ...

    def ready(self) -> None: ...

    def governed(self) -> AbstractContextManager[Deadline]: ...

    def answer(
        self, sql: str, params: list[Any] | None, defer: bool = False
    ) -> Coroutine[Any, Any, Answer]: ...

    def send_answer(
        self, answer: Answer, binary: list[bool], describe: bool, limit: int
    ) -> int: ...

    def fail(self, exc: Exception) -> None: ...

    def open_implicit(self) -> None: ...

    def commit_implicit(self) -> Coroutine[Any, Any, None]: ...


class Extended:
    """One session's prepared statements and portals, and the messages that use them."""

    def __init__(self, session: Conversation) -> None:
        self.session = session
        self.prepared: dict[str, Prepared] = {}
        self.portals: dict[str, Portal] = {}
        self.pending: tuple[Portal, int] | None = None
        """A deferred write executed with its row limit, run when the next message comes."""

    async def parse(self, body: bytes) -> None:
        payload = codec.Payload(body)
        name, sql = payload.cstring(), payload.cstring()
        declared = payload.int32s()
        if name and name in self.prepared:
            raise PgError("42P05", f'prepared statement "{name}" already exists')
        if len(self.prepared) >= MAX_PREPARED:
            raise PgError("54000", f"a session holds at most {MAX_PREPARED} prepared statements")
        cursor = cursor_statement(sql)
        typed = cursor.query if cursor is not None and cursor.kind == "declare" else sql
        oids = await self.session.runner.parameter_types(typed, self.session.principal, declared)
        self.prepared[name] = Prepared(sql, oids)
        self.session.send(codec.PARSE_COMPLETE)

    async def bind(self, body: bytes) -> None:
        payload = codec.Payload(body)
        portal, name = payload.cstring(), payload.cstring()
        prepared = self._statement(name)
        codes = payload.int16s()
        values = payload.values()
        result_codes = payload.int16s()
        if len(values) != len(prepared.param_oids):
            raise PgError(
                "08P01",
                f"bind message supplies {len(values)} parameters, "
                f"but prepared statement requires {len(prepared.param_oids)}",
            )
        binary = formats_for(codes, len(values))
        params = [
            None if value is None else t.decode(value, oid, flag)
            for value, oid, flag in zip(values, prepared.param_oids, binary, strict=True)
        ]
        if portal and portal in self.portals:
            raise PgError("42P03", f'portal "{portal}" already exists')
        if len(self.portals) >= MAX_PREPARED:
            raise PgError("54000", f"a session holds at most {MAX_PREPARED} portals")
        self.portals[portal] = Portal(prepared, params, result_codes)
        self.session.send(codec.BIND_COMPLETE)

    async def describe(self, body: bytes) -> None:
        payload = codec.Payload(body)
        what, name = payload.byte(), payload.cstring()
        if what == b"S":
            prepared = self._statement(name)
            self.session.send(codec.parameter_description(prepared.param_oids))
            if prepared.described is None:
                prepared.described = await self._shape(prepared)
            self._describe_answer(prepared.described, [])
            return
        if what != b"P":
            raise codec.protocol_error("Describe takes S or P")
        cursor = self.session.cursors.open.get(name) if name not in self.portals else None
        if cursor is not None:  # a DECLAREd cursor is a portal too (psycopg describes it)
            self._describe_answer(cursor.shape(), [])
            return
        portal = self._portal(name)
        await self._run_portal(portal)
        assert portal.answer is not None
        self._describe_answer(portal.answer, portal.result_codes)

    def _describe_answer(self, answer: Answer, codes: list[int]) -> None:
        if answer.columns:
            self.session.send(row_description(answer, formats_for(codes, len(answer.columns))))
        else:
            self.session.send(codec.NO_DATA)

    async def _shape(self, prepared: Prepared) -> Answer:
        """The columns a statement will answer, without changing anything: control and
        catalogue statements and reads run with NULL parameters; a write's columns come
        from its RETURNING list."""
        ctl = control(prepared.sql)
        if ctl is not None:
            if ctl.kind == "show":
                return Answer.text("SHOW", [ctl.name if ctl.name != "all" else "name"], [])
            return Answer("")
        cursor = cursor_statement(prepared.sql)
        if cursor is not None:
            if cursor.kind == "fetch":
                return self.session.cursors.get(cursor.name).shape()
            return Answer("")
        if notify_statement(prepared.sql) is not None:
            return Answer("")
        nulls: list[Any] = [None] * len(prepared.param_oids)
        emulated = await self.session.emulator.answer(prepared.sql, nulls)
        if emulated is not None:
            return emulated
        with self.session.governed() as deadline:
            return await self.session.runner.shape(
                prepared.sql, nulls, self.session.principal, deadline
            )

    async def _run_portal(self, portal: Portal) -> None:
        """Run a portal not run yet; a write outside any block may come back deferred."""
        if portal.answer is None:
            self.session.charge(self.session.principal)
            defer = self.pending is None
            answer = await self.session.answer(portal.prepared.sql, portal.params, defer)
            self._keep(portal, answer)

    def _keep(self, portal: Portal, answer: Answer) -> None:
        described = portal.prepared.described
        if described is not None and len(described.oids) == len(answer.oids):
            answer.oids = described.oids
        portal.answer = answer

    async def execute(self, body: bytes) -> None:
        payload = codec.Payload(body)
        portal = self._portal(payload.cstring())
        limit = payload.int32()
        await self._run_portal(portal)
        answer = portal.answer
        assert answer is not None
        if answer.deferred:
            if self.pending is None and self.session.block is None:
                self.pending = (portal, limit)
                return
            await self._run_deferred(portal, in_block=True)
        self._send_rows(portal, limit)

    def _send_rows(self, portal: Portal, limit: int) -> None:
        answer = portal.answer
        assert answer is not None
        if not answer.tag and not answer.columns:
            self.session.send(codec.EMPTY_QUERY)
            return
        binary = formats_for(portal.result_codes, len(answer.columns))
        remaining = Answer(answer.tag, answer.columns, answer.oids, answer.rows[portal.sent :])
        portal.sent += self.session.send_answer(remaining, binary, describe=False, limit=limit)
        if 0 < limit < len(remaining.rows):
            self.session.send(codec.PORTAL_SUSPENDED)

    async def _run_deferred(self, portal: Portal, in_block: bool) -> None:
        """Run a deferred write: alone as one record, or rehearsed in the implicit block."""
        shape = portal.answer
        assert shape is not None
        portal.answer = None
        sql, params = portal.prepared.sql, portal.params
        if in_block:
            self.session.open_implicit()
            answer = await self.session.answer(sql, params)
        else:
            with self.session.governed() as deadline:
                answer = await self.session.runner.write_alone(
                    sql, params, self.session.principal, deadline
                )
        if len(answer.oids) == len(shape.oids):
            answer.oids = shape.oids
        portal.answer = answer

    async def settle(self, syncing: bool) -> None:
        """Run the deferred write before the next message: alone when that message is a
        Sync (or a simple Query), else in the implicit block the batch now needs."""
        if self.pending is None:
            return
        portal, limit = self.pending
        self.pending = None
        await self._run_deferred(portal, in_block=not syncing)
        self._send_rows(portal, limit)

    async def close(self, body: bytes) -> None:
        payload = codec.Payload(body)
        what, name = payload.byte(), payload.cstring()
        if what == b"S":
            self.prepared.pop(name, None)
        elif what == b"P":
            self.portals.pop(name, None)
        else:
            raise codec.protocol_error("Close takes S or P")
        self.session.send(codec.CLOSE_COMPLETE)

    async def sync(self, body: bytes) -> None:
        """End of a batch: its implicit transaction commits (unless it failed)."""
        if not self.session.skipping:
            try:
                await self.session.commit_implicit()
            except Exception as exc:  # reported like any failure of the batch
                self.session.fail(exc)
        self.session.skipping = False
        self.portals.pop("", None)
        self.session.ready()

    def _statement(self, name: str) -> Prepared:
        found = self.prepared.get(name)
        if found is None:
            raise PgError("26000", f'prepared statement "{name}" does not exist')
        return found

    def _portal(self, name: str) -> Portal:
        found = self.portals.get(name)
        if found is None:
            raise PgError("34000", f'portal "{name}" does not exist')
        return found
