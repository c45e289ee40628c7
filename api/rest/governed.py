"""What `/rest/v1` needs of the server it is mounted in: the database and the governance of
every request (authentication with rate limits, deadlines, the reader pool).

`api.http.backend.Backend` provides it; naming it here as a protocol keeps this package from
importing the HTTP package that mounts it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from litestar import Request

from api.auth.principal import Principal
from api.database import Database
from projections.deadline import Deadline

T = TypeVar("T")


class Governed(Protocol):
    """The served database and the governance every statement runs under."""

    @property
    def db(self) -> Database: ...

    def principal(self, bearer: str | None) -> Principal:
        """Authenticate a bearer string and take one request from its rate budget."""
        ...

    def deadline(self, principal: Principal, timeout_ms: int | None = None) -> Deadline:
        """The deadline of a request's statements."""
        ...

    async def off_loop(self, principal: Principal, work: Callable[[], T]) -> T:
        """Run `work` on the reader pool, in the share of the principal's namespace."""
        ...


def governed(request: Request[Any, Any, Any]) -> Governed:
    """The server's backend, as the application state holds it."""
    backend: Governed = request.app.state.backend
    return backend
