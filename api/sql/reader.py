"""The Postgres dialect statements are read in: sqlglot's, with positional parameters
tokenised the way Postgres does.

sqlglot takes the ``$`` of ``$1,$2`` for the start of a dollar-quoted string tagged
``1,`` and fails on the missing closing tag.  In Postgres a dollar-quote tag never starts
with a digit (tags follow identifier rules), so ``$`` followed by a digit is always a
parameter; real dollar quotes (``$$x$$``, ``$tag$x$tag$``) are read as before.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokenizer_core import TokenizerCore, TokenType


class _ParameterAwareCore(TokenizerCore):
    """The tokenizer core with ``$<digit>`` read as a parameter, never as a dollar quote."""

    __slots__ = ()

    def _scan_string(self, start: str) -> bool:
        if start == "$" and self._peek.isdigit():
            self._add(TokenType.PARAMETER)
            return True
        return super()._scan_string(start)


class BkgPostgres(Postgres):
    """Postgres as sqlglot reads it, with the parameter fix above, and ``now()`` kept apart
    from ``current_timestamp`` (the same value; Postgres names their columns differently)."""

    class Parser(PostgresParser):
        FUNCTIONS = {
            **PostgresParser.FUNCTIONS,
            "NOW": lambda args: exp.Anonymous(this="now", expressions=args),
        }

    class Tokenizer(Postgres.Tokenizer):
        def _init_core(self) -> TokenizerCore:
            # Same layout (no slots of its own), so the core sqlglot configured is re-typed
            # rather than rebuilt from a copy of its thirty constructor arguments.
            core = super()._init_core()
            core.__class__ = _ParameterAwareCore
            return core
