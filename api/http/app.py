"""The Litestar application: routes, error mapping, OpenAPI, body limit, and around it the
request layer (metrics, the request log, nosniff: `api.http.layer`).

`create_app(backend)` builds the ASGI app around an open `Backend`; the caller owns the
backend's lifetime (`bkgdb serve` opens it before binding the port and closes it after the
server stops; tests do the same around a TestClient).
"""

from __future__ import annotations

from collections.abc import Sequence

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ASGIApp, ControllerRouterHandler

from api.gotrue.routes import gotrue_router
from api.http.backend import Backend
from api.http.deps import DEPENDENCIES
from api.http.errors import EXCEPTION_HANDLERS
from api.http.layer import RequestLayer
from api.http.openapi import complete_document
from api.http.routes import HANDLERS, REPLICA_HANDLERS
from api.http.routes.admin import admin_router
from api.http.routes.realtime import realtime_handlers
from api.http.routes.storage import storage_router
from api.rest.routes import rest_router
from api.storage_v1.routes import storage_v1_router

TITLE = "bkg-db"
VERSION = "0.1.0"


def create_app(backend: Backend) -> ASGIApp:
    """The ASGI application serving `backend`, inside the request layer."""
    return _app(
        backend,
        [
            *HANDLERS,
            *realtime_handlers(),
            admin_router(),
            storage_router(),
            storage_v1_router(),
            rest_router(),
            gotrue_router(),
        ],
    )


def create_replica_app(backend: Backend) -> ASGIApp:
    """The application of a read replica (`bkgdb replica --serve`): the same handlers as a
    primary's for queries, the schema, realtime, health, metrics and OpenAPI, and nothing
    that writes (its backend's database refuses writes)."""
    return _app(backend, [*REPLICA_HANDLERS, *realtime_handlers()])


def _app(backend: Backend, handlers: Sequence[ControllerRouterHandler]) -> ASGIApp:
    app = Litestar(
        route_handlers=handlers,
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=backend.config.max_body_bytes,
        state=State({"backend": backend}),
        openapi_config=OpenAPIConfig(
            title=TITLE,
            version=VERSION,
            description="A data backend whose signed write-ahead log is the source of truth.",
            path="/docs",
            render_plugins=[SwaggerRenderPlugin(path="/")],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="An API key (bkg_...) or a JWT.",
                    )
                }
            ),
        ),
        cors_config=_cors(backend.config.cors_origins),
        debug=False,
        logging_config=None,  # the process's logging is `api.logconfig`'s, not Litestar's
    )
    complete_document(app)
    return RequestLayer(app, backend.metrics)


def _cors(origins: tuple[str, ...]) -> CORSConfig | None:
    """CORS for the origins the operator allowed (the Supabase clients in a browser send
    `apikey`, `authorization`, `x-client-info`, `content-profile`, `prefer`... and read
    `content-range`); credentials are headers, never cookies, so none are allowed."""
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=CORS_EXPOSED,
        allow_credentials=False,
        max_age=600,
    )


CORS_EXPOSED = [
    "content-range", "content-location", "location", "preference-applied", "x-total-count",
    "link", "x-trace-id", "retry-after", "etag", "upload-offset", "upload-length",
]  # fmt: skip
"""Response headers a browser page may read: ranges and counts (PostgREST, GoTrue),
where a created thing is, tracing, back-off, object and resumable-upload headers."""
