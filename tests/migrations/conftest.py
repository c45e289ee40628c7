"""Migration directories and the `bkgdb migrate` runner the tests share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eventlog import LogReader
from tests.cli.runner import ROOT

CREATE = "CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\n"
SEED = "INSERT INTO todos VALUES (1, 'first');\nINSERT INTO todos VALUES (2, 'second');\n"
FAILING = "INSERT INTO todos VALUES (3, 'third');\nINSERT INTO todos VALUES (1, 'duplicate');\n"


def write_files(directory: Path, files: Mapping[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


def migrate(
    data_dir: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`bkgdb --data-dir D migrate ARGS` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "--data-dir", str(data_dir), "migrate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def migrate_json(data_dir: Path, *args: str, **kwargs: Any) -> dict[str, Any]:
    done = migrate(data_dir, *args, "--json", **kwargs)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def migration_records(log_dir: Path) -> list[dict[str, Any]]:
    """The `migration` stamps of the log's records, in LSN order, with their LSN."""
    stamps = []
    for record in LogReader(log_dir).read(1):
        payload = record.payload
        if isinstance(payload, dict) and "migration" in payload:
            stamps.append({**payload["migration"], "lsn": record.lsn, "kind": record.kind})
    return stamps
