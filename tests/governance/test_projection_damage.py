"""A projection file damaged between a clean stop and a start is noticed (its SHA-256 no
longer matches the clean-shutdown marker) and rebuilt from checkpoint + log, so queries
answer the log's rows; one found malformed while serving answers 503 UNAVAILABLE with
Retry-After -- for every read and write after it -- and is rebuilt on the next start."""

from __future__ import annotations

import hashlib
import logging
import shutil
import signal
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.database import Database
from api.datadir import DataDir
from api.initialise import initialise
from projections.errors import StoreDamagedError
from projections.store import CLEAN_MARKER, DIGEST_PREFIX, STORE_FILE
from tests.http.conftest import bearer, make_data_dir, open_api, serving

ROWS = 400


def _expected() -> list[list[Any]]:
    return [[i, f"owner-{i % 7}", "t" * 150 + str(i)] for i in range(ROWS)]


def _fill(db: Database) -> None:
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, owner TEXT, title TEXT)")
    for start in range(0, ROWS, 100):
        values = ", ".join(
            f"({i}, 'owner-{i % 7}', '{'t' * 150}{i}')" for i in range(start, start + 100)
        )
        db.execute(f"INSERT INTO t VALUES {values}")


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with rows in `t`, stopped cleanly."""
    root = tmp_path_factory.mktemp("damage") / "data"
    initialise(DataDir(root), 1 << 20)
    with Database.open(root) as db:
        _fill(db)
    return root


def _copy(stopped: Path, tmp_path: Path) -> Path:
    root = tmp_path / "copy"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(stopped, root)
    return root


def _store(root: Path) -> Path:
    return root / "projections" / STORE_FILE


def _flip(path: Path, offset: int, count: int = 1) -> None:
    data = bytearray(path.read_bytes())
    for at in range(offset, min(offset + count, len(data))):
        data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def _rows(db: Database) -> list[list[Any]]:
    return db.execute("SELECT id, owner, title FROM t ORDER BY id").rows


def test_a_clean_stop_records_the_files_digest(stopped: Path) -> None:
    marker = (stopped / "projections" / CLEAN_MARKER).read_text().split()
    digest = hashlib.sha256(_store(stopped).read_bytes()).hexdigest()
    assert marker[-1] == DIGEST_PREFIX + digest


def test_a_flipped_value_is_rebuilt_not_trusted(
    stopped: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = _copy(stopped, tmp_path)
    data = _store(root).read_bytes()
    at = data.index(b"t" * 150 + b"123")  # a value: the page stays well-formed
    _flip(_store(root), at + 10)
    with caplog.at_level(logging.WARNING), Database.open(root) as db:
        assert db.open_report.rebuilt
        assert "damaged" in db.open_report.reason
        assert _rows(db) == _expected()
    assert any("rebuilding projection store" in r.getMessage() for r in caplog.records)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.floats(min_value=0, max_value=1, exclude_max=True), count=st.integers(1, 64))
def test_any_damage_between_stop_and_start_is_rebuilt(
    stopped: Path, tmp_path: Path, position: float, count: int
) -> None:
    root = _copy(stopped, tmp_path)
    store = _store(root)
    _flip(store, int(position * store.stat().st_size), count)
    with Database.open(root) as db:
        assert db.open_report.rebuilt
        assert _rows(db) == _expected()
        db.execute("INSERT INTO t VALUES (1000, 'x', 'y')")
    with Database.open(root) as db:
        assert not db.open_report.rebuilt
        assert len(_rows(db)) == ROWS + 1


def _damage_root_page(root: Path) -> None:
    """Overwrite the b-tree root page of table `t` with garbage and re-record the file's
    digest: damage that happens while serving, after the open-time check."""
    store = _store(root)
    with sqlite3.connect(store) as conn:
        (page,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'public.t'"
        ).fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    data = bytearray(store.read_bytes())
    data[(page - 1) * size : page * size] = b"\xa5" * size
    store.write_bytes(bytes(data))
    marker = root / "projections" / CLEAN_MARKER
    parts = marker.read_text().split()
    parts[-1] = DIGEST_PREFIX + hashlib.sha256(bytes(data)).hexdigest()
    marker.write_text(" ".join(parts))


def test_damage_found_while_serving_is_503_until_rebuilt(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path)
    with Database.open(root) as db:
        _fill(db)
    _damage_root_page(root)
    served = open_api(root)
    api = next(served)
    head = api.head
    first = api.query("SELECT count(*) FROM t")
    assert first.status_code == 503, first.text
    assert first.json()["error"]["code"] == "UNAVAILABLE"
    assert first.headers["retry-after"].isdigit()
    for response in (
        api.query("SELECT 1"),
        api.query("INSERT INTO t VALUES (5000, 'x', 'y')"),
    ):
        assert response.status_code == 503, response.text
    assert api.head == head
    schema = api.client.get("/schema", headers=bearer(api.admin_key))
    assert schema.status_code in (200, 503)
    served.close()
    with Database.open(root) as db:
        assert db.open_report.rebuilt and db.open_report.reason == "unclean shutdown"
        assert _rows(db) == _expected()


def test_embedded_damage_found_while_serving_raises_store_damaged(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path)
    with Database.open(root) as db:
        _fill(db)
    _damage_root_page(root)
    with Database.open(root) as db:
        with pytest.raises(StoreDamagedError):
            db.execute("SELECT count(*) FROM t")
        with pytest.raises(StoreDamagedError):
            db.execute("INSERT INTO t VALUES (5000, 'x', 'y')")
    with Database.open(root) as db:
        assert _rows(db) == _expected()


def test_a_served_directory_damaged_while_stopped_is_rebuilt_before_serving(
    tmp_path: Path,
) -> None:
    root = tmp_path / "served"
    with serving(root) as first:
        headers = bearer(first.admin_key)
        create = "CREATE TABLE t (id INTEGER PRIMARY KEY, owner TEXT, title TEXT)"
        assert httpx.post(f"{first.url}/query", json={"sql": create}, headers=headers).is_success
        for start in range(0, ROWS, 100):
            rows = [[i, f"owner-{i % 7}", "t" * 150 + str(i)] for i in range(start, start + 100)]
            body = {
                "statements": [
                    {"sql": "INSERT INTO t VALUES ($1, $2, $3)", "params": r} for r in rows
                ]
            }
            assert httpx.post(f"{first.url}/query", json=body, headers=headers).is_success
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(30) == 0
    assert (root / "projections" / CLEAN_MARKER).exists()
    data = _store(root).read_bytes()
    _flip(_store(root), data.index(b"t" * 150 + b"42") + 3, 4)
    with serving(root, admin_key=first.admin_key) as second:
        sql = {"sql": "SELECT id, owner, title FROM t ORDER BY id"}
        answer = httpx.post(f"{second.url}/query", json=sql, headers=bearer(second.admin_key))
        assert answer.json()["rows"] == _expected()
        second.process.send_signal(signal.SIGTERM)
        _, stderr = second.process.communicate(timeout=30)
    assert "rebuilding projection store (store file changed since its clean shutdown" in stderr
    assert "rebuilding projection store: LSN" in stderr
