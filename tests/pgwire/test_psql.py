"""psql (PostgreSQL 15) against a served bkg-db, non-interactive."""

from __future__ import annotations

from pathlib import Path

from tests.pgwire.conftest import Pg


def test_ddl_dml_and_several_statements_per_string(pg: Pg) -> None:
    done = pg.psql(
        pg.namespace_key,
        "-c",
        "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric, at timestamptz)",
        "-c",
        "INSERT INTO items VALUES (1, 'a', 1.5, '2024-01-02 03:04:05+00'), (2, 'b', 2, NULL);"
        " UPDATE items SET name = 'z' WHERE id = 2; DELETE FROM items WHERE id = 9",
        "-c",
        "SELECT * FROM items ORDER BY id",
        "-A",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == ["CREATE TABLE", "INSERT 0 2", "UPDATE 1", "DELETE 0"]
    assert "1|a|1.5|2024-01-02 03:04:05+00" in lines
    assert "2|z|2|" in lines


def test_a_file_with_a_rolled_back_block_leaves_no_trace(pg: Pg, tmp_path: Path) -> None:
    script = tmp_path / "script.sql"
    script.write_text(
        "BEGIN;\nINSERT INTO todos (id, owner) VALUES (500, 'x');\n"
        "SELECT count(*) FROM todos WHERE id = 500;\nROLLBACK;\n"
        "SELECT count(*) FROM todos WHERE id = 500;\n"
    )
    before = pg.head()
    done = pg.psql(pg.namespace_key, "-At", "-f", str(script))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["BEGIN", "INSERT", "0", "1", "1", "ROLLBACK", "0"]
    assert pg.head() == before


def test_errors_show_sqlstate_and_stop_on_error(pg: Pg) -> None:
    done = pg.psql(pg.namespace_key, "-v", "ON_ERROR_STOP=1", "-c", "SELECT * FROM nope")
    assert done.returncode == 1
    assert "ERROR:  42P01" in done.stderr


def test_user_sees_own_rows_and_check_violation_is_42501(pg: Pg) -> None:
    done = pg.psql(pg.bob, "-At", "-c", "SELECT id, owner FROM todos ORDER BY id")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3|bob"]
    refused = pg.psql(pg.bob, "-c", "INSERT INTO todos (id, owner) VALUES (501, 'alice')")
    assert "ERROR:  42501" in refused.stderr


def test_wrong_password_and_foreign_database_are_refused(pg: Pg) -> None:
    bad = pg.psql("not-a-credential", "-c", "SELECT 1")
    assert bad.returncode == 2
    assert "password authentication failed" in bad.stderr
    other = pg.psql(pg.namespace_key, "-c", "SELECT 1", database="other")
    assert other.returncode == 2
    assert 'database "other" does not exist' in other.stderr


def test_version_and_settings(pg: Pg) -> None:
    done = pg.psql(
        pg.namespace_key,
        "-At",
        "-c",
        "SELECT version()",
        "-c",
        "SHOW server_version",
        "-c",
        "SELECT current_schema()",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["PostgreSQL 15.0 (bkg-db)", "15.0", "shop"]


def test_describe_lists_foreign_keys_both_ways(pg: Pg) -> None:
    pg.http("CREATE TABLE shop.psql_parent (id integer PRIMARY KEY)")
    pg.http(
        "CREATE TABLE shop.psql_child (id integer PRIMARY KEY,"
        " parent_id integer REFERENCES shop.psql_parent(id))"
    )
    child = pg.psql(pg.namespace_key, "-c", r"\d psql_child")
    assert child.returncode == 0, child.stderr
    assert "Foreign-key constraints:" in child.stdout
    assert "FOREIGN KEY (parent_id) REFERENCES psql_parent(id)" in child.stdout
    parent = pg.psql(pg.namespace_key, "-c", r"\d psql_parent")
    assert parent.returncode == 0, parent.stderr
    assert "Referenced by:" in parent.stdout
    assert 'TABLE "psql_child" CONSTRAINT "psql_child_parent_id_fkey"' in parent.stdout
