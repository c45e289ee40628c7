"""The projection commands of `bkgdb`: sql, checkpoint, rebuild, replay."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from api.cli import main
from api.database import Database
from api.datadir import DataDir
from api.initialise import initialise


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    initialise(DataDir(root), 1 << 20)
    return root


def bkgdb(data_dir: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_sql_checkpoint_rebuild_and_replay(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert (
        bkgdb(data_dir, capsys, "sql", "CREATE TABLE notes (id int primary key, body text)")[0] == 0
    )
    code, out, _ = bkgdb(
        data_dir,
        capsys,
        "sql",
        "INSERT INTO notes VALUES ($1, $2)",
        "--params",
        '[1, "hi"]',
        "--json",
    )
    assert code == 0 and json.loads(out)["rowcount"] == 1
    inserted_at = json.loads(out)["lsn"]
    bkgdb(data_dir, capsys, "sql", "INSERT INTO notes VALUES (2, 'later')")

    code, out, _ = bkgdb(data_dir, capsys, "sql", "SELECT id, body FROM notes ORDER BY id")
    assert code == 0 and "hi" in out and "later" in out and "(2 rows, LSN" in out
    code, out, _ = bkgdb(
        data_dir, capsys, "sql", "SELECT body FROM notes", "--as-of-lsn", str(inserted_at), "--json"
    )
    assert json.loads(out) == {
        "columns": ["body"],
        "rows": [["hi"]],
        "rowcount": 1,
        "lsn": inserted_at,
    }

    code, out, _ = bkgdb(data_dir, capsys, "checkpoint", "--json")
    checkpoint = json.loads(out)
    assert code == 0 and checkpoint["lsn"] == inserted_at + 1
    assert Path(checkpoint["path"]).is_file()

    code, out, _ = bkgdb(data_dir, capsys, "rebuild", "--json")
    assert code == 0 and json.loads(out)["checkpoint_lsn"] == checkpoint["lsn"]
    code, out, _ = bkgdb(data_dir, capsys, "rebuild", "--from-scratch", "--json")
    rebuilt = json.loads(out)
    assert (rebuilt["checkpoint_lsn"], rebuilt["from_lsn"], rebuilt["to_lsn"]) == (
        None,
        1,
        checkpoint["lsn"],
    )

    past = tmp_path / "past.sqlite"
    code, out, _ = bkgdb(
        data_dir, capsys, "replay", "--to-lsn", str(inserted_at), "--out", str(past), "--json"
    )
    assert code == 0 and json.loads(out)["lsn"] == inserted_at
    conn = sqlite3.connect(past)
    assert conn.execute('SELECT id, body FROM "public.notes"').fetchall() == [(1, "hi")]
    conn.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sql", "SELEC 1"], "bkgdb sql: SYNTAX_ERROR"),
        (["sql", "SELECT * FROM missing"], "bkgdb sql: NOT_FOUND"),
        (["sql", "SELECT 1", "--params", "{bad"], "--params is not JSON"),
        (["sql", "SELECT 1", "--as-of-lsn", "999"], "LSN 999 is outside"),
        (["replay", "--to-lsn", "999", "--out", "x.sqlite"], "LSN 999 is outside"),
    ],
)
def test_errors_are_one_line_with_non_zero_exit(
    data_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = bkgdb(data_dir, capsys, *args)
    assert code != 0
    assert message in err and len(err.strip().splitlines()) == 1


def test_uninitialised_directory_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (["sql", "SELECT 1"], ["checkpoint"], ["rebuild"]):
        code, _, err = bkgdb(tmp_path / "nothing", capsys, *args)
        assert code == 1 and "not initialised" in err


def test_sql_reads_while_a_server_holds_the_directory(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Database.open(data_dir) as db:
        db.execute("CREATE TABLE notes (id int primary key)")
        written = db.execute("INSERT INTO notes VALUES (7)").lsn
        code, out, _ = bkgdb(data_dir, capsys, "sql", "SELECT id FROM notes", "--json")
        assert code == 0 and json.loads(out)["rows"] == [[7]]
        assert json.loads(out)["lsn"] == written
        code, out, _ = bkgdb(
            data_dir, capsys, "sql", "SELECT id FROM notes", "--as-of-lsn", str(written - 1)
        )
        assert code == 0 and "(0 rows" in out
        code, _, err = bkgdb(data_dir, capsys, "sql", "INSERT INTO notes VALUES (8)")
        assert code == 1 and "held by" in err and len(err.strip().splitlines()) == 1
