"""The SBOM: the locked runtime dependencies, each with a purl; no dev tool in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from release.runtime import locked_pins, runtime_pins
from release.sbom import SbomError, check_sbom, write_sbom

ROOT = Path(__file__).resolve().parents[2]


def test_the_runtime_closure_is_locked_and_leaves_dev_tools_out() -> None:
    pins = runtime_pins(ROOT / "pyproject.toml", ROOT / "requirements.lock")
    locked = locked_pins(ROOT / "requirements.lock")
    assert all(locked[name] == version for name, version in pins.items())
    for runtime in ("litestar", "cryptography", "msgspec", "opentelemetry-sdk", "protobuf"):
        assert runtime in pins
    for dev in ("pytest", "mypy", "ruff", "hypothesis", "cyclonedx-bom", "playwright"):
        assert dev not in pins


def test_the_sbom_has_a_purl_for_every_runtime_pin(tmp_path: Path) -> None:
    document = write_sbom(ROOT, tmp_path / "sbom.json")
    assert document["bomFormat"] == "CycloneDX"
    assert document["metadata"]["component"]["name"] == "bkg-db"
    purls = {c["purl"] for c in document["components"]}
    pins = runtime_pins(ROOT / "pyproject.toml", ROOT / "requirements.lock")
    for name, version in pins.items():
        assert f"pkg:pypi/{name}@{version}" in purls
    assert not any(p.startswith("pkg:pypi/pytest@") for p in purls)


def test_an_sbom_missing_a_purl_is_refused() -> None:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [{"name": "litestar", "version": "2.25.0"}],
    }
    with pytest.raises(SbomError, match="litestar"):
        check_sbom(document, {"litestar": "2.25.0"})
