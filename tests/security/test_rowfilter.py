"""Row-image visibility (realtime and CDC fan-out, write checks) agrees with what SELECT returns;
batched evaluation agrees with row-by-row evaluation."""

import sqlite3
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.auth.principal import ADMIN, Principal, user_principal
from api.rls.policy import PolicySet, created_event, parse_policy
from api.rls.rowfilter import RowFilter


def test_user_sees_only_images_its_policies_allow(
    conn: sqlite3.Connection, policies: PolicySet, alice: Principal
) -> None:
    rows = RowFilter(policies, alice)
    assert rows.visible(conn, "shop.todos", {"id": 1, "owner": "alice", "title": "t"})
    assert not rows.visible(conn, "shop.todos", {"id": 3, "owner": "bob", "title": "t"})
    assert not rows.visible(conn, "shop.todos", {"id": 3, "owner": "x' OR '1'='1"})
    assert rows.visible(conn, "shop.notes", {"id": 9, "todo_id": 3, "body": "n"})
    assert not rows.visible(conn, "shop.audit", {"id": 1, "secret": "s"})
    assert not rows.visible(conn, "other.todos", {"id": 1, "owner": "alice"})


def test_images_agree_with_select_for_every_stored_row(
    run: Callable[..., list[tuple[Any, ...]]],
    conn: sqlite3.Connection,
    policies: PolicySet,
    alice: Principal,
) -> None:
    rows = RowFilter(policies, alice)
    stored = conn.execute('SELECT id, owner, title, team FROM "shop.todos"').fetchall()
    shown = {
        r[0]
        for r in stored
        if rows.visible(
            conn, "shop.todos", dict(zip(("id", "owner", "title", "team"), r, strict=True))
        )
    }
    assert shown == {row[0] for row in run("SELECT id FROM todos", alice)}


def test_policy_subqueries_read_the_snapshot(conn: sqlite3.Connection) -> None:
    conn.execute('CREATE TABLE "shop.shares" (todo_id INTEGER, member TEXT)')
    conn.execute("INSERT INTO \"shop.shares\" VALUES (3, 'dave')")
    shared = {
        "name": "shared", "table": "shop.todos", "actions": ["select"],
        "using": "id IN (SELECT todo_id FROM shares WHERE member = auth.uid())",
    }  # fmt: skip
    policies = PolicySet()
    policies.apply(created_event(parse_policy(shared)))
    dave = RowFilter(policies, user_principal("dave", "shop"))
    assert dave.visible(conn, "shop.todos", {"id": 3, "owner": "bob"})
    assert not dave.visible(conn, "shop.todos", {"id": 4, "owner": "bob"})


def test_admin_and_namespace_keys(conn: sqlite3.Connection, policies: PolicySet) -> None:
    shop_key = Principal(kind="namespace", id="key:k", namespace="shop")
    assert RowFilter(policies, ADMIN).visible(conn, "other.todos", {"id": 1})
    assert RowFilter(policies, shop_key).visible(conn, "shop.audit", {"id": 1})
    assert not RowFilter(policies, shop_key).visible(conn, "other.todos", {"id": 1})


def test_write_checks_are_evaluated_with_use_check(
    conn: sqlite3.Connection, policies: PolicySet, alice: Principal
) -> None:
    rows = RowFilter(policies, alice)
    assert rows.passes(conn, "shop.todos", "insert", {"owner": "alice"}, use_check=True)
    assert not rows.passes(conn, "shop.todos", "insert", {"owner": "bob"}, use_check=True)
    assert not rows.passes(conn, "shop.notes", "insert", {"body": "x"}, use_check=True)
    assert rows.passes(conn, "shop.todos", "delete", {"owner": "alice"})


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    owners=st.lists(st.sampled_from(["alice", "bob", "", None, "Alice"]), max_size=700),
    use_check=st.booleans(),
)
def test_a_batch_passes_exactly_when_every_row_passes(
    conn: sqlite3.Connection,
    policies: PolicySet,
    alice: Principal,
    owners: list[str | None],
    use_check: bool,
) -> None:
    rows = RowFilter(policies, alice)
    action = "insert" if use_check else "select"
    images = [{"id": i, "owner": owner, "title": "t"} for i, owner in enumerate(owners)]
    each = all(rows.passes(conn, "shop.todos", action, image, use_check) for image in images)
    assert rows.all_pass(conn, "shop.todos", action, images, use_check) == each
    assert RowFilter(policies, ADMIN).all_pass(conn, "other.todos", action, images, use_check)
