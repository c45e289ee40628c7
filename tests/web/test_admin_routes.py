"""`/admin` serves the committed dashboard files, with security headers, and nothing else."""

from __future__ import annotations

import httpx
import pytest

from api.http.routes.admin import CONTENT_SECURITY_POLICY, WEB_ROOT
from tests.web.conftest import Server


@pytest.mark.parametrize("path", ["/admin", "/admin/", "/admin/index.html"])
def test_the_shell_is_served_with_a_strict_content_security_policy(
    server: Server, path: str
) -> None:
    response = httpx.get(f"{server.url}{path}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.content == (WEB_ROOT / "index.html").read_bytes()
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"


def test_every_module_and_stylesheet_is_served_as_committed(server: Server) -> None:
    files = sorted([*WEB_ROOT.rglob("*.js"), *WEB_ROOT.rglob("*.css")])
    assert len(files) >= 10
    for file in files:
        response = httpx.get(f"{server.url}/admin/{file.relative_to(WEB_ROOT).as_posix()}")
        assert response.status_code == 200, file
        assert response.content == file.read_bytes()
        kind = "javascript" if file.suffix == ".js" else "css"
        assert kind in response.headers["content-type"]


@pytest.mark.parametrize(
    "path", ["/admin/nope.js", "/admin/../pyproject.toml", "/admin/%2e%2e/pyproject.toml"]
)
def test_nothing_outside_the_dashboard_is_served(server: Server, path: str) -> None:
    response = httpx.get(f"{server.url}{path}")
    assert response.status_code == 404
    assert "[project]" not in response.text


def test_the_pages_name_no_other_origin() -> None:
    """No CDN, font or script from elsewhere (the SVG namespace is a name, not a fetch)."""
    for file in [WEB_ROOT / "index.html", *WEB_ROOT.rglob("*.js"), *WEB_ROOT.rglob("*.css")]:
        text = file.read_text().replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in text, file
        assert "https://" not in text, file
        assert "//cdn" not in text, file
