"""One client connection after startup: the message loop, simple and extended query
protocols, and the transaction state reported in ReadyForQuery.

Nothing here blocks the event loop: splitting, parsing, reading and committing go through
the `Runner` (threads); the loop only frames messages and encodes answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from api.auth.principal import Principal
from api.database import Result
from api.pgwire import codec
from api.pgwire.answers import Answer, data_rows, row_description
from api.pgwire.catalog import Emulator
from api.pgwire.copy import MAX_COPY_BYTES, Copy, insert_statements, lines_out, parse_copy, rows_in
from api.pgwire.cursors import Cursors, CursorStatement, cursor_statement
from api.pgwire.errors import PgError, to_pg_error
from api.pgwire.extended import Extended
from api.pgwire.notify import Listening, Notifier, notify_statement
from api.pgwire.runner import Block, Runner
from api.pgwire.settings import Settings
from api.pgwire.startup import Startup
from api.pgwire.statements import Control, control, returns_rows, split
from api.sql.lru import LRU
from projections.consumers.audit_lines import redact_literals
from projections.deadline import Deadline
from projections.tracing import root_span

FLUSH_BYTES = 1 << 16
NOTIFY_BACKLOG_BYTES = 1 << 20
"""Output a listener may leave unread before it is disconnected rather than buffered for."""
PLAIN_KEPT = 256
"""Statement texts a session remembers as plain engine statements."""
log = logging.getLogger("bkgdb.pgwire")
_IDLE, _IN_BLOCK, _FAILED = b"I", b"T", b"E"


class Session:
    """Serves one authenticated connection until Terminate or a fatal error."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        runner: Runner,
        startup: Startup,
        max_message_bytes: int,
        charge: Callable[[Principal], None],
        notifier: Notifier,
        pid: int,
    ) -> None:
        """`charge` takes one request from the principal's rate budget (or raises), once
        per Query and per portal run: the HTTP door charges once per request. `pid` is
        the process id of the session's BackendKeyData (senders of notifications are
        named by it)."""
        self.reader, self.writer, self.runner = reader, writer, runner
        self.principal: Principal = startup.principal
        self.startup = startup
        self.settings = Settings(startup.options)
        self.settings.values["session_authorization"] = startup.user
        self.max_message_bytes = max_message_bytes
        self.charge = charge
        self.block: Block | None = None
        self.implicit = False
        self.extended = Extended(self)
        self.skipping = False
        self.running: Deadline | None = None
        self.emulator = Emulator(runner, startup)
        self._plain: LRU[str, bool] = LRU(PLAIN_KEPT)
        """Statement texts known to be the engine's (see `_special`)."""
        self.cursors = Cursors()
        self.pid = pid
        self.idle = False
        self.listening = Listening(
            notifier, self.principal.default_namespace, id(self), self._deliver
        )
        self._out: list[bytes] = []
        self._size = 0
        self._handlers: dict[bytes, Callable[[bytes], Coroutine[Any, Any, None]]] = {
            b"Q": self._query,
            b"P": self.extended.parse,
            b"B": self.extended.bind,
            b"D": self.extended.describe,
            b"E": self.extended.execute,
            b"C": self.extended.close,
            b"H": self._flush_message,
            b"S": self.extended.sync,
        }

    def cancel(self) -> None:
        """A CancelRequest named this session: stop the statement it runs now (none
        running: nothing to do, as in Postgres)."""
        if self.running is not None:
            self.running.cancel()

    # -- output ---------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        self._out.append(data)
        self._size += len(data)

    async def flush(self) -> None:
        """Send what is buffered. A connection already closed (the client left, or the
        server is stopping) ends the session as a lost connection: uvloop's transport
        refuses the write outright, where asyncio's would drop it with a warning."""
        if self.writer.transport.is_closing():
            raise ConnectionResetError("the connection is closed")
        if self._out:
            self.writer.write(b"".join(self._out))
            self._out.clear()
            self._size = 0
        await self.writer.drain()

    async def _maybe_flush(self) -> None:
        if self._size >= FLUSH_BYTES:
            await self.flush()

    def ready(self) -> None:
        status = _IDLE if self.block is None else (_FAILED if self.block.failed else _IN_BLOCK)
        self.send(codec.ready_for_query(status))

    # -- the loop -------------------------------------------------------------------------

    def _deliver(self, pid: int, channel: str, payload: str) -> None:
        """A NotificationResponse: at once when the session waits for its client, else
        after the answer it is building."""
        transport = self.writer.transport
        if transport.is_closing():
            return
        if self._size + transport.get_write_buffer_size() > NOTIFY_BACKLOG_BYTES:
            log.warning("pgwire listener %s does not read its notifications: closed", self.pid)
            transport.abort()
            return
        message = codec.message(b"A", codec.int32(pid) + codec.cstr(channel) + codec.cstr(payload))
        if self.writer.transport.is_closing():
            return  # the listener is gone; uvloop refuses writes to a closed transport
        if self.idle and not self._out:
            self.writer.write(message)
        else:
            self.send(message)

    async def serve(self) -> None:
        """The message loop; returns on Terminate, raises PgError when fatal."""
        try:
            await self._loop()
        finally:
            self.listening.close()

    async def _loop(self) -> None:
        self.ready()
        await self.flush()
        while True:
            self.idle = True
            kind, body = await codec.read_message(self.reader, self.max_message_bytes)
            self.idle = False
            if kind == b"X":
                return
            if kind in (b"d", b"c", b"f"):
                continue  # COPY data after a failed COPY: ignored, as Postgres does
            handler = self._handlers.get(kind)
            if handler is None:
                raise codec.protocol_error(f"invalid frontend message type {kind[0]}")
            if self.extended.pending is not None:
                try:
                    await self.extended.settle(syncing=kind in (b"S", b"Q"))
                except Exception as exc:  # the deferred write's failure ends its batch
                    self.fail(_fatal_or(exc))
                    self.skipping = True
            if self.skipping and kind not in (b"S", b"Q", b"H"):
                continue
            try:
                await handler(body)
            except Exception as exc:  # every failure is reported to the client
                self.fail(_fatal_or(exc))
                self.skipping = kind != b"Q"
                await self.flush()
            if kind in (b"Q", b"S", b"H"):
                await self.flush()

    def fail(self, exc: BaseException) -> None:
        """Report an error and put an open block into the failed state (an implicit one,
        that of a multi-statement query, is rolled back)."""
        error = to_pg_error(exc)
        if error.sqlstate == "XX000":
            log.error("pgwire statement failed", exc_info=exc)
        self.send(codec.error_response(error))
        if self.block is not None:
            if self.implicit:
                self.block, self.implicit = None, False
                self.listening.end_block(committed=False, pid=self.pid)
            else:
                self.block.failed = True

    # -- simple query ---------------------------------------------------------------------

    async def _query(self, body: bytes) -> None:
        sql = codec.Payload(body).cstring()
        self.skipping = False
        self.charge(self.principal)
        pieces = await self.runner.call(self.principal, lambda: split(sql))
        if not pieces:
            self.send(codec.EMPTY_QUERY)
        if self.block is None and len(pieces) > 1:
            self.block, self.implicit = Block(), True
        try:
            for piece in pieces:
                answer = await self.answer(piece, None)
                self.send_answer(answer, [False] * len(answer.columns), describe=True, limit=0)
                await self._maybe_flush()
            if self.implicit and self.block is not None:
                block, self.block, self.implicit = self.block, None, False
                with self.governed() as deadline:
                    await self._commit(block, deadline)
        except Exception as exc:  # every failure is reported to the client
            self.fail(_fatal_or(exc))
        self.ready()

    def send_answer(self, answer: Answer, binary: list[bool], describe: bool, limit: int) -> int:
        """RowDescription (if asked), DataRows and CommandComplete; returns rows sent. With
        a `limit`, stops early (the caller sends PortalSuspended)."""
        if describe and answer.columns:
            self.send(row_description(answer, binary))
        rows = answer.rows if limit <= 0 else answer.rows[:limit]
        for message in data_rows(rows, answer.oids, binary):
            self.send(message)
        if limit <= 0 or len(answer.rows) <= limit:
            self.send(codec.command_complete(answer.tag))
        return len(rows)

    # -- one statement ----------------------------------------------------------------------

    @contextmanager
    def governed(self) -> Iterator[Deadline]:
        """The deadline of the statement about to run: the server's and the principal's
        statement timeout, lowered by the session's `statement_timeout`; a CancelRequest
        for this session cancels it while it runs."""
        deadline = self.runner.deadline(self.principal, self.settings.statement_timeout_s)
        self.running = deadline
        try:
            yield deadline
        finally:
            self.running = None

    async def answer(self, sql: str, params: list[Any] | None, defer: bool = False) -> Answer:
        """Run one statement (control, emulated catalogue, or the engine's) under its
        deadline. With `defer`, a write outside any block is not run: its shape comes back
        (`Answer.deferred`) for the extended protocol to run later."""
        operation = statement_operation(sql)
        with root_span(f"pgwire {operation}", {"db.operation": operation}):
            if not log.isEnabledFor(logging.DEBUG):
                with self.governed() as deadline:
                    return await self._answer(sql, params, deadline, defer)
            began, outcome = time.perf_counter(), "error"
            try:
                with self.governed() as deadline:
                    answer = await self._answer(sql, params, deadline, defer)
                outcome = "ok"
                return answer
            finally:
                self._log_statement(sql, outcome, began)

    def _log_statement(self, sql: str, outcome: str, began: float) -> None:
        """The debug line of one statement: its text with every literal replaced by `?`
        and no parameter values, who ran it, how it ended and how long it took."""
        log.debug(
            "pgwire statement",
            extra={
                "statement": redact_literals(sql),
                "outcome": outcome,
                "duration_ms": round((time.perf_counter() - began) * 1000, 3),
                "principal": self.principal.id,
                "namespace": self.principal.namespace,
                "pid": self.pid,
            },
        )

    def open_implicit(self) -> None:
        """Start the implicit block of an extended-protocol batch (none open yet)."""
        if self.block is None:
            self.block, self.implicit = Block(), True

    async def commit_implicit(self) -> None:
        """Commit the implicit block of a batch at its Sync (one record)."""
        if self.block is not None and self.implicit:
            block, self.block, self.implicit = self.block, None, False
            with root_span("pgwire COMMIT"), self.governed() as deadline:
                await self._commit(block, deadline)

    async def _commit(self, block: Block, deadline: Deadline) -> None:
        """Commit a block (one record); then, and only then, deliver what it notified."""
        try:
            await self.runner.commit(block, self.principal, deadline)
        except BaseException:
            self.listening.end_block(committed=False, pid=self.pid)
            raise
        self.listening.end_block(committed=True, pid=self.pid)

    async def _answer(
        self, sql: str, params: list[Any] | None, deadline: Deadline, defer: bool
    ) -> Answer:
        if self._plain.get(sql) is None:
            special = await self._special(sql, params, deadline)
            if special is not None:
                return special
            self._plain.put(sql, True)
        elif self.block is not None and self.block.failed:
            raise _aborted()
        if defer and self.block is None:
            found = await self.runner.read_or_shape(sql, params, self.principal, deadline)
            return found if isinstance(found, Answer) else Answer.of_result(sql, found)
        return Answer.of_result(sql, await self._run(sql, params, deadline))

    async def _special(
        self, sql: str, params: list[Any] | None, deadline: Deadline
    ) -> Answer | None:
        """The answer of a statement the engine does not run (empty, control, cursor,
        LISTEN/NOTIFY, COPY, an emulated catalogue question); None for an engine statement.
        Which kind a text is depends on the text alone, so `_answer` remembers the engine
        statements and skips these tests for them the next time."""
        if not sql.strip():
            return Answer("")
        ctl = control(sql)
        if ctl is not None and ctl.kind in ("commit", "rollback"):
            return await self._end_block(ctl, deadline)
        if ctl is not None and ctl.kind == "rollback_to":
            self._in_block("ROLLBACK").release(ctl.name, rollback=True)
            return Answer("ROLLBACK")
        if self.block is not None and self.block.failed:
            raise _aborted()
        if ctl is not None:
            return self._control(ctl)
        cursor = cursor_statement(sql)
        if cursor is not None:
            return await self._cursor(cursor, params, deadline)
        notify = notify_statement(sql)
        if notify is not None:
            return Answer(self.listening.run(notify, self.block is not None, self.pid))
        copy = parse_copy(sql)
        if copy is not None:
            if copy.direction == "in":
                return await self._copy_in(copy, deadline)
            return await self._copy_out(copy, deadline)
        return await self.emulator.answer(sql, params)

    async def _run(self, sql: str, params: list[Any] | None, deadline: Deadline) -> Result:
        """An engine statement: in the open block, else on its own."""
        if self.block is not None:
            return await self.runner.in_block(self.block, sql, params, self.principal, deadline)
        return await self.runner.execute(sql, params, self.principal, deadline)

    async def _cursor(
        self, cursor: CursorStatement, params: list[Any] | None, deadline: Deadline
    ) -> Answer:
        """DECLARE runs its query now and keeps the answer; FETCH and CLOSE use it."""
        if cursor.kind == "fetch":
            return self.cursors.get(cursor.name).fetch(cursor.count)
        if cursor.kind == "close":
            return self.cursors.close(cursor.name)
        if not cursor.hold and (self.block is None or self.implicit):
            raise PgError("25P01", "DECLARE CURSOR can only be used in transaction blocks")
        if not returns_rows(cursor.query) or cursor.query.lstrip()[:4].upper() == "SHOW":
            raise PgError("42601", "a cursor's query must be a SELECT or VALUES")
        result = await self._run(cursor.query, params, deadline)
        return self.cursors.declare(
            cursor.name, Answer.of_result(cursor.query, result), cursor.hold
        )

    async def _copy_in(self, copy: Copy, deadline: Deadline) -> Answer:
        assert copy.table is not None
        table, columns, oids = await self.runner.columns_of(
            copy.table, copy.columns, self.principal
        )
        self.send(codec.copy_response(b"G", len(columns), copy.binary))
        await self.flush()
        data = await self._receive_copy()
        rows = await self.runner.call(self.principal, lambda: rows_in(copy, data))
        statements = await self.runner.call(
            self.principal, lambda: list(insert_statements(table, columns, oids, rows))
        )
        if statements:
            await self.runner.write_batch(self.block, statements, self.principal, deadline)
        return Answer(f"COPY {len(rows)}")

    async def _receive_copy(self) -> bytes:
        """The CopyData of a load, up to CopyDone (CopyFail: the COPY fails)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            kind, body = await codec.read_message(self.reader, self.max_message_bytes)
            if kind == b"d":
                size += len(body)
                chunks.append(body)
                if size > MAX_COPY_BYTES:
                    raise PgError("54000", f"COPY data exceeds {MAX_COPY_BYTES} bytes", fatal=True)
            elif kind == b"c":
                return b"".join(chunks)
            elif kind == b"f":
                reason = codec.Payload(body).cstring()
                raise PgError("57014", f"COPY from stdin failed: {reason}")
            elif kind not in (b"H", b"S"):
                raise codec.protocol_error(f"unexpected message type {kind[0]} during COPY")

    async def _copy_out(self, copy: Copy, deadline: Deadline) -> Answer:
        sql = copy.select()
        answer = Answer.of_result(sql, await self._run(sql, None, deadline))
        self.send(codec.copy_response(b"H", len(answer.columns), copy.binary))
        for line in lines_out(copy, answer.columns, answer.oids, answer.rows):
            self.send(codec.message(b"d", line))
            await self._maybe_flush()
        self.send(codec.message(b"c"))
        return Answer(f"COPY {len(answer.rows)}")

    def _control(self, ctl: Control) -> Answer:
        if ctl.kind == "begin":
            if self.block is not None and not self.implicit:
                self.send(_notice("25001", "there is already a transaction in progress"))
            self.block = self.block or Block()
            self.implicit = False
            return Answer("BEGIN")
        if ctl.kind == "deallocate":
            prepared = self.extended.prepared
            if ctl.name.upper() == "ALL":
                prepared.clear()
                return Answer("DEALLOCATE ALL")
            if prepared.pop(ctl.name, None) is None:
                raise PgError("26000", f'prepared statement "{ctl.name}" does not exist')
            return Answer("DEALLOCATE")
        if ctl.kind == "savepoint":
            self._in_block("SAVEPOINT").savepoint(ctl.name)
            return Answer("SAVEPOINT")
        if ctl.kind == "release":
            self._in_block("RELEASE").release(ctl.name, rollback=False)
            return Answer("RELEASE")
        if ctl.kind == "set":
            self.settings.set(ctl.name, ctl.value)
            self._report_changes()
            return Answer("SET")
        if ctl.kind == "reset":
            self.settings.reset(ctl.name)
            self._report_changes()
            return Answer("RESET")
        if ctl.kind == "show":
            if ctl.name == "all":
                rows = [[k, self.settings.show(k), ""] for k in sorted(self.settings.values)]
                return Answer.text("SHOW", ["name", "setting", "description"], rows)
            return Answer.text("SHOW", [ctl.name], [[self.settings.show(ctl.name)]])
        return Answer("SET")

    def _in_block(self, command: str) -> Block:
        if self.block is None:
            raise PgError("25P01", f"{command} can only be used in transaction blocks")
        return self.block

    async def _flush_message(self, body: bytes) -> None:
        await self.flush()

    def _report_changes(self) -> None:
        for name, value in self.settings.changed:
            self.send(codec.parameter_status(name, value))
        self.settings.changed.clear()

    async def _end_block(self, ctl: Control, deadline: Deadline) -> Answer:
        block, self.block, self.implicit = self.block, None, False
        self.cursors.end_block()
        if block is None:
            self.send(_notice("25P01", "there is no transaction in progress"))
            return Answer("COMMIT" if ctl.kind == "commit" else "ROLLBACK")
        if ctl.kind == "rollback" or block.failed:
            self.listening.end_block(committed=False, pid=self.pid)
            return Answer("ROLLBACK")
        await self._commit(block, deadline)
        return Answer("COMMIT")


def _notice(sqlstate: str, message: str) -> bytes:
    return codec.error_response(PgError(sqlstate, message), notice=True)


def _fatal_or(exc: Exception) -> Exception:
    """Fatal protocol errors and a lost connection propagate; everything else is reported."""
    if (isinstance(exc, PgError) and exc.fatal) or isinstance(exc, ConnectionError):
        raise exc
    return exc


def statement_operation(sql: str) -> str:
    """A statement's first keyword, upper-cased (what its span is named by: never the text,
    which may hold values)."""
    words = sql[:64].split(None, 1)
    word = words[0].upper() if words else ""
    return word if word.isalpha() and len(word) <= 16 else "OTHER"


def _aborted() -> PgError:
    return PgError(
        "25P02",
        "current transaction is aborted, commands ignored until end of transaction block",
    )
