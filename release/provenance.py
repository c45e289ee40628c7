"""An in-toto Statement v1 with an SLSA v1 provenance predicate for the built wheel and
sdist (https://slsa.dev/spec/v1.0/provenance), DSSE-signed.

The subjects are the artefacts with their SHA-256; the build definition names the source
commit (and whether the tree had uncommitted changes), the command, the lock file's digest
and the interpreter; the builder is `BKG_BUILDER_ID` (a CI system sets it) or a local one.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from release import dsse
from release.digests import sha256_file

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:bkg-db:release:python-build:v1"
LOCAL_BUILDER = "urn:bkg-db:builder:local"
BUILD_COMMAND = "python -m build --no-isolation --skip-dependency-check --sdist --wheel"
PROVENANCE_FILE = "provenance.intoto.json"


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def source(root: Path) -> dict[str, Any]:
    """The source the artefacts were built from: repository, commit, whether it was dirty."""
    commit = _git(root, "rev-parse", "HEAD")
    remote = _git(root, "config", "--get", "remote.origin.url") or root.resolve().as_uri()
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    return {"uri": f"git+{remote}", "digest": {"gitCommit": commit}, "dirty": dirty}


def statement(
    artefacts: Sequence[Path], root: Path, env: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """The provenance statement of `artefacts` (the wheel and the sdist) built from `root`."""
    origin = source(root)
    lock = root / "requirements.lock"
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": p.name, "digest": {"sha256": sha256_file(p)}} for p in artefacts],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {"source": origin, "command": BUILD_COMMAND},
                "internalParameters": {
                    "python": platform.python_version(),
                    "platform": sys.platform,
                    "sourceDateEpoch": env.get("SOURCE_DATE_EPOCH", ""),
                },
                "resolvedDependencies": [
                    {"uri": origin["uri"], "digest": origin["digest"]},
                    {"name": lock.name, "digest": {"sha256": sha256_file(lock)}},
                ],
            },
            "runDetails": {
                "builder": {"id": env.get("BKG_BUILDER_ID") or LOCAL_BUILDER},
                "metadata": {
                    "invocationId": str(uuid.uuid4()),
                    "finishedOn": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            },
        },
    }


def write_provenance(
    artefacts: Sequence[Path], root: Path, dist: Path, key: Ed25519PrivateKey
) -> Path:
    """Sign the statement of `artefacts` and write its envelope into `dist`."""
    payload = json.dumps(statement(artefacts, root), sort_keys=True).encode()
    path = dist / PROVENANCE_FILE
    path.write_text(json.dumps(dsse.sign(payload, dsse.IN_TOTO, key), indent=2) + "\n")
    return path


def subjects(payload: bytes) -> dict[str, str]:
    """The `{name: sha256}` of a provenance statement's subjects (checking its types)."""
    document = json.loads(payload)
    if document.get("_type") != STATEMENT_TYPE or document.get("predicateType") != PREDICATE_TYPE:
        raise ValueError("not an in-toto Statement v1 of SLSA v1 provenance")
    return {s["name"]: s["digest"]["sha256"] for s in document["subject"]}
