"""Sigstore bundles beside manifests: checked by verify, never silently trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventlog import LogOptions, SigningKeyError
from eventlog.keyless import bundle_path, sign_pending
from eventlog.segments import list_segments, manifest_path
from eventlog.verify import verify_log
from tests.eventlog.conftest import write_log


@pytest.fixture
def sealed_log(tmp_path: Path) -> Path:
    log_dir = tmp_path / "log"
    write_log(log_dir, ["k" * 300] * 30, options=LogOptions(segment_bytes=4096))
    return log_dir


def test_a_log_without_bundles_verifies(sealed_log: Path) -> None:
    report = verify_log(sealed_log)
    assert report.ok and not report.warnings


def test_a_damaged_bundle_fails_verification(sealed_log: Path) -> None:
    manifest = manifest_path(list_segments(sealed_log)[1][1])
    bundle_path(manifest).write_text('{"mediaType": "application/vnd.dev.sigstore.bundle+json"}')
    report = verify_log(sealed_log)
    assert not report.ok
    assert report.first_bad_lsn == list_segments(sealed_log)[1][0]
    assert "sigstore bundle" in report.reason


def test_signing_without_an_identity_is_a_clear_error(
    sealed_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BKG_SIGSTORE_ID_TOKEN", raising=False)
    for variable in (
        "GITHUB_ACTIONS",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "GOOGLE_SERVICE_ACCOUNT_NAME",
    ):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(SigningKeyError, match="OIDC identity"):
        sign_pending(sealed_log)
    assert not list(sealed_log.glob("*.sigstore.json"))
