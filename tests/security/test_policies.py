"""Policy documents and predicates: validation against the allow-list, binding of auth.*."""

import json
import sqlite3
from typing import Any

import pytest
import sqlglot

from api.rls.errors import PolicyError
from api.rls.policy import PolicySet, created_event, dropped_event, parse_policy
from api.rls.predicates import bind_predicate, parse_predicate
from api.rls.store import fold_policy, load_policies

BASE: dict[str, Any] = {"name": "p", "table": "shop.todos", "actions": ["select"]}


def _policy(**changes: Any) -> dict[str, Any]:
    return {**BASE, "using": "owner = auth.uid()", **changes}


def test_valid_policy_round_trips_through_its_event() -> None:
    policy = parse_policy(_policy(actions=["select", "UPDATE"], check="owner = auth.uid()"))
    assert policy.actions == ("select", "update") and policy.roles == ("user",)
    policies = PolicySet()
    policies.apply(created_event(policy))
    assert policies.get("shop", "p") == policy
    assert [p.name for p in policies.applicable("shop.todos", "update", "user")] == ["p"]
    assert policies.applicable("shop.todos", "delete", "user") == []
    policies.apply(dropped_event("shop", "p"))
    assert policies.all() == []


@pytest.mark.parametrize(
    "changes",
    [
        {"name": ""},
        {"name": "x" * 64},
        {"table": "todos"},
        {"table": "a.b.c"},
        {"table": "shop._bkg_api_keys"},
        {"table": "Bad-NS.todos"},
        {"actions": []},
        {"actions": ["select", "truncate"]},
        {"roles": ["admin"]},
        {"using": None},
        {"using": "  "},
        {"check": "true"},
        {"actions": ["insert"], "using": None, "check": None},
    ],
)
def test_malformed_policies_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        parse_policy(_policy(**changes))


@pytest.mark.parametrize(
    "predicate",
    [
        "owner = auth.uid(); DROP TABLE todos",
        "(SELECT 1)",
        "true) OR (1 = 1",
        "load_extension('x') IS NULL",
        "sqlite_version() = '3'",
        "random() > 0",
        "owner = auth.secret()",
        "owner = pg_catalog.current_user()",
        "auth.jwt() = '{}'",
        "auth.jwt() -> 'a' ->> 'b' = 'c'",
        "id IN (SELECT todo_id FROM other.shares)",
        "id IN (SELECT id FROM sqlite_master)",
        "shop.todos.owner = auth.uid()",
        "owner = current_setting('x')",
    ],
)
def test_predicates_outside_the_allow_list_are_refused(predicate: str) -> None:
    with pytest.raises(PolicyError):
        parse_predicate(predicate, "shop")


def test_allowed_predicates_parse_and_qualify_their_subqueries() -> None:
    for text in (
        "owner = auth.uid() OR is_public",
        "team = auth.jwt() ->> 'team' AND coalesce(lower(title), '') LIKE 'a%'",
        "(auth.jwt() ->> 'level')::int >= level",
        "id IN (SELECT todo_id FROM shares WHERE member = auth.uid())",
        "EXISTS (SELECT 1 FROM shop.members AS m WHERE m.team = team)",
        "CASE WHEN archived THEN false ELSE true END",
    ):
        parsed = parse_predicate(text, "shop")
        for table in parsed.find_all(sqlglot.exp.Table):
            assert table.db == "shop"


def test_binding_turns_auth_calls_into_literals() -> None:
    predicate = parse_predicate("owner = auth.uid() AND team = auth.jwt() ->> 'team'", "shop")
    claims = {"team": "o'brien", "level": 3}
    bound = bind_predicate(predicate, "x' OR '1'='1", claims).sql(dialect="sqlite")
    assert bound == "owner = 'x'' OR ''1''=''1' AND team = 'o''brien'"
    missing = bind_predicate(predicate, None, {}).sql(dialect="sqlite")
    assert missing == "owner = NULL AND team = NULL"
    level = parse_predicate("auth.jwt() ->> 'level' = '3'", "shop")
    assert bind_predicate(level, "a", claims).sql() == "'3' = '3'"


def test_a_stored_policy_the_validator_now_refuses_is_left_out() -> None:
    conn = sqlite3.connect(":memory:")
    good = parse_policy(_policy(name="good"))
    fold_policy(conn, _Event(created_event(good)))
    conn.execute(
        "INSERT INTO _bkg_policies VALUES ('shop', 'bad', ?)",
        (json.dumps(_policy(name="bad", using="load_extension('x') IS NULL")),),
    )
    assert [p.name for p in load_policies(conn).all()] == ["good"]
    conn.close()


class _Event:
    def __init__(self, payload: dict[str, Any]) -> None:
        self.lsn, self.ts_us, self.kind, self.actor, self.namespace = 1, 0, "policy", "a", None
        self.payload = payload
