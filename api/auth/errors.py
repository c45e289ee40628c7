"""Exceptions of the auth package; the tree is drawn in ``api.auth``."""


class AuthError(Exception):
    """Base of every error raised by ``api.auth``."""


class UnauthorizedError(AuthError):
    """The credential is missing, malformed, expired, revoked or forged (HTTP 401)."""


class ForbiddenError(AuthError):
    """The credential is valid but may not do what was asked (HTTP 403)."""


class RateLimitedError(AuthError):
    """The principal exceeded its request budget or holds all it may at once (HTTP 429)."""

    def __init__(self, retry_after: float, reason: str = "rate limit exceeded") -> None:
        super().__init__(f"{reason}, retry after {retry_after:.3f}s")
        self.retry_after = retry_after


class KeySpecError(AuthError):
    """A key or token request is malformed: bad scope, namespace, ttl, claims, unknown key
    (HTTP 422)."""


class IdempotencyConflictError(AuthError):
    """An Idempotency-Key was reused with a different request (HTTP 409)."""


class KeyFileError(AuthError):
    """A key file is missing, unreadable or readable by others (a server configuration error,
    reported when the server starts, never to a client)."""
