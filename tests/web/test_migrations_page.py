"""The dashboard's Migrations page lists the ledger the server applied."""

from __future__ import annotations

import hashlib

import httpx
from playwright.sync_api import expect

from tests.web.conftest import Dashboard, Server


def test_migrations_page_lists_applied_migrations(dashboard: Dashboard, server: Server) -> None:
    sql = "CREATE TABLE web_migrated (id INTEGER PRIMARY KEY);\n"
    body = {
        "version": 1,
        "name": "web_migrated",
        "sql": sql,
        "sha256": hashlib.sha256(sql.encode()).hexdigest(),
    }
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    applied = httpx.post(f"{server.url}/migrate/apply", json=body, headers=headers)
    assert applied.status_code in (200, 201), applied.text
    dashboard.sign_in(server.admin_key)
    dashboard.open("migrations")
    ledger = dashboard.page.get_by_role("region", name="Applied migrations", exact=True).first
    row = ledger.locator("tr[data-migration='0001_web_migrated.sql']")
    expect(row).to_contain_text(str(applied.json()["lsn"]))
    expect(row).to_contain_text(body["sha256"][:12])
    dashboard.shot("migrations")
