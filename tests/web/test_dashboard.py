"""The dashboard end to end: a real server, a real browser, the flows an operator follows."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from playwright.sync_api import FilePayload, Page, expect

from tests.web.conftest import Dashboard, Server

TOKEN_KEY = "bkgdb.admin.token"


def run_sql(page: Page, sql: str, as_of: str = "") -> None:
    page.fill("#page-sql textarea", sql)
    page.get_by_label("As of LSN").fill(as_of)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#sql-output")).not_to_contain_text("Running…")


def test_sign_in_refuses_bad_tokens_and_keeps_the_key_out_of_urls(
    dashboard: Dashboard, server: Server
) -> None:
    page = dashboard.page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{server.url}/admin")
    page.fill("input[name=token]", "bkg_admin_" + "x" * 40)
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Sign-in refused. UNAUTHORIZED (HTTP 401)")
    dashboard.shot("signin-refused")

    dashboard.sign_in(server.admin_key)
    expect(page.locator("#who")).to_contain_text("admin key")
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") == server.admin_key
    assert page.evaluate("localStorage.length") == 0
    assert requested and not [url for url in requested if server.admin_key in url]

    page.click("#signout")
    expect(page.locator("input[name=token]")).to_be_visible()
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") is None


def test_sql_page_creates_a_table_inserts_rows_travels_in_time_and_shows_errors(
    dashboard: Dashboard, server: Server
) -> None:
    page = dashboard.page
    dashboard.sign_in(server.admin_key)
    dashboard.open("sql")
    run_sql(
        page,
        "CREATE TABLE sqlpage (id INTEGER PRIMARY KEY, title TEXT NOT NULL,"
        " done BOOLEAN DEFAULT false, meta JSON)",
    )
    expect(page.locator("#sql-output")).to_contain_text("0 rows affected · committed at LSN")
    created_at = int(page.locator("#sql-output [data-lsn]").get_attribute("data-lsn") or 0)

    run_sql(
        page,
        "INSERT INTO sqlpage (title, meta) VALUES ('one', '{\"n\": 1}');\n"
        "INSERT INTO sqlpage (title, done) VALUES ('two; not a split', true)",
    )
    expect(page.locator("#sql-output")).to_contain_text("2 statements")
    inserted_at = int(page.locator("#sql-output [data-lsn]").get_attribute("data-lsn") or 0)
    assert inserted_at == created_at + 1  # one atomic batch is one log record

    run_sql(page, "SELECT id, title, done, meta FROM sqlpage ORDER BY id")
    output = page.locator("#sql-output")
    expect(output).to_contain_text(f"2 rows · read at LSN {inserted_at}")
    expect(output.locator("tbody tr")).to_have_count(2)
    expect(output.locator("td.v-num").first).to_have_text("1")
    expect(output.locator("td.v-bool")).to_have_text(["false", "true"])
    expect(output.locator("td.v-json").first).to_have_text('{"n":1}')
    expect(output.locator("th .type")).to_have_text(["int", "text", "boolean", "json"])
    dashboard.shot("sql-results")

    run_sql(page, "SELECT 2 * 21 AS answer, 'x' AS letter")  # no table: types from the values
    expect(output.locator("th .type")).to_have_text(["integer", "text"])
    expect(output.locator("td.v-num")).to_have_text("42")

    run_sql(page, "SELECT id, title FROM sqlpage", as_of=str(created_at))
    expect(output).to_contain_text(f"LSN {created_at} (as of LSN {created_at})")
    expect(output).to_contain_text("0 rows")

    run_sql(page, "SELEC * FROM sqlpage")
    alert = page.locator("#sql-output [role=alert]")
    expect(alert).to_contain_text("SYNTAX_ERROR (HTTP 400)")
    expect(alert).to_contain_text("at line 1, column")
    expect(alert.locator("pre")).to_contain_text("^")
    dashboard.shot("sql-error")

    run_sql(page, "SELECT nope FROM sqlpage")
    expect(alert).to_contain_text("VALIDATION_ERROR (HTTP 422): no such column: nope")
    expect(page.locator(".history")).to_contain_text("SELECT id, title, done, meta FROM sqlpage")

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Tables").click()
    page.get_by_role("button", name="public.sqlpage").click()
    rows = page.get_by_role("region", name="Rows", exact=True)
    expect(rows).to_contain_text(f"2 rows · read at LSN {inserted_at}")
    expect(rows.locator("tbody tr")).to_have_count(2)
    expect(rows.locator("tbody")).to_contain_text("two; not a split")


def test_tables_page_browses_schema_and_rows_and_tails_changes(
    dashboard: Dashboard, server: Server
) -> None:
    page = dashboard.page
    server.ok("CREATE TABLE tailed (id INTEGER PRIMARY KEY, label TEXT, at TIMESTAMP)")
    server.ok("CREATE INDEX tailed_label ON tailed (label)")
    values = ", ".join(f"('row {i:02d}')" for i in range(30))
    server.ok(f"INSERT INTO tailed (label) VALUES {values}")
    dashboard.sign_in(server.admin_key)
    page.goto(f"{server.url}/admin#/tables?table=public.tailed")
    expect(page.get_by_role("button", name="public.tailed")).to_have_attribute(
        "aria-pressed", "true"
    )
    schema = page.get_by_role("region", name="Table public.tailed", exact=True)
    expect(schema).to_contain_text("timestamp")
    expect(schema).to_contain_text("tailed_label")
    expect(schema).to_contain_text("RLS off")

    rows = page.get_by_role("region", name="Rows", exact=True)
    expect(rows).to_contain_text("30 rows")
    expect(rows).to_contain_text("Page 1 of 2")
    expect(rows.locator("tbody tr")).to_have_count(25)
    rows.get_by_role("button", name="Next page").click()
    expect(rows).to_contain_text("Page 2 of 2")
    expect(rows.locator("tbody tr")).to_have_count(5)

    live = page.get_by_role("region", name="Live changes", exact=True)
    expect(live).to_contain_text("Live since LSN")
    server.ok("INSERT INTO tailed (label) VALUES ('arrived live')")
    expect(live.locator(".tail li").first).to_contain_text("arrived live")
    expect(live.locator(".tail li")).to_have_count(1)  # the subscribed event is no change
    expect(rows).to_contain_text("31 rows")
    dashboard.shot("tables")


def test_policy_form_validates_on_the_server_and_the_preview_follows_it(
    dashboard: Dashboard, server: Server
) -> None:
    page = dashboard.page
    server.ok("CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT, body TEXT)")
    server.ok(
        "INSERT INTO notes (owner, body) VALUES ('alice', 'a1'), ('alice', 'a2'), ('bob', 'b')"
    )
    dashboard.sign_in(server.admin_key)
    dashboard.open("policies")
    preview = page.locator("#preview-output")
    page.get_by_label("User id", exact=True).fill("alice")
    page.get_by_label("Table", exact=True).select_option("public.notes")
    page.get_by_role("button", name="Preview").click()
    expect(preview).to_contain_text("User alice sees 0 rows of public.notes")

    form = page.get_by_role("region", name="Create or replace a policy")
    form.get_by_label("Name", exact=True).fill("own_notes")
    form.get_by_label("Table (namespace.table)").fill("public.notes")
    form.get_by_label("Using", exact=False).fill("owner = = auth.uid()")
    form.get_by_role("button", name="Save policy").click()
    expect(form.get_by_role("alert")).to_contain_text("Not saved. VALIDATION_ERROR (HTTP 422)")

    form.get_by_label("Using", exact=False).fill("owner = auth.uid()")
    form.get_by_role("button", name="Save policy").click()
    expect(form).to_contain_text("Policy own_notes saved")
    expect(page.locator("tr[data-policy=own_notes]")).to_contain_text("owner = auth.uid()")
    expect(preview).to_contain_text("User alice sees 2 rows of public.notes")
    expect(preview.locator("tbody tr")).to_have_count(2)
    dashboard.shot("policies")

    page.get_by_role("button", name="Delete policy own_notes").click()
    expect(page.locator("tr[data-policy=own_notes]")).to_have_count(0)
    expect(preview).to_contain_text("User alice sees 0 rows of public.notes")


def test_keys_are_shown_once_copied_revoked_and_rotated(
    dashboard: Dashboard, server: Server
) -> None:
    page = dashboard.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    dashboard.sign_in(server.admin_key)
    dashboard.open("keys")
    page.get_by_label("Name", exact=True).fill("e2e reader")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key").inner_text()
    assert secret.startswith("bkg_namespace_")
    assert server.query("SELECT 1", token=secret).status_code == 200
    page.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    dashboard.shot("keys-created")
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#new-key")).to_have_count(0)
    assert secret not in page.content()

    row = page.locator("tr[data-key]", has_text=secret[:22])
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Revoke key").click()
    row.get_by_role("button", name="Confirm: Revoke key").click()
    expect(row).to_contain_text("revoked")
    assert server.query("SELECT 1", token=secret).status_code == 401

    page.get_by_label("Name", exact=True).fill("e2e rotated")
    page.get_by_role("button", name="Create key").click()
    old = page.locator("#new-key").inner_text()
    page.get_by_role("button", name="Done").click()
    row = page.locator("tr[data-key]", has_text=old[:22])
    row.get_by_role("button", name="Rotate key").click()
    row.get_by_role("button", name="Confirm: Rotate key").click()
    expect(page.locator("#secret")).to_contain_text("rotated. The old key keeps working until")
    new = page.locator("#new-key").inner_text()
    assert new != old and new.startswith("bkg_namespace_")
    assert server.query("SELECT 1", token=new).status_code == 200
    expect(page.locator("tr[data-key]", has_text=old[:22])).to_contain_text("rotated")
    dashboard.shot("keys")


def test_keys_page_creates_and_shows_anon_keys(dashboard: Dashboard, server: Server) -> None:
    page = dashboard.page
    dashboard.sign_in(server.admin_key)
    dashboard.open("keys")
    page.get_by_label("Scope").select_option("anon")
    expect(page.locator("#scope-hint")).to_contain_text("Publishable")
    page.get_by_label("Namespace", exact=True).first.fill("public")
    page.get_by_label("Name", exact=True).fill("web app")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#secret")).to_contain_text("(anon in public)")
    secret = page.locator("#new-key").inner_text()
    page.get_by_role("button", name="Done").click()
    row = page.locator("tr[data-key]", has_text="web app")
    expect(row).to_contain_text("anon")
    expect(row).to_contain_text("publishable")
    expect(row).to_contain_text("public")
    admin = {"Authorization": f"Bearer {server.admin_key}"}
    listed = httpx.get(f"{server.url}/auth/keys", headers=admin)
    anon = [k for k in listed.json()["keys"] if k["name"] == "web app"]
    assert [(k["scope"], k["namespace"]) for k in anon] == [("anon", "public")]
    assert secret.startswith(anon[0]["prefix"])
    dashboard.shot("keys-anon")


def test_audit_page_shows_the_trail_filters_it_and_verifies(
    dashboard: Dashboard, server: Server
) -> None:
    page = dashboard.page
    server.ok("CREATE TABLE public.audit_probe (id INTEGER PRIMARY KEY, note TEXT)")
    lsn = server.ok("INSERT INTO public.audit_probe (id, note) VALUES (1, 'x')")["lsn"]
    _wait_for_audit_line(server, lsn)
    dashboard.sign_in(server.admin_key)
    dashboard.open("audit")
    events = page.get_by_role("region", name="Events", exact=True)
    expect(events.get_by_role("region", name="audit events")).to_be_visible()
    expect(events.locator("tbody tr").first).to_be_visible()
    page.get_by_role("region", name="Filter", exact=True).get_by_label("table").fill(
        "public.audit_probe"
    )
    page.get_by_role("button", name="Filter").click()
    expect(events.locator("tbody tr")).to_have_count(2)
    expect(events).to_contain_text("INSERT INTO public.audit_probe")
    page.get_by_role("button", name="Verify now").click()
    verification = page.get_by_role("region", name="Verification", exact=True)
    expect(verification.get_by_role("status")).to_contain_text('Verified: {"ok":true')
    server.ok("UPDATE public.audit_probe SET note = 'y' WHERE id = 1")
    server.ok("INSERT INTO public.audit_probe (id, note) VALUES (2, 'another row')")
    history = page.get_by_role("region", name="Row history", exact=True)
    history.get_by_label("table").fill("public.audit_probe")
    history.get_by_label("key value").fill("1")
    history.get_by_role("button", name="Show history").click()
    changes = history.locator("tbody tr")
    expect(changes).to_have_count(2)
    expect(changes.nth(0)).to_contain_text("insert")
    expect(changes.nth(1)).to_contain_text("update")
    expect(history).not_to_contain_text("another row")
    dashboard.shot("audit")


def _wait_for_audit_line(server: Server, lsn: int) -> None:
    """The audit consumer writes a line shortly after the commit; wait until it has."""
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = httpx.get(f"{server.url}/audit", params={"from_lsn": lsn}, headers=headers)
        assert answer.status_code == 200, answer.text
        if answer.json()["items"]:
            return
        time.sleep(0.05)
    raise AssertionError(f"the audit trail did not reach LSN {lsn}")


def test_storage_page_uploads_downloads_links_and_deletes_objects(
    dashboard: Dashboard, server: Server
) -> None:
    page = dashboard.page
    dashboard.sign_in(server.admin_key)
    dashboard.open("storage")
    buckets = page.get_by_role("region", name="Buckets", exact=True)
    if not server.has("GET", "/storage/buckets"):
        expect(buckets).to_contain_text("Object storage is not available on this server")
        dashboard.shot("storage")
        return
    buckets.get_by_label("New bucket").fill("e2e-files")
    buckets.get_by_role("button", name="Create", exact=True).click()
    buckets.get_by_role("button", name="e2e-files").click()
    bucket = page.get_by_role("region", name="Bucket e2e-files", exact=True)
    expect(bucket).to_contain_text("No objects.")
    hello = FilePayload(name="hello.txt", mimeType="text/plain", buffer=b"hello, bucket")
    bucket.get_by_label("Upload a file").set_input_files(files=[hello])
    bucket.get_by_role("button", name="Upload", exact=True).click()
    row = bucket.locator("tr", has_text="hello.txt")
    expect(row).to_contain_text("13 B")
    with page.expect_download() as download:
        row.get_by_role("button", name="Download").click()
    assert Path(download.value.path()).read_bytes() == b"hello, bucket"
    row.get_by_role("button", name="Link").click()
    link = bucket.locator("code", has_text="/storage/").inner_text()
    assert httpx.get(link).content == b"hello, bucket"  # the signed link needs no token
    dashboard.shot("storage")
    row.get_by_role("button", name="Delete").click()
    expect(bucket).to_contain_text("No objects.")


def test_overview_reports_the_head_lsn_and_charts_commits(
    dashboard: Dashboard, server: Server
) -> None:
    page = dashboard.page
    server.ok("CREATE TABLE ticks (id INTEGER PRIMARY KEY)")
    dashboard.sign_in(server.admin_key)
    head = httpx.get(f"{server.url}/healthz").json()["head_lsn"]
    expect(page.locator("[data-stat='Head LSN']")).to_have_text(str(head))
    for _ in range(3):
        server.ok("INSERT INTO ticks DEFAULT VALUES")
    expect(page.locator("[data-stat='Head LSN']")).to_have_text(str(head + 3))
    commits = page.get_by_role("region", name="Commits per second", exact=True)
    expect(commits.locator("svg path.line")).to_have_count(1)
    batches = page.get_by_role("region", name="Group-commit batch sizes", exact=False)
    expect(batches.locator("svg rect.bar").first).to_be_visible()
    expect(page.get_by_role("region", name="Consumer lag", exact=True)).to_contain_text(
        "projection"
    )
    dashboard.shot("overview")


def test_phone_layout_is_usable_from_the_keyboard(dashboard: Dashboard, server: Server) -> None:
    page = dashboard.page
    page.set_viewport_size({"width": 390, "height": 844})
    dashboard.sign_in(server.admin_key)
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav).to_be_hidden()
    expect(page.locator("[data-stat='Head LSN']")).not_to_be_empty()
    dashboard.shot("phone-overview")
    page.locator("#menu").focus()
    page.keyboard.press("Enter")
    expect(nav).to_be_visible()
    expect(page.locator("#menu")).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="SQL").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#page-sql")).to_be_visible()
    expect(nav).to_be_hidden()
    page.locator("#menu").focus()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    expect(page.locator("#page-sql")).to_be_visible()
    dashboard.shot("phone-sql")
    dashboard.open("keys")
    expect(page.locator("td[data-label=scope]").first).to_be_visible()
    dashboard.shot("phone-keys")


def test_a_user_token_sees_only_its_rows_and_no_admin_forms(
    dashboard: Dashboard, server: Server
) -> None:
    page = dashboard.page
    server.ok("CREATE TABLE diary (id INTEGER PRIMARY KEY, owner TEXT, entry TEXT)")
    server.ok("INSERT INTO diary (owner, entry) VALUES ('carol', 'mine'), ('dave', 'not mine')")
    policy = {"name": "own_diary", "table": "public.diary", "actions": ["select"]}
    response = httpx.post(
        f"{server.url}/policy",
        json={**policy, "using": "owner = auth.uid()"},
        headers={"Authorization": f"Bearer {server.admin_key}"},
    )
    assert response.status_code == 201, response.text
    minted = httpx.post(
        f"{server.url}/auth/token",
        json={"sub": "carol"},
        headers={"Authorization": f"Bearer {server.admin_key}"},
    )
    dashboard.sign_in(minted.json()["access_token"])
    expect(page.locator("#who")).to_contain_text("user carol in public (JWT)")
    page.goto(f"{server.url}/admin#/tables?table=public.diary")
    rows = page.get_by_role("region", name="Rows", exact=True)
    expect(rows).to_contain_text("1 row · read at LSN")
    expect(rows.locator("tbody")).to_contain_text("mine")
    expect(rows.locator("tbody")).not_to_contain_text("not mine")
    dashboard.shot("user-tables")
    dashboard.open("keys")
    expect(page.locator("#page-keys")).to_contain_text("A user token cannot see or manage API keys")
    dashboard.open("policies")
    expect(page.locator("#page-policies")).to_contain_text("cannot see or manage policies")
