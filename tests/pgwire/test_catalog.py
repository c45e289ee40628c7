"""Catalogue emulation: psql's \\dt, \\dn, \\l and \\d, information_schema, filtered by
principal (a namespace's key or user sees its own namespace only)."""

from __future__ import annotations

import psycopg

from tests.pgwire.conftest import Pg


def test_psql_lists_only_the_principals_tables_and_schemas(pg: Pg) -> None:
    tables = pg.psql(pg.namespace_key, "-At", "-c", "\\dt")
    assert tables.returncode == 0, tables.stderr
    names = {line.split("|")[1] for line in tables.stdout.splitlines()}
    assert {"todos", "notes"} <= names and "secrets" not in names
    schemas = pg.psql(pg.alice, "-At", "-c", "\\dn")
    assert schemas.stdout.split() == ["shop|bkg"]
    databases = pg.psql(pg.alice, "-At", "-c", "\\l")
    assert databases.stdout.startswith("shop|bkg|UTF8|")


def test_psql_describes_a_table(pg: Pg) -> None:
    done = pg.psql(pg.namespace_key, "-c", "\\d todos")
    assert done.returncode == 0, done.stderr
    assert 'Table "shop.todos"' in done.stdout
    assert " owner  | text    |           | not null |" in done.stdout
    assert '"todos_pkey" PRIMARY KEY, btree (id)' in done.stdout
    hidden = pg.psql(pg.namespace_key, "-c", "\\d other.secrets")
    assert "Did not find any relation" in hidden.stderr


def test_admin_sees_every_namespace(pg: Pg) -> None:
    done = pg.psql(pg.admin_key, "-At", "-c", "\\dn")
    assert {"public|bkg", "shop|bkg", "other|bkg"} <= set(done.stdout.split())


def test_information_schema_columns(pg: Pg) -> None:
    with psycopg.connect(pg.dsn(pg.bob), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable"
            " FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            ("todos",),
        ).fetchall()
        schemas = conn.execute("SELECT schema_name FROM information_schema.schemata").fetchall()
    assert rows == [
        ("todos", "id", "integer", "NO"),
        ("todos", "owner", "text", "NO"),
        ("todos", "title", "text", "YES"),
    ]
    assert schemas == [("shop",)]
