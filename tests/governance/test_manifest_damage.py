"""A damaged `.manifest` of a sealed segment -- any byte flipped, or the file cut short --
is a finding of `verify` naming the file and the LSNs it seals, never an exception; the
CLI prints one line and exits non-zero, without a traceback (and so does opening the log)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.database import Database
from api.datadir import DataDir
from api.initialise import initialise
from eventlog import LogOptions
from eventlog.segments import list_segments, manifest_path
from eventlog.verify import verify_log
from tests.cli.runner import bkgdb
from tests.eventlog.conftest import write_log

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def sealed_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log of four segments; the second one's manifest is the one damaged."""
    log_dir = tmp_path_factory.mktemp("sealed") / "log"
    payloads = [f"event {i} " * 20 for i in range(60)]
    write_log(log_dir, payloads, options=LogOptions(segment_bytes=4096), group=3)
    assert len(list_segments(log_dir)) >= 3
    return log_dir


def _damaged(sealed_log: Path, tmp_path: Path, change: bytes | None) -> tuple[Path, Path, bytes]:
    log_dir = tmp_path / "log"
    if log_dir.exists():
        shutil.rmtree(log_dir)
    shutil.copytree(sealed_log, log_dir)
    manifest = manifest_path(list_segments(log_dir)[1][1])
    original = manifest.read_bytes()
    if change is not None:
        manifest.write_bytes(change)
    return log_dir, manifest, original


def _assert_finding(log_dir: Path, manifest: Path) -> None:
    report = verify_log(log_dir)
    sealed = json.loads(_original_of(log_dir))
    assert not report.ok
    assert manifest.name in report.reason
    assert f"LSNs {sealed['first_lsn']}..{sealed['last_lsn']}" in report.reason
    assert report.first_bad_lsn == sealed["first_lsn"]


def _original_of(log_dir: Path) -> bytes:
    # The third segment's manifest is intact: the damaged one seals the LSNs before it.
    following = json.loads(manifest_path(list_segments(log_dir)[2][1]).read_bytes())
    first = list_segments(log_dir)[1][0]
    return json.dumps({"first_lsn": first, "last_lsn": following["first_lsn"] - 1}).encode()


@SETTINGS
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_any_flipped_byte_is_a_finding(
    sealed_log: Path, tmp_path: Path, position: int, value: int
) -> None:
    _, _, original = _damaged(sealed_log, tmp_path, None)
    at = position % len(original)
    if original[at] == value:
        return
    changed = original[:at] + bytes([value]) + original[at + 1 :]
    log_dir, manifest, _ = _damaged(sealed_log, tmp_path, changed)
    _assert_finding(log_dir, manifest)


@SETTINGS
@given(keep=st.integers(min_value=0))
def test_a_truncated_manifest_is_a_finding(sealed_log: Path, tmp_path: Path, keep: int) -> None:
    _, _, original = _damaged(sealed_log, tmp_path, None)
    log_dir, manifest, _ = _damaged(sealed_log, tmp_path, original[: keep % len(original)])
    _assert_finding(log_dir, manifest)


@pytest.mark.parametrize(
    "text", ["[]", "null", '{"count": "18"}', "{" * 100_000, '{"first_lsn": true}']
)
def test_manifests_of_another_shape_are_findings(
    sealed_log: Path, tmp_path: Path, text: str
) -> None:
    log_dir, manifest, _ = _damaged(sealed_log, tmp_path, text.encode())
    _assert_finding(log_dir, manifest)


def test_the_cli_prints_one_line_and_exits_non_zero(tmp_path: Path) -> None:
    root = tmp_path / "data"
    initialise(DataDir(root), 4096)
    with Database.open(root) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        for i in range(40):
            db.execute("INSERT INTO t VALUES ($1, $2)", [i, "x" * 200])
    manifest = manifest_path(list_segments(root / "log")[1][1])
    data = bytearray(manifest.read_bytes())
    data[data.index(b'"prev_hash": "') + 20] = ord("z")
    manifest.write_bytes(bytes(data))
    result = bkgdb(root, "verify")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if manifest.name in line]
    assert len(lines) == 1 and "first bad LSN" in lines[0], result.stderr
    opened = bkgdb(root, "sql", "SELECT count(*) FROM t")  # recovery reads manifests too
    assert opened.returncode != 0
    assert "Traceback" not in opened.stderr and "no readable manifest" in opened.stderr
