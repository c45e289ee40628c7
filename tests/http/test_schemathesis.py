"""Property-based tests of the whole API from its own OpenAPI document (schemathesis), once
with an admin key and once with a user token: no 5xx (but 501), and every answer matches
the document (status documented, content type, body schema). Valid and invalid requests are
generated for every operation; examples are few, to stay fast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis import CheckContext, GenerationMode, Response, checks
from schemathesis.openapi.loaders import from_asgi
from schemathesis.schemas import BaseSchema

from api.http import create_app
from tests.http.conftest import Api, bearer, make_data_dir, open_api


def no_server_error(ctx: CheckContext, response: Response, case: Any) -> bool | None:
    """No 5xx, except 501 CAPABILITY_NOT_SUPPORTED: DESIGN.md's answer to valid SQL that
    bkg-db does not implement, which generated statements often are."""
    if response.status_code >= 500 and response.status_code != 501:
        raise AssertionError(f"server error {response.status_code}: {response.text[:300]}")
    return None


CHECKS = [
    no_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
EXAMPLES = 8
# /realtime streams until the client leaves: its contract and bad input are in tests/realtime.
SKIPPED_PREFIXES = ("/docs", "/realtime")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, BaseSchema]]:
    root = make_data_dir(Path(tmp_path_factory.mktemp("schemathesis")))
    for api in open_api(root):
        api.setup_shop()
        yield api, from_asgi("/openapi.json", create_app(api.backend))


def _operations(schema: BaseSchema) -> list[Any]:
    found = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    return [op for op in found if not op.path.startswith(SKIPPED_PREFIXES)]


def _fuzz(operation: Any, headers: dict[str, str]) -> None:
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


@pytest.mark.parametrize("who", ["admin", "user"])
def test_every_operation_conforms(served: tuple[Api, BaseSchema], who: str) -> None:
    api, schema = served
    token = api.admin_key if who == "admin" else api.user_token("alice")
    headers: dict[str, Any] = bearer(token)
    operations = _operations(schema)
    assert len(operations) >= 12
    for operation in operations:
        _fuzz(operation, headers)
