"""Sigstore bundles of audit seals: which files get signed, and how verify treats bundles.

A bundle for our own files needs an OIDC identity and Fulcio and Rekor on the network,
which this machine does not have; the bundle that must fail as "not made for this seal" is
therefore a genuine public-good bundle of another artifact (tests/data/sigstore), checked
by the real verifier against the trust root sigstore ships.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.cli import main
from api.database import Database
from eventlog import LogReader, SigningKeyError
from eventlog.keyless import bundle_path
from projections.consumers.audit import AuditOptions
from projections.consumers.audit_files import audit_files, seal_path
from projections.consumers.audit_keyless import pending_files, sign_files
from projections.consumers.audit_verify import log_key_ring
from tests.cli.runner import bkgdb
from tests.consumers.test_audit import make_db, run_trail
from tests.sigstore_support import (
    GENUINE_BUNDLE,
    block_trust_root,
    clear_identity,
    stale_token,
)


@pytest.fixture(scope="module")
def sealed_trail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose trail has several closed, sealed files and an active one."""
    root = tmp_path_factory.mktemp("trail") / "data"
    db: Database = make_db(root)
    try:
        run_trail(db, AuditOptions(max_bytes=1200))
    finally:
        db.close()
    return root


@pytest.fixture
def data(sealed_trail: Path, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "data"
    shutil.copytree(sealed_trail, copy)
    yield copy


def cli(data: Path, *args: str) -> int:
    return main(["--data-dir", str(data), *args])


def bundles(data: Path) -> list[Path]:
    return sorted(data.rglob("*.sigstore.json"))


def test_pending_files_are_closed_sealed_files_without_a_bundle(data: Path) -> None:
    files = audit_files(data / "audit")
    assert len(files) >= 3 and not seal_path(files[-1]).exists()
    assert pending_files(data / "audit") == files[:-1]
    bundle_path(seal_path(files[1])).write_text("{}")
    assert pending_files(data / "audit") == [files[0], *files[2:-1]]
    assert pending_files(files[0]) == [files[0]]
    assert pending_files(files[1]) == [] and pending_files(files[-1]) == []
    export = data.parent / "export.jsonl"
    assert cli(data, "audit", "export", "--out", str(export)) == 0
    assert pending_files(export) == [export]


def test_a_bundle_not_made_for_the_seal_fails_verify(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = data / "audit"
    victim = audit_files(audit)[1]
    shutil.copyfile(GENUINE_BUNDLE, bundle_path(seal_path(victim)))
    assert cli(data, "audit", "verify", str(audit)) == 1
    assert f"{victim.name}: sigstore bundle does not verify" in capsys.readouterr().err
    assert cli(data, "audit", "verify", str(victim)) == 1
    assert "digest mismatch" in capsys.readouterr().err
    bundle_path(seal_path(victim)).unlink()
    assert cli(data, "audit", "verify", str(audit)) == 0


def test_an_unreadable_bundle_fails_verify(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = audit_files(data / "audit")[0]
    bundle_path(seal_path(victim)).write_text('{"mediaType": "application/vnd.dev.sigstore')
    assert cli(data, "audit", "verify", str(data / "audit")) == 1
    assert "unreadable sigstore bundle" in capsys.readouterr().err


def test_a_bundle_without_a_trust_root_is_reported_unchecked(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    block_trust_root(data.parent, monkeypatch)
    victim = audit_files(data / "audit")[0]
    shutil.copyfile(GENUINE_BUNDLE, bundle_path(seal_path(victim)))
    capsys.readouterr()
    assert cli(data, "audit", "verify", str(data / "audit"), "--json") == 0
    reports = {Path(f["path"]).name: f for f in json.loads(capsys.readouterr().out)["files"]}
    assert reports[victim.name]["keyless"] == "unchecked"
    assert any("no sigstore trust root" in note for note in reports[victim.name]["notes"])
    assert all(f["keyless"] is None for name, f in reports.items() if name != victim.name)
    assert cli(data, "audit", "verify", str(victim)) == 0
    out = capsys.readouterr().out
    assert "sigstore bundle unchecked" in out and "not checked" in out


def test_a_removed_seal_fails_verify(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    audit = data / "audit"
    victim = audit_files(audit)[1]
    bundle_path(seal_path(victim)).write_text("{}")
    seal_path(victim).unlink()
    assert cli(data, "audit", "verify", str(audit)) == 1
    assert "closed (a newer file follows) but unsealed" in capsys.readouterr().err
    assert cli(data, "audit", "verify", str(victim)) == 1
    assert "has a sigstore bundle but its seal is gone" in capsys.readouterr().err


def test_sign_keyless_without_an_identity_fails_and_writes_nothing(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_identity(monkeypatch)
    done = bkgdb(data, "audit", "sign-keyless")
    assert done.returncode == 1
    assert done.stderr.startswith("bkgdb audit: keyless signing needs an OIDC identity")
    assert len(done.stderr.splitlines()) == 1 and done.stdout == ""
    assert bundles(data) == []


def test_sign_keyless_with_a_stale_token_fails_and_writes_nothing(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BKG_SIGSTORE_ID_TOKEN", stale_token())
    assert cli(data, "audit", "sign-keyless", "--json") == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["kind"] == "SigningKeyError"
    assert error["message"].startswith("keyless signing failed: ")
    assert bundles(data) == []


def test_sign_keyless_refuses_a_trail_that_does_not_verify(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BKG_SIGSTORE_ID_TOKEN", stale_token())
    victim = audit_files(data / "audit")[2]
    lines = victim.read_bytes().splitlines(keepends=True)
    victim.write_bytes(b"".join(lines[1:]))
    assert cli(data, "audit", "sign-keyless") == 1
    err = capsys.readouterr().err
    assert f"not signing: {victim.name} does not match its seal" in err
    assert bundles(data) == []


def test_sign_keyless_signs_only_sealed_files(
    data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clear_identity(monkeypatch)
    active = audit_files(data / "audit")[-1]
    assert cli(data, "audit", "sign-keyless", str(active)) == 1
    assert "keyless signing needs an OIDC identity" in capsys.readouterr().err
    monkeypatch.setenv("BKG_SIGSTORE_ID_TOKEN", stale_token())
    assert cli(data, "audit", "sign-keyless", str(active)) == 1
    assert "has no seal: only closed, sealed files are signed" in capsys.readouterr().err
    assert bundles(data) == []


def test_sign_files_needs_an_identity_before_reading_anything(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_identity(monkeypatch)
    reader = LogReader(data / "log")
    missing = [data / "audit" / "audit-00000000000000999999.jsonl"]
    with pytest.raises(SigningKeyError, match="OIDC identity"):
        sign_files(missing, reader, log_key_ring(reader))
    assert bundles(data) == []
