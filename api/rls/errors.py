"""Exceptions of the RLS package; the tree is drawn in ``api.rls``.

Each class carries the Postgres SQLSTATE of its kind (``sqlstate``), as the SQL layer's errors
do, so every door reports a refusal the way Postgres would.
"""


class RlsError(Exception):
    """Base of every error raised by ``api.rls``."""

    code = "FORBIDDEN"
    sqlstate = "42501"


class PolicyError(RlsError):
    """A policy is malformed or its predicate uses something outside the allow-list."""

    code = "VALIDATION_ERROR"
    sqlstate = "42P17"


class AccessDeniedError(RlsError):
    """The principal may not run this statement, or a row it wrote fails the policy check."""

    code = "FORBIDDEN"
    sqlstate = "42501"


class PolicyViolationError(AccessDeniedError):
    """A row an INSERT or UPDATE wrote fails the policies it must pass; the whole request is
    refused and nothing of it is logged. The message is Postgres' own."""

    def __init__(self, table: str) -> None:
        name = table.partition(".")[2] or table
        super().__init__(f'new row violates row-level security policy for table "{name}"')
        self.table = table
