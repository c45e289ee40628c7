"""Signing a release directory and verifying it: one changed byte anywhere fails."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from release import dsse
from release.digests import sha256_file
from release.keys import PUBLIC_KEY_FILE, SIGNING_ENV, VERIFY_ENV, public_pem, signing_key
from release.provenance import PREDICATE_TYPE, PROVENANCE_FILE, STATEMENT_TYPE, write_provenance
from release.signing import (
    MANIFEST_FILE,
    MANIFEST_TYPE,
    SBOM_FILE,
    ReleaseError,
    sign_release,
    verify_release,
)

ROOT = Path(__file__).resolve().parents[2]
NOT_LISTED = {MANIFEST_FILE, PUBLIC_KEY_FILE}


def pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


@pytest.fixture
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A release directory with stand-ins for the wheel, sdist and SBOM, signed."""
    monkeypatch.delenv(VERIFY_ENV, raising=False)
    key = Ed25519PrivateKey.generate()
    monkeypatch.setenv(SIGNING_ENV, pem(key))
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "bkg_db-0.1.0-py3-none-any.whl").write_bytes(b"PK wheel bytes" * 100)
    (dist / "bkg-db-0.1.0.tar.gz").write_bytes(b"sdist bytes" * 100)
    (dist / SBOM_FILE).write_text('{"bomFormat": "CycloneDX"}')
    sign_release(ROOT, dist, signing_key())
    yield dist


def test_a_signed_release_verifies(dist: Path) -> None:
    verified = verify_release(dist)
    assert verified.key_source == f"the public half of {SIGNING_ENV}"
    assert len(verified.checked) == 6


def test_the_provenance_is_an_slsa_statement_of_the_wheel_and_sdist(dist: Path) -> None:
    envelope = json.loads((dist / PROVENANCE_FILE).read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    public = signing_key().key.public_key()
    statement = json.loads(dsse.verify(envelope, public, dsse.IN_TOTO))
    assert statement["_type"] == STATEMENT_TYPE
    assert statement["predicateType"] == PREDICATE_TYPE
    assert {s["name"]: s["digest"]["sha256"] for s in statement["subject"]} == {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (dist / "bkg_db-0.1.0-py3-none-any.whl", dist / "bkg-db-0.1.0.tar.gz")
    }
    definition = statement["predicate"]["buildDefinition"]
    assert len(definition["externalParameters"]["source"]["digest"]["gitCommit"]) == 40
    assert statement["predicate"]["runDetails"]["builder"]["id"]


@pytest.mark.parametrize(
    "name",
    [
        "bkg_db-0.1.0-py3-none-any.whl",
        "bkg-db-0.1.0.tar.gz",
        SBOM_FILE,
        PROVENANCE_FILE,
        MANIFEST_FILE,
        PUBLIC_KEY_FILE,
    ],
)
@pytest.mark.parametrize("where", [0, 0.5, -1])
def test_one_tampered_byte_in_any_file_fails(
    dist: Path, monkeypatch: pytest.MonkeyPatch, name: str, where: float
) -> None:
    monkeypatch.delenv(SIGNING_ENV)  # verify with the key beside the files
    verify_release(dist)
    path = dist / name
    data = bytearray(path.read_bytes())
    position = int(len(data) * where) if where >= 0 else len(data) - 1
    data[position] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises((ReleaseError, ValueError)):
        verify_release(dist)


def test_a_missing_file_fails(dist: Path) -> None:
    (dist / SBOM_FILE).unlink()
    with pytest.raises(ReleaseError, match="missing"):
        verify_release(dist)


def test_files_re_signed_by_another_key_fail_against_the_release_key(
    dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release_public = public_pem(signing_key().key.public_key()).decode()
    (dist / SBOM_FILE).write_text('{"bomFormat": "CycloneDX", "evil": true}')
    monkeypatch.setenv(SIGNING_ENV, pem(Ed25519PrivateKey.generate()))
    sign_release(ROOT, dist, signing_key())
    monkeypatch.delenv(SIGNING_ENV)
    monkeypatch.setenv(VERIFY_ENV, release_public)
    with pytest.raises(ReleaseError, match="signature"):
        verify_release(dist)


def test_a_provenance_of_other_artefacts_fails(dist: Path) -> None:
    """A signed manifest listing a validly signed provenance of another wheel."""
    key = signing_key().key
    wheel = dist / "bkg_db-0.1.0-py3-none-any.whl"
    original = wheel.read_bytes()
    wheel.write_bytes(b"another wheel")
    write_provenance([wheel, dist / "bkg-db-0.1.0.tar.gz"], ROOT, dist, key)
    wheel.write_bytes(original)
    files = {p.name: sha256_file(p) for p in dist.iterdir() if p.name not in NOT_LISTED}
    payload = json.dumps({"files": files}).encode()
    (dist / MANIFEST_FILE).write_text(json.dumps(dsse.sign(payload, MANIFEST_TYPE, key)))
    with pytest.raises(ReleaseError, match="subjects"):
        verify_release(dist)


def test_without_a_key_signing_uses_a_throwaway_key_and_says_so(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "bkg_db-0.1.0-py3-none-any.whl").write_bytes(b"w")
    (dist / "bkg-db-0.1.0.tar.gz").write_bytes(b"s")
    (dist / SBOM_FILE).write_text("{}")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "release", "--dist", str(dist)]
    signed = subprocess.run(
        [*command, "sign"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert signed.returncode == 0, signed.stderr
    assert "throwaway key" in signed.stderr and SIGNING_ENV in signed.stderr
    assert sorted(p.name for p in dist.iterdir() if p.suffix in (".pem", ".key")) == []
    assert b"PRIVATE" not in b"".join(p.read_bytes() for p in dist.iterdir())
    verified = subprocess.run(
        [*command, "verify"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stderr
    (dist / "bkg-db-0.1.0.tar.gz").write_bytes(b"S")
    failed = subprocess.run(
        [*command, "verify"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert failed.returncode == 1
    assert "bkg-db-0.1.0.tar.gz" in failed.stderr
