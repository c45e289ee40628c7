"""The OpenAPI document, completed where Litestar cannot know the truth.

- Errors: Litestar documents its own error body (`{"status_code", "detail", "extra"}`) for
  the 400s it raises itself, but every error this server sends has the `{"error": {...}}`
  shape of `api.http.errors`, and any route may answer any status of the catalogue (a bad
  token, a rate limit, a body too large). Every operation documents them all.
- Bodies a handler decodes itself (`deps.read_body`, used on the hot path) are documented
  from their msgspec types.

The document is completed once, when the app is built, in the dictionary Litestar caches and
serves (at `/openapi.json` and to the UI at `/docs`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin

from api.http.deps import ERROR_DESCRIPTIONS
from api.http.errors import ErrorBody
from api.http.models import QueryRequest

REF = "#/components/schemas/{name}"
OPERATIONS = ("get", "put", "post", "delete", "patch", "head", "options")
DECODED_BODIES: dict[tuple[str, str], type[msgspec.Struct]] = {("/query", "post"): QueryRequest}


def complete_document(app: Litestar) -> None:
    """Document errors on every operation and the bodies handlers decode themselves."""
    document = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    models = [ErrorBody, *DECODED_BODIES.values()]
    refs, components = msgspec.json.schema_components(models, ref_template=REF)
    schemas.update(components)
    error_ref, body_refs = refs[0], dict(zip(DECODED_BODIES, refs[1:], strict=True))
    for path, item in document.get("paths", {}).items():
        for method in OPERATIONS:
            operation = item.get(method)
            if operation is None:
                continue
            _document_errors(operation, error_ref)
            if (path, method) in body_refs:
                content = {"application/json": {"schema": body_refs[path, method]}}
                operation["requestBody"] = {"required": True, "content": content}


def _document_errors(operation: dict[str, Any], error_ref: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status, description in ERROR_DESCRIPTIONS.items():
        content = {"application/json": {"schema": error_ref}}
        responses[str(status)] = {"description": description, "content": content}
