"""The HTTP API: a Litestar app over `api.Database` and the security layer.

    backend = Backend.open(ServerConfig(data_dir))   # takes the log's writer lock
    app = create_app(backend)                        # ASGI; routes of DESIGN.md
    serve(app, host, port)                           # granian, in this process

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
from api.http.backend import Backend, ServerConfig

__all__ = ["Backend", "ServerConfig", "create_app"]
