"""Migration files: names in log order, one format and one parse function, digests, plans."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.migrations.errors import MigrationFileError
from api.migrations.files import (
    Migration,
    create,
    discover,
    format_name,
    parse_name,
    sha256_of,
    statements_of,
)
from api.migrations.ledger import Applied
from api.migrations.plan import plan

names = st.from_regex(r"[a-z0-9_]{1,40}", fullmatch=True)


@given(st.integers(1, 999_999_999), names)
def test_format_and_parse_round_trip(version: int, name: str) -> None:
    assert parse_name(format_name(version, name)) == (version, name)


@given(st.integers(1, 9998), st.integers(1, 9998))
def test_file_names_sort_in_version_order(a: int, b: int) -> None:
    assert (format_name(a, "x") < format_name(b, "x")) == (a < b)


@pytest.mark.parametrize(
    "name", ["1_x.sql", "0001_X.sql", "0001_a-b.sql", "0001_.sql", "0001_x.SQL", "x.sql"]
)
def test_other_names_are_not_migrations(name: str) -> None:
    assert parse_name(name) is None


def test_new_files_are_numbered_after_the_newest(tmp_path: Path) -> None:
    first = create(tmp_path / "m", "Create todos!")
    second = create(tmp_path / "m", "seed")
    assert (first.name, second.name) == ("0001_create_todos.sql", "0002_seed.sql")
    assert [m.version for m in discover(tmp_path / "m")] == [1, 2]
    with pytest.raises(MigrationFileError):
        create(tmp_path / "m", "!!!")


def test_a_directory_with_a_bad_name_or_a_duplicate_version_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("ignored")
    (tmp_path / "0001_a.sql").write_text("SELECT 1")
    assert len(discover(tmp_path)) == 1
    (tmp_path / "0001_b.sql").write_text("SELECT 2")
    with pytest.raises(MigrationFileError, match=r"0001_a\.sql and 0001_b\.sql"):
        discover(tmp_path)
    (tmp_path / "0001_b.sql").unlink()
    (tmp_path / "add users.sql").write_text("SELECT 3")
    with pytest.raises(MigrationFileError, match=r"add users\.sql"):
        discover(tmp_path)


def test_statements_are_split_without_comments() -> None:
    migration = Migration.of(
        1, "x", "-- a comment\nCREATE TABLE t (s TEXT);\n\nINSERT INTO t VALUES ('a;b');\n"
    )
    assert statements_of(migration) == ["CREATE TABLE t (s TEXT)", "INSERT INTO t VALUES ('a;b')"]
    assert statements_of(Migration.of(2, "y", "-- nothing\n")) == []


def _row(migration: Migration, sha: str | None = None) -> Applied:
    return Applied(migration.version, migration.name, sha or migration.sha256, 3, 0, "admin")


def test_plan_names_pending_edited_and_out_of_order_files() -> None:
    one, two, three = (Migration.of(v, f"m{v}", f"SELECT {v}") for v in (1, 2, 3))
    current = plan([one, two, three], [_row(one), _row(three, sha256_of("other"))])
    assert [e.state for e in current.entries] == ["applied", "out_of_order", "edited"]
    refusal = current.refusal()
    assert refusal is not None and "0002_m2.sql" in refusal and "0003_m3.sql" in refusal
    fresh = plan([one, two, three], [_row(one)])
    assert fresh.refusal() is None
    assert [m.version for m in fresh.pending()] == [2, 3]
    assert [m.version for m in fresh.pending(to=2)] == [2]
    gone = plan([], [_row(one)])
    assert [e.state for e in gone.entries] == ["no_file"] and gone.refusal() is None
