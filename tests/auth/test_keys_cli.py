"""`bkgdb keys create|list|revoke` on a real data directory."""

import json
import time
from pathlib import Path

import pytest

from api.auth.errors import UnauthorizedError
from api.auth.registry import KeyRegistry
from api.cli import main
from api.datadir import DataDir
from eventlog import LogReader


def _cli(capsys: pytest.CaptureFixture[str], root: Path, *argv: str) -> tuple[int, object]:
    code = main(["--data-dir", str(root), *argv, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else None


def _keys_in_log(root: Path) -> KeyRegistry:
    registry = KeyRegistry()
    for record in LogReader(DataDir(root).log).read():
        if record.kind == "auth":
            registry.apply(record.payload)
    return registry


def test_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "data"
    assert _cli(capsys, root, "init")[0] == 0
    code, created = _cli(
        capsys, root, "keys", "create", "--scope", "namespace", "--namespace", "shop",
        "--name", "ci",
    )  # fmt: skip
    assert code == 0 and isinstance(created, dict)
    assert created["key"].startswith("bkg_namespace_") and created["active"]
    record = _keys_in_log(root).verify(created["key"], time.time())
    assert (record.id, record.namespace) == (created["id"], "shop")
    code, listed = _cli(capsys, root, "keys", "list")
    assert isinstance(listed, dict)
    assert [k["scope"] for k in listed["keys"]] == ["admin", "namespace"]
    assert all("hash" not in k and "key" not in k for k in listed["keys"])
    assert _cli(capsys, root, "keys", "revoke", created["id"])[0] == 0
    with pytest.raises(UnauthorizedError):
        _keys_in_log(root).verify(created["key"], time.time())
    assert _cli(capsys, root, "keys", "revoke", created["id"])[0] != 0
    assert _cli(capsys, root, "keys", "revoke", "nope")[0] != 0


def test_bad_spec_and_held_log_fail_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "data"
    _cli(capsys, root, "init")
    code, error = _cli(capsys, root, "keys", "create", "--scope", "namespace")
    assert code != 0 and isinstance(error, dict) and "namespace" in error["error"]["message"]
    with DataDir(root).open_log():
        code, error = _cli(capsys, root, "keys", "create", "--scope", "admin")
        assert code != 0 and isinstance(error, dict)
        assert _cli(capsys, root, "keys", "list")[0] == 0
