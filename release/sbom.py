"""A CycloneDX JSON SBOM of the locked runtime dependencies, with a purl for each.

`cyclonedx-py requirements` reads a requirements file of the runtime pins
(`release.runtime`) and `pyproject.toml` (the root component); with `SOURCE_DATE_EPOCH`
set and `--output-reproducible` the document is the same byte for byte on every run of one
commit. It runs offline: every requirement is pinned, so no index is asked; the tool's
own schema validation is skipped (it fetches referenced schemas from the network and
stalls without one) and `check_sbom` checks what this SBOM is for instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from release.runtime import requirements_text, runtime_pins


class SbomError(RuntimeError):
    """The SBOM could not be made, or lacks what it must hold."""


def write_sbom(root: Path, out: Path) -> dict[str, Any]:
    """Write the SBOM of the project at `root` to `out`; returns the document."""
    pins = runtime_pins(root / "pyproject.toml", root / "requirements.lock")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        requirements = Path(scratch) / "runtime.txt"
        requirements.write_text(requirements_text(pins))
        command = [
            str(Path(sys.executable).with_name("cyclonedx-py")),
            "requirements",
            str(requirements),
            "--pyproject",
            str(root / "pyproject.toml"),
            "--output-reproducible",
            "--no-validate",
            "--of",
            "JSON",
            "-o",
            str(out),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SbomError(f"cyclonedx-py failed: {done.stderr.strip()}")
    document: dict[str, Any] = json.loads(out.read_text())
    check_sbom(document, pins)
    return document


def check_sbom(document: dict[str, Any], pins: dict[str, str]) -> None:
    """A CycloneDX document in which every runtime pin is a component with a purl naming
    its version."""
    if document.get("bomFormat") != "CycloneDX" or not document.get("specVersion"):
        raise SbomError("not a CycloneDX document")
    purls = {c.get("purl", "") for c in document.get("components", [])}
    missing = [
        name for name, version in pins.items() if not any(
            p.startswith(f"pkg:pypi/{name}@{version}") for p in purls
        )
    ]  # fmt: skip
    if missing:
        raise SbomError(f"the SBOM has no purl for {', '.join(missing)}")
