"""The served OpenAPI document is valid and is the reviewed snapshot in `schemas/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from release.openapi import SNAPSHOT, render, served_document, snapshot_diff, validate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return served_document()


def test_the_served_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)
    assert document["info"]["title"] == "bkg-db"


def test_the_served_document_equals_the_snapshot(document: dict[str, Any]) -> None:
    diff = snapshot_diff(document, ROOT / SNAPSHOT)
    assert diff == [], "".join(diff[:60]) + "\n(review, then make api-snapshot)"


def test_a_changed_api_shows_as_a_diff(document: dict[str, Any], tmp_path: Path) -> None:
    changed = json.loads(json.dumps(document))
    changed["paths"]["/new-route"] = {"get": {"responses": {"200": {"description": "ok"}}}}
    snapshot = tmp_path / "openapi.json"
    snapshot.write_text(render(document))
    assert snapshot_diff(document, snapshot) == []
    assert any("/new-route" in line for line in snapshot_diff(changed, snapshot))


def test_an_invalid_document_is_refused(document: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(document))
    del broken["info"]
    with pytest.raises(Exception, match="info"):
        validate(broken)
