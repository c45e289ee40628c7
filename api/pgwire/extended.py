"""The extended query protocol: Parse, Bind, Describe, Execute, Close and Sync over named
and unnamed prepared statements and portals.

A portal runs when it is first described or executed and keeps its answer, so Describe
(which must name the columns before Execute) and Execute with a row limit (PortalSuspended)
read the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from api.pgwire import codec
from api.pgwire import types as t
from api.pgwire.answers import Answer, formats_for, row_description
from api.pgwire.errors import PgError
from api.pgwire.statements import control

if TYPE_CHECKING:
    from api.pgwire.session import Session

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


class Extended:
    """One session's prepared statements and portals, and the messages that use them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.prepared: dict[str, Prepared] = {}
        self.portals: dict[str, Portal] = {}

    async def parse(self, body: bytes) -> None:
        payload = codec.Payload(body)
        name, sql = payload.cstring(), payload.cstring()
        declared = payload.int32s()
        if name and name in self.prepared:
            raise PgError("42P05", f'prepared statement "{name}" already exists')
        if len(self.prepared) >= MAX_PREPARED:
            raise PgError("54000", f"a session holds at most {MAX_PREPARED} prepared statements")
        oids = await self.session.runner.parameter_types(sql, self.session.principal, declared)
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
        nulls: list[Any] = [None] * len(prepared.param_oids)
        emulated = await self.session.emulator.answer(prepared.sql, nulls)
        if emulated is not None:
            return emulated
        with self.session.governed() as deadline:
            return await self.session.runner.shape(
                prepared.sql, nulls, self.session.principal, deadline
            )

    async def _run_portal(self, portal: Portal) -> None:
        if portal.answer is None:
            self.session.charge(self.session.principal)
            portal.answer = await self.session.answer(portal.prepared.sql, portal.params)
            described = portal.prepared.described
            if described is not None and len(described.oids) == len(portal.answer.oids):
                portal.answer.oids = described.oids

    async def execute(self, body: bytes) -> None:
        payload = codec.Payload(body)
        portal = self._portal(payload.cstring())
        limit = payload.int32()
        await self._run_portal(portal)
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
