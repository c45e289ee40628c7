"""The HTTP API: a Litestar app over `api.Database` and the security layer.

    server = api.wiring.build_server(settings)       # the Backend and what runs beside it
    server.app                                       # ASGI (`create_app`); routes of DESIGN.md
    serve(server.backend, server.app, host, port)   # granian, in this process

Modules: `backend` (the open database, security layer, limits, metrics), `deps` (the
authenticated principal, idempotent writes), `routes/` (one module per area), `errors` (the
one place where exceptions become HTTP responses), `models` (typed bodies), `metrics`
(Prometheus text), `idempotency` (remembered answers), `server` (granian and signals).

Exceptions: this package raises only `ApiError` (code, message, detail) for request shapes
the lower layers never see; every other error arrives from `api.sql`, `api.auth`,
`api.rls`, `projections` or `eventlog` and is translated in `errors`::

    ApiError   code in the DESIGN.md catalogue -> its status
"""

from api.http.app import create_app
from api.http.backend import Backend
from api.settings import ServerConfig

__all__ = ["Backend", "ServerConfig", "create_app"]
