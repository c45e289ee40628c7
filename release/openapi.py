"""The served OpenAPI document: validated, and compared with the reviewed snapshot.

The document is the one a primary serves at `/openapi.json`, fetched from the app built
over a fresh data directory (in-process, no port). `api-validate` checks it with
`openapi-spec-validator` and fails when it differs from `schemas/openapi.json`, so an API
change shows up in review as a change of that file; `api-snapshot` rewrites the file.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from pathlib import Path
from typing import Any

SNAPSHOT = Path("schemas") / "openapi.json"


def served_document() -> dict[str, Any]:
    """What a freshly initialised primary serves at `/openapi.json`."""
    from litestar.testing import TestClient

    from api.datadir import DataDir
    from api.http.app import create_app
    from api.initialise import initialise
    from api.settings import ServerConfig, Settings
    from api.wiring import open_primary

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "data"
        initialise(DataDir(root), 1 << 20)
        backend = open_primary(Settings(ServerConfig(data_dir=root)))
        try:
            with TestClient(create_app(backend)) as client:
                response = client.get("/openapi.json")
                response.raise_for_status()
                document: dict[str, Any] = response.json()
        finally:
            backend.close()
    return document


def render(document: dict[str, Any]) -> str:
    """The snapshot's text: sorted keys, two-space indent, one final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def validate(document: dict[str, Any]) -> None:
    """Raise `openapi_spec_validator`'s error when the document is not valid OpenAPI."""
    from openapi_spec_validator import validate as validate_spec

    validate_spec(document)


def snapshot_diff(document: dict[str, Any], snapshot: Path) -> list[str]:
    """The unified diff from the snapshot to the served document (empty when equal)."""
    served = render(document).splitlines(keepends=True)
    kept = snapshot.read_text().splitlines(keepends=True) if snapshot.is_file() else []
    return list(difflib.unified_diff(kept, served, str(snapshot), "served /openapi.json"))
