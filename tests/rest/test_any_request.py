"""Whatever query string arrives, /rest/v1 answers 2xx or a PostgREST-shaped 4xx/501, never a
500; reads and writes with `Prefer: tx=rollback` never append to the log."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.rest.conftest import Library

TOKENS = [
    "id",
    "title",
    "author_id",
    "pages",
    "authors",
    "books",
    "reviews",
    "nope",
    "data",
    "select",
    "order",
    "limit",
    "offset",
    "or",
    "and",
    "not",
    "eq",
    "in",
    "is",
    "like",
    "fts",
    "null",
    "inner",
    "=",
    ".",
    ",",
    "(",
    ")",
    ":",
    "::",
    "->",
    "->>",
    "!",
    "*",
    '"',
    "'",
    "&",
    ";",
    "--",
    " ",
    "1",
    "-1",
    "text",
    "desc",
    "nullslast",
]
query_strings = st.lists(st.sampled_from(TOKENS), max_size=24).map("".join)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(query_strings, st.text(max_size=60)),
    st.sampled_from(["GET", "DELETE", "PATCH", "POST"]),
)
def test_any_query_string_is_answered_in_shape(lib: Library, text: str, method: str) -> None:
    head = lib.api.head
    path = "books?" + quote(text, safe="=&,()!:*.\"'->")
    body = {"GET": None, "DELETE": None, "PATCH": {"pages": 1}, "POST": {"id": 99, "title": "t"}}
    rollback = {"Prefer": "tx=rollback"}
    response = lib.request(method, path, json=body[method], headers=rollback)
    assert response.status_code < 500 or response.status_code == 501, response.text
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "details", "hint"}
    assert lib.api.head == head
