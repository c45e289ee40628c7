"""COPY FROM STDIN (one record, RLS applies) and COPY TO STDOUT, text, CSV and binary."""

from __future__ import annotations

import datetime
import decimal

import psycopg
import pytest

from tests.pgwire.conftest import Pg


def test_psycopg_copy_in_is_one_record_and_copy_out_reads_it_back(pg: Pg) -> None:
    rows = [(100 + i, "carol", f"t{i}\tx" if i else None) for i in range(250)]
    before = pg.head()
    with psycopg.connect(pg.dsn(pg.namespace_key), autocommit=True) as conn:
        with conn.cursor() as cur, cur.copy("COPY todos (id, owner, title) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        assert pg.head() == before + 1
        with conn.cursor() as cur:
            query = (
                "COPY (SELECT id, owner, title FROM todos WHERE id BETWEEN 100 AND 349) TO STDOUT"
            )
            with cur.copy(query) as copy:
                back = [tuple(r) for r in copy.rows()]
    assert back == [(str(i), o, t) for i, o, t in rows]


def test_psql_csv_round_trip(pg: Pg) -> None:
    data = 'id,todo_id,body\n50,1,"a, b"\n51,1,\n'
    done = pg.psql(pg.namespace_key, "-c", "COPY notes FROM STDIN CSV HEADER", stdin=data)
    assert done.stdout.strip() == "COPY 2", done.stderr
    query = "COPY (SELECT id, body FROM notes WHERE id >= 50) TO STDOUT CSV"
    dump = pg.psql(pg.namespace_key, "-c", query)
    assert dump.stdout == '50,"a, b"\n51,\n'


def test_copy_in_as_a_user_is_checked_by_rls(pg: Pg) -> None:
    before = pg.head()
    done = pg.psql(pg.alice, "-c", "COPY todos FROM STDIN", stdin="700\tbob\tx\n")
    assert "ERROR:  42501" in done.stderr
    assert pg.head() == before


def test_a_malformed_load_changes_nothing(pg: Pg) -> None:
    before = pg.head()
    done = pg.psql(pg.namespace_key, "-c", "COPY todos FROM STDIN", stdin="701\tx\n")
    assert "ERROR:  22P04" in done.stderr
    bad_int = pg.psql(pg.namespace_key, "-c", "COPY todos FROM STDIN", stdin="x\ty\tz\n")
    assert "ERROR:  22P02" in bad_int.stderr
    assert pg.head() == before


BINARY_TABLE = (
    "CREATE TABLE shop.copied (id integer PRIMARY KEY, n numeric, at timestamptz, raw bytea,"
    " note text)"
)


def test_binary_copy_in_and_out(pg: Pg) -> None:
    pg.http(BINARY_TABLE)
    moment = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    rows = [(i, decimal.Decimal("1.25") * i, moment, bytes([i, 0, 255]), None) for i in range(3)]
    types = ["int4", "numeric", "timestamptz", "bytea", "text"]
    before = pg.head()
    with psycopg.connect(pg.dsn(pg.namespace_key), autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy("COPY copied FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
        assert pg.head() == before + 1
        with cur.copy("COPY copied TO STDOUT (FORMAT BINARY)") as copy:
            copy.set_types(types)
            back = list(copy.rows())
    assert back == rows


def test_malformed_binary_copy_changes_nothing(pg: Pg) -> None:
    before = pg.head()
    with psycopg.connect(pg.dsn(pg.namespace_key), autocommit=True) as conn:
        with conn.cursor() as cur, pytest.raises(psycopg.errors.BadCopyFileFormat):  # noqa: SIM117
            with cur.copy("COPY todos (id, owner) FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + b"\x00\x02\x00\x00\x00\x08")
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert pg.head() == before
