"""The signed manifest of a release, and its verification.

`sign_release` makes the provenance of the wheel and the sdist (`release.provenance`) and
a manifest `{"files": {name: sha256}}` of the wheel, the sdist, the SBOM and the
provenance, DSSE-signed with the release key (`release.keys`), beside them in `dist/`
with the key's public half. `verify_release` rebuilds and re-signs nothing: it checks the
manifest's signature, every listed file's SHA-256, the provenance's signature and that its
subjects are the listed wheel and sdist; one changed byte anywhere fails it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from release import dsse
from release.digests import sha256_file
from release.keys import PUBLIC_KEY_FILE, SigningKey, public_pem, verify_key
from release.provenance import PROVENANCE_FILE, subjects, write_provenance

MANIFEST_FILE = "release.manifest.dsse.json"
MANIFEST_TYPE = "application/vnd.bkg-db.release-manifest+json"
SBOM_FILE = "sbom.cdx.json"


class ReleaseError(ValueError):
    """A release directory that cannot be signed or does not verify."""


@dataclass
class Verified:
    """What verification checked (each line says one thing it found good)."""

    key_source: str
    checked: list[str] = field(default_factory=list)


def artefacts(dist: Path) -> list[Path]:
    """The one wheel and the one sdist in `dist`."""
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise ReleaseError(f"{dist} must hold one wheel and one sdist (make dist builds them)")
    return [wheels[0], sdists[0]]


def sign_release(root: Path, dist: Path, key: SigningKey) -> Path:
    """Write the provenance and the signed manifest (see the module docstring)."""
    built = artefacts(dist)
    sbom = dist / SBOM_FILE
    if not sbom.is_file():
        raise ReleaseError(f"{sbom} is missing (make sbom writes it)")
    provenance = write_provenance(built, root, dist, key.key)
    files = {p.name: sha256_file(p) for p in [*built, sbom, provenance]}
    payload = json.dumps({"files": files}, sort_keys=True).encode()
    manifest = dist / MANIFEST_FILE
    manifest.write_text(json.dumps(dsse.sign(payload, MANIFEST_TYPE, key.key), indent=2) + "\n")
    (dist / PUBLIC_KEY_FILE).write_bytes(public_pem(key.key.public_key()))
    return manifest


def verify_release(dist: Path) -> Verified:
    """Check `dist` as signed by `sign_release`; raises `ReleaseError` on any mismatch."""
    try:
        public, where = verify_key(dist)
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"no key to verify with: {exc}") from exc
    done = Verified(where)
    files = _manifest(dist, public)
    done.checked.append(f"{MANIFEST_FILE}: signature good")
    for name, expected in sorted(files.items()):
        path = dist / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise ReleaseError(f"{name}: listed in the manifest but missing")
        if sha256_file(path) != expected:
            raise ReleaseError(f"{name}: SHA-256 differs from the signed manifest")
        done.checked.append(f"{name}: sha256 {expected}")
    built = [p.name for p in artefacts(dist)]
    for required in [*built, SBOM_FILE, PROVENANCE_FILE]:
        if required not in files:
            raise ReleaseError(f"{required} is not in the signed manifest")
    try:
        statement = dsse.verify(
            json.loads((dist / PROVENANCE_FILE).read_bytes()), public, dsse.IN_TOTO
        )
        subject = subjects(statement)
    except (ValueError, KeyError, TypeError) as exc:
        raise ReleaseError(f"{PROVENANCE_FILE}: {exc}") from exc
    if subject != {name: files[name] for name in built}:
        raise ReleaseError(f"{PROVENANCE_FILE}: its subjects are not the wheel and sdist")
    done.checked.append(f"{PROVENANCE_FILE}: signature good, subjects are {', '.join(built)}")
    return done


def _manifest(dist: Path, public: Ed25519PublicKey) -> dict[str, str]:
    try:
        envelope = json.loads((dist / MANIFEST_FILE).read_bytes())
        payload = dsse.verify(envelope, public, MANIFEST_TYPE)
        files = json.loads(payload)["files"]
    except OSError as exc:
        raise ReleaseError(f"{MANIFEST_FILE} is missing (make sign writes it)") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ReleaseError(f"{MANIFEST_FILE}: {exc}") from exc
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise ReleaseError(f"{MANIFEST_FILE}: malformed file list")
    return files
