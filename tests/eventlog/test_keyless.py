"""Sigstore bundles beside manifests: checked by verify, never silently trusted."""

from __future__ import annotations

import base64
import json
import logging
import shutil
from pathlib import Path

import pytest
from sigstore.errors import VerificationError
from sigstore.hashes import Hashed
from sigstore.models import Bundle
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity
from sigstore_models.common.v1 import HashAlgorithm

from eventlog import LogOptions, SigningKeyError
from eventlog.keyless import (
    AnySigner,
    bundle_path,
    check_bundle,
    pending_manifests,
    sign_artifacts,
    sign_pending,
)
from eventlog.segments import list_segments, manifest_path
from eventlog.verify import verify_log
from tests.eventlog.conftest import write_log
from tests.sigstore_support import (
    GENUINE_BUNDLE,
    GENUINE_IDENTITY,
    GENUINE_ISSUER,
    block_trust_root,
    clear_identity,
    stale_token,
)


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
    clear_identity(monkeypatch)
    with pytest.raises(SigningKeyError, match="OIDC identity"):
        sign_pending(sealed_log)
    assert not list(sealed_log.glob("*.sigstore.json"))


def test_the_genuine_bundle_verifies_against_what_it_signed() -> None:
    """The control for the mismatch tests: the real verifier and the trust root sigstore
    ships work here, offline, and accept this bundle for its own artifact and signer."""
    raw = GENUINE_BUNDLE.read_bytes()
    digest = base64.b64decode(json.loads(raw)["messageSignature"]["messageDigest"]["digest"])
    verifier = Verifier.production(offline=True)
    policy = Identity(identity=GENUINE_IDENTITY, issuer=GENUINE_ISSUER)
    artifact = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest)
    verifier.verify_artifact(artifact, Bundle.from_json(raw), policy)


def test_an_unpinned_check_verifies_the_signature_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    raw = GENUINE_BUNDLE.read_bytes()
    digest = base64.b64decode(json.loads(raw)["messageSignature"]["messageDigest"]["digest"])
    verifier, bundle = Verifier.production(offline=True), Bundle.from_json(raw)
    genuine = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest)
    with caplog.at_level(logging.WARNING):
        verifier.verify_artifact(genuine, bundle, AnySigner())
    assert [r for r in caplog.records if "policy" in r.name] == []
    other = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes(32))
    with pytest.raises(VerificationError):
        verifier.verify_artifact(other, bundle, AnySigner())


def test_a_bundle_made_for_other_bytes_fails_verification(sealed_log: Path) -> None:
    manifest = manifest_path(list_segments(sealed_log)[2][1])
    shutil.copyfile(GENUINE_BUNDLE, bundle_path(manifest))
    report = verify_log(sealed_log)
    assert not report.ok and report.first_bad_lsn == list_segments(sealed_log)[2][0]
    assert "sigstore bundle does not verify" in report.reason
    check = check_bundle(manifest, GENUINE_IDENTITY, GENUINE_ISSUER)
    assert not check.ok and "digest mismatch" in check.note


def test_without_a_trust_root_a_bundle_is_reported_unchecked(
    sealed_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block_trust_root(tmp_path, monkeypatch)
    manifest = manifest_path(list_segments(sealed_log)[0][1])
    shutil.copyfile(GENUINE_BUNDLE, bundle_path(manifest))
    check = check_bundle(manifest, None, None)
    assert check.ok and not check.checked and "no sigstore trust root" in check.note
    report = verify_log(sealed_log)
    assert report.ok
    assert [w for w in report.warnings if "bundle not checked" in w] != []


def test_pending_manifests_are_the_sealed_ones_without_a_bundle(sealed_log: Path) -> None:
    segments = list_segments(sealed_log)
    manifests = [manifest_path(path) for _, path in segments]
    assert len(segments) >= 3 and not manifests[-1].exists()
    assert pending_manifests(sealed_log) == manifests[:-1]
    bundle_path(manifests[0]).write_text("{}")
    assert pending_manifests(sealed_log) == manifests[1:-1]


def test_a_stale_identity_token_is_refused_before_anything_is_sent(
    sealed_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BKG_SIGSTORE_ID_TOKEN", stale_token())
    with pytest.raises(SigningKeyError, match="keyless signing failed: Identity token"):
        sign_pending(sealed_log)
    with pytest.raises(SigningKeyError, match="keyless signing failed"):
        sign_artifacts([], "not a token")
    assert not list(sealed_log.glob("*.sigstore.json"))
