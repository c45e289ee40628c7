"""`/admin`: the dashboard, served from `web/` exactly as it is committed.

The dashboard is hand-written ES modules and CSS (docs/dashboard.md says why there is no
build step), so serving it is serving files. The pages hold no secret (the operator's token
lives in the browser's session storage and travels only in `Authorization` headers), so the
files need no token. Every answer carries a Content-Security-Policy that allows scripts,
styles and connections to this origin only: nothing is fetched from elsewhere, and no
inline script could run even if a value from the database were rendered as HTML by mistake.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Response
from litestar.datastructures import CacheControlHeader
from litestar.router import Router
from litestar.static_files import create_static_files_router

WEB_ROOT = Path(__file__).resolve().parents[3] / "web"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def _secure(response: Response[object]) -> Response[object]:
    """Add the security headers to every dashboard file."""
    response.headers.update(SECURITY_HEADERS)
    return response


def admin_router() -> Router:
    """The `/admin` routes: `web/index.html` at `/admin/`, the modules and styles beside it.

    `no-cache` makes browsers revalidate, so a server upgrade shows its new pages at once."""
    return create_static_files_router(
        path="/admin",
        directories=[WEB_ROOT],
        html_mode=True,
        name="admin",
        after_request=_secure,
        cache_control=CacheControlHeader(no_cache=True),
        include_in_schema=False,
    )
