"""Exceptions of the RLS package; the tree is drawn in ``api.rls``."""


class RlsError(Exception):
    """Base of every error raised by ``api.rls``."""

    code = "FORBIDDEN"


class PolicyError(RlsError):
    """A policy is malformed or its predicate uses something outside the allow-list."""

    code = "VALIDATION_ERROR"


class AccessDeniedError(RlsError):
    """The principal may not run this statement, or a row it wrote fails the policy check."""

    code = "FORBIDDEN"
