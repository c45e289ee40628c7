"""DROP SCHEMA [IF EXISTS] name [RESTRICT | CASCADE]: through the log like other DDL, with
Postgres' answers (409 / 2BP01 for a schema that still holds tables without CASCADE), and a
cascade that rebuilds from the log to the same state."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.database import Database
from api.datadir import DataDir
from api.sql import Catalog, ConflictError
from tests.http.conftest import Api, bearer, serve_shop


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Api]:
    yield from serve_shop(tmp_path)


def _error(api: Api, sql: str, status: int, code: str, token: str | None = None) -> str:
    head = api.head
    response = api.query(sql, token)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert api.head == head  # nothing appended
    message: str = response.json()["error"]["message"]
    return message


def test_an_empty_schema_is_dropped_through_the_log(shop: Api) -> None:
    shop.ok("CREATE SCHEMA scratch")
    answer = shop.ok("DROP SCHEMA scratch")
    assert answer["lsn"] == shop.head
    change = shop.last_record().payload["changes"][-1]
    assert (change["action"], change["table"]) == ("drop_schema", "scratch")
    _error(shop, "CREATE TABLE scratch.t (id int)", 404, "NOT_FOUND")
    _error(shop, "DROP SCHEMA scratch", 404, "NOT_FOUND")
    head = shop.head
    assert shop.ok("DROP SCHEMA IF EXISTS scratch")["lsn"] == head == shop.head
    shop.ok("CREATE SCHEMA scratch")  # and it can be created again


def test_a_schema_with_tables_needs_cascade(shop: Api) -> None:
    message = _error(shop, "DROP SCHEMA other", 409, "CONFLICT")
    assert "other.secrets" in message
    _error(shop, "DROP SCHEMA other RESTRICT", 409, "CONFLICT")
    assert shop.rows("SELECT value FROM other.secrets") == [["top secret"]]


def test_public_and_other_principals_cannot_drop_schemas(shop: Api) -> None:
    _error(shop, "DROP SCHEMA public", 403, "FORBIDDEN")
    key = shop.create_key("namespace", "other")["key"]
    response = shop.client.post(
        "/query", json={"sql": "DROP SCHEMA other CASCADE"}, headers=bearer(key)
    )
    assert response.status_code == 403, response.text
    assert shop.rows("SELECT count(*) FROM other.secrets") == [[1]]


def test_cascade_drops_tables_in_reference_order_and_replays(tmp_path: Path) -> None:
    for api in serve_shop(tmp_path):
        api.ok("CREATE TABLE other.parents (id int PRIMARY KEY)")
        api.ok("CREATE TABLE other.kids (id int PRIMARY KEY, pid int REFERENCES other.parents)")
        api.ok("INSERT INTO other.parents VALUES (1)")
        api.ok("INSERT INTO other.kids VALUES (1, 1)")
        api.ok("CREATE TABLE shop.refs (id int PRIMARY KEY, pid int REFERENCES other.parents)")
        assert "shop.refs" in _error(api, "DROP SCHEMA other CASCADE", 409, "CONFLICT")
        api.ok("DROP TABLE shop.refs")
        api.ok("DROP SCHEMA other CASCADE")
        dropped = [c["table"] for c in api.last_record().payload["changes"]]
        assert dropped.index("other.kids") < dropped.index("other.parents")
        assert dropped[-1] == "other"
        _error(api, "SELECT * FROM other.secrets", 404, "NOT_FOUND")
        root = api.backend.config.data_dir
    shutil.rmtree(DataDir(root).projections)
    with Database.open(root) as db:
        assert db.open_report.rebuilt
        with db.store.snapshot() as snap:
            catalog = Catalog.load(snap.conn)
        assert "other" not in catalog.schemas
        assert not [name for name in catalog.tables if name.startswith("other.")]
        db.execute("CREATE SCHEMA other")
        with pytest.raises(ConflictError):
            db.execute("CREATE SCHEMA other")
