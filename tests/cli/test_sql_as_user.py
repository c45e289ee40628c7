"""`bkgdb sql --as-user`: the rules a user token gets, tried from the shell."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from api.cli import main
from api.database import Database
from api.rls.policy import created_event, parse_policy
from eventlog import Entry
from tests.cli.runner import bkgdb


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    assert main(["--data-dir", str(root), "init", "--json"]) == 0
    policy = parse_policy(
        {
            "name": "own notes",
            "table": "public.notes",
            "actions": ["select", "insert"],
            "roles": ["user"],
            "using": "owner = auth.uid()",
            "check": "owner = auth.uid()",
        }
    )
    with Database.open(root) as db:
        db.execute("CREATE TABLE notes (id serial PRIMARY KEY, owner text NOT NULL, body text)")
        db.execute(
            "INSERT INTO notes (owner, body) VALUES ('alice','a1'),('bob','b1'),('alice','a2')"
        )
        db.execute("CREATE TABLE secrets (id serial PRIMARY KEY, body text)")
        db.execute("INSERT INTO secrets (body) VALUES ('s')")
        db.append_event(Entry("policy", created_event(policy), actor="admin"))
    return root


def rows(done: subprocess.CompletedProcess[str]) -> list[list[object]]:
    assert done.returncode == 0, done.stderr
    result: list[list[object]] = json.loads(done.stdout)["rows"]
    return result


def test_a_user_sees_only_rows_a_policy_grants(notes: Path) -> None:
    query = "SELECT owner, body FROM notes ORDER BY id"
    assert rows(bkgdb(notes, "sql", query, "--as-user", "alice", "--json")) == [
        ["alice", "a1"],
        ["alice", "a2"],
    ]
    assert rows(bkgdb(notes, "sql", query, "--as-user", "carol", "--json")) == []
    assert len(rows(bkgdb(notes, "sql", query, "--json"))) == 3  # admin
    assert rows(bkgdb(notes, "sql", "SELECT * FROM secrets", "--as-user", "alice", "--json")) == []


def test_writes_are_checked_and_bypasses_fail(notes: Path) -> None:
    forged = bkgdb(
        notes,
        "sql",
        "INSERT INTO notes (owner, body) VALUES ('bob', 'forged')",
        "--as-user",
        "alice",
    )
    assert rows(bkgdb(notes, "sql", "SELECT body FROM notes WHERE owner = 'bob'", "--json")) == [
        ["b1"]
    ], forged.stdout
    union = "SELECT body FROM notes UNION SELECT body FROM notes WHERE owner = 'bob'"
    assert sorted(rows(bkgdb(notes, "sql", union, "--as-user", "alice", "--json"))) == [
        ["a1"],
        ["a2"],
    ]
    pragma = bkgdb(notes, "sql", "SELECT * FROM sqlite_master", "--as-user", "alice")
    assert pragma.returncode != 0 and len(pragma.stderr.strip().splitlines()) == 1


def test_as_user_applies_while_a_server_holds_the_directory(notes: Path) -> None:
    with Database.open(notes):
        held = bkgdb(
            notes, "sql", "SELECT body FROM notes ORDER BY id", "--as-user", "bob", "--json"
        )
        assert rows(held) == [["b1"]]


def test_bad_claims_are_a_usage_error(notes: Path) -> None:
    done = bkgdb(notes, "sql", "SELECT 1", "--as-user", "alice", "--claims", "[1]")
    assert done.returncode == 2 and "JSON object" in done.stderr
