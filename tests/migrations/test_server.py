"""Migrations beside a running server: `bkgdb migrate --url` against a real `bkgdb serve`,
and the hostile side of `POST /migrate/apply` and `GET /migrate/status`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.migrations.files import sha256_of
from tests.cli.runner import ROOT
from tests.http.conftest import Api, bearer, make_data_dir, open_api, serving
from tests.migrations.conftest import (
    CREATE,
    FAILING,
    SEED,
    migrate,
    migrate_json,
    migration_records,
    write_files,
)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from open_api(make_data_dir(tmp_path))


def _body(version: int, name: str, sql: str, **override: Any) -> dict[str, Any]:
    return {"version": version, "name": name, "sql": sql, "sha256": sha256_of(sql), **override}


def _apply(api: Api, body: dict[str, Any], token: str | None = None) -> Any:
    return api.client.post("/migrate/apply", json=body, headers=bearer(token or api.admin_key))


def test_up_through_a_running_server(tmp_path: Path) -> None:
    files = write_files(tmp_path / "m", {"0001_create.sql": CREATE, "0002_seed.sql": SEED})
    with serving(tmp_path / "data") as served:
        env = {"BKG_URL": served.url, "BKG_API_KEY": served.admin_key}
        held = migrate(served.root, "up", "--dir", str(files))
        assert held.returncode != 0 and "held" in held.stderr  # the server holds the directory
        first = migrate_json(
            tmp_path / "x", "up", "--dir", str(files), "--to", "1",
            "--url", served.url, "--api-key", served.admin_key,
        )  # fmt: skip
        assert [m["state"] for m in first["migrations"]] == ["applied"]
        rest = migrate_json(tmp_path / "x", "up", "--dir", str(files), env=env)
        assert [m["filename"] for m in rest["migrations"]] == ["0002_seed.sql"]
        status = migrate_json(tmp_path / "x", "status", "--dir", str(files), env=env)
        assert [m["state"] for m in status["migrations"]] == ["applied", "applied"]
        write_files(files, {"0002_seed.sql": SEED + "-- edited\n", "0003_bad.sql": FAILING})
        edited = migrate(tmp_path / "x", "up", "--dir", str(files), env=env)
        assert edited.returncode != 0 and "0002_seed.sql was edited" in edited.stderr
        write_files(files, {"0002_seed.sql": SEED})
        failing = migrate(tmp_path / "x", "up", "--dir", str(files), env=env)
        assert failing.returncode != 0 and "0003_bad.sql" in failing.stderr
        wrong_key = migrate(
            tmp_path / "x", "status", "--dir", str(files), env={**env, "BKG_API_KEY": "bkg_no"}
        )
        assert wrong_key.returncode != 0 and "UNAUTHORIZED" in wrong_key.stderr
    assert [s["version"] for s in migration_records(tmp_path / "data" / "log")] == [1, 2]


def test_two_ups_at_once_apply_each_file_once(tmp_path: Path) -> None:
    files = write_files(
        tmp_path / "m",
        {
            f"{v:04d}_step.sql": f"CREATE TABLE t{v} (id INTEGER PRIMARY KEY);\n"
            for v in range(1, 7)
        },
    )
    with serving(tmp_path / "data") as served:
        env = {"BKG_URL": served.url, "BKG_API_KEY": served.admin_key}
        command = [sys.executable, "-m", "api.cli", "migrate", "up", "--dir", str(files), "--json"]
        runs = [
            subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **env},
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=120) for run in runs]
        assert all(run.returncode == 0 for run in runs), outputs
    reports = [json.loads(out)["migrations"] for out, _ in outputs]
    applied = sorted(m["filename"] for report in reports for m in report if m["state"] == "applied")
    assert applied == sorted(path.name for path in files.iterdir())
    stamps = migration_records(tmp_path / "data" / "log")
    assert [s["version"] for s in stamps] == [1, 2, 3, 4, 5, 6]


def test_only_admins_migrate(api: Api) -> None:
    api.setup_shop()
    head = api.head
    namespace_key = api.create_key("namespace", "shop")["key"]
    for token in (namespace_key, api.user_token("alice")):
        refused = _apply(api, _body(1, "create", CREATE), token)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
        listing = api.client.get("/migrate/status", headers=bearer(token))
        assert listing.status_code == 403
    assert api.client.get("/migrate/status").status_code == 401
    assert api.head == head + 1  # the namespace key, nothing else


def test_a_tampered_checksum_or_bad_body_changes_nothing(api: Api) -> None:
    head = api.head
    tampered = _apply(api, _body(1, "create", CREATE, sha256="0" * 64))
    assert tampered.status_code == 422 and "0001_create.sql" in tampered.json()["error"]["message"]
    for bad in (
        _body(0, "create", CREATE),
        _body(1, "Bad Name", CREATE),
        {**_body(1, "create", CREATE), "extra": 1},
        {"version": 1, "name": "create"},
    ):
        answer = _apply(api, bad)
        assert answer.status_code == 422, answer.text
    assert api.head == head
    assert api.client.get("/migrate/status", headers=bearer(api.admin_key)).json()["applied"] == []


def test_apply_rules_over_http(api: Api) -> None:
    created = _apply(api, _body(1, "create", CREATE))
    assert created.status_code == 201 and created.json()["applied"] is True
    lsn = created.json()["lsn"]
    again = _apply(api, _body(1, "create", CREATE))
    assert again.status_code == 200 and again.json() | {"applied": True} == created.json()
    edited = _apply(api, _body(1, "create", CREATE + "-- edited"))
    assert edited.status_code == 409
    assert edited.json()["error"]["detail"]["file"] == "0001_create.sql"
    head = api.head
    failing = _apply(api, _body(2, "bad", SEED + FAILING))
    assert failing.status_code == 409 and api.head == head
    assert api.rows("SELECT count(*) FROM todos") == [[0]]
    record = api.last_record()
    assert record.lsn == lsn and record.payload["migration"]["version"] == 1
    for sql in ("SELECT * FROM _bkg_migrations", "DELETE FROM _bkg_migrations"):
        assert api.query(sql).status_code == 403  # the ledger is the log's, not SQL's
    status = api.client.get("/migrate/status", headers=bearer(api.admin_key)).json()
    assert [(row["filename"], row["lsn"]) for row in status["applied"]] == [
        ("0001_create.sql", lsn)
    ]
