"""The OpenAPI document, made to tell the truth about errors.

Litestar documents its own error body (`{"status_code", "detail", "extra"}`) for the 400s it
raises itself, but every error this server sends has the `{"error": {...}}` shape of
`api.http.errors` and any route may answer any status of the catalogue (a bad token, a rate
limit, a body too large). `normalise_errors` rewrites the document accordingly, so that
clients and contract tests see what is actually sent.
"""

from __future__ import annotations

from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, Operation, Reference
from litestar.openapi.spec.response import OpenAPIResponse

from api.http.deps import ERROR_DESCRIPTIONS

ERROR_SCHEMA = "#/components/schemas/ErrorBody"
OPERATIONS = ("get", "put", "post", "delete", "patch", "head", "options")


def normalise_errors(document: OpenAPI) -> None:
    """Every operation documents every catalogued error status with the error body."""
    for item in (document.paths or {}).values():
        for method in OPERATIONS:
            operation = getattr(item, method, None)
            if isinstance(operation, Operation):
                _document_errors(operation)


def _document_errors(operation: Operation) -> None:
    responses = operation.responses if operation.responses is not None else {}
    content = {"application/json": OpenAPIMediaType(schema=Reference(ref=ERROR_SCHEMA))}
    for status, description in ERROR_DESCRIPTIONS.items():
        responses[str(status)] = OpenAPIResponse(description=description, content=content)
    operation.responses = responses
