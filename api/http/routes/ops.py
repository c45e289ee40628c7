"""`/healthz`, `/metrics` and `/openapi.json`: served without a token.

`/metrics` requires `Authorization: Bearer <T>` when the server was started with
`--metrics-token T` (compared in constant time).
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response, get
from litestar._openapi.plugin import OpenAPIPlugin

from api.auth.errors import UnauthorizedError
from api.http.deps import BackendDep, backend_of, bearer_of, error_responses
from api.http.models import Health

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


@get("/healthz", summary="Liveness and the log's head LSN", security=[{}], sync_to_thread=False)
def healthz(request: Request[Any, Any, Any]) -> Health:
    """Answers while the server runs; `head_lsn` is the last durable record. A replica
    that cannot follow `bkg.log` any more answers "degraded" with the reason (still 200:
    it serves reads at its applied LSN, and restarting it would not help). The backend is
    taken from the request, not a dependency: resolving one costs more than the answer."""
    db = backend_of(request).db
    reason = db.writer.problem()
    return Health(
        status="ok" if reason is None else "degraded",
        head_lsn=db.history.head_lsn,
        applied_lsn=db.applied_lsn,
        reason=reason,
    )


@get(
    "/metrics",
    summary="Prometheus metrics",
    media_type=PROMETHEUS,
    responses=error_responses(401),
    security=[{}],
    sync_to_thread=False,
)
def metrics(request: Request[Any, Any, Any], backend: BackendDep) -> Response[str]:
    """Request counts and latencies by route and status, LSNs, commit and group-commit
    figures, projection lag, rate-limit rejections."""
    expected = backend.config.metrics_token
    if expected is not None:
        presented = bearer_of(request) or ""
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            raise UnauthorizedError("metrics need the metrics token")
    return Response(content=backend.metrics.render(), media_type=PROMETHEUS)


@get("/openapi.json", include_in_schema=False, sync_to_thread=False)
def openapi(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """The OpenAPI document (its UI is at `/docs`)."""
    document = request.app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    return Response(content=document, media_type="application/vnd.oai.openapi+json")
