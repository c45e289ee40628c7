"""Read plans remembered per query-string shape (`api.rest.plans`): a remembered plan
answers with the request's own values, a bad value on a remembered shape is refused as on a
new one, DDL (a new catalogue token) replans, and row-level security still applies to each
caller; the shape itself, on the parser's inputs, against parsing from scratch."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from api.rest.errors import RestError
from api.rest.grammar import parse_query
from api.rest.plans import ReadPlans, _comparison, _Plan, _shape, _slots
from api.rest.read import Level
from api.sql import Catalog, TableDef
from tests.rest.conftest import Library
from tests.rest.test_reads import rows


def test_a_remembered_shape_answers_with_the_requests_own_values(lib: Library) -> None:
    for wanted in (1, 3, 2, 1):
        assert rows(lib, f"books?select=id,title&id=eq.{wanted}&pages=gt.0") == [
            {"id": wanted, "title": rows(lib, f"books?id=eq.{wanted}")[0]["title"]}
        ]
    assert [r["id"] for r in rows(lib, "books?select=id&id=not.eq.1&order=id")] == [2, 3, 4, 5]
    assert [r["id"] for r in rows(lib, "books?select=id&id=not.eq.4&order=id")] == [1, 2, 3, 5]
    assert [r["id"] for r in rows(lib, "books?select=id&title=like.*Gods")] == [3]
    assert [r["id"] for r in rows(lib, "books?select=id&title=like.Mo*")] == [4]


def test_a_bad_value_on_a_remembered_shape_is_refused_as_before(lib: Library) -> None:
    first = lib.get("books?id=eq.abc")
    assert rows(lib, "books?id=eq.2")[0]["id"] == 2
    again = lib.get("books?id=eq.abc")
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert lib.get("books?id=eq.xyz").status_code == first.status_code


def test_ddl_replans_a_remembered_shape(lib: Library) -> None:
    assert rows(lib, "authors?id=eq.1")[0].keys() == {"id", "name", "born", "data"}
    lib.api.ok("ALTER TABLE lib.authors ADD COLUMN country TEXT")
    assert rows(lib, "authors?id=eq.2")[0].keys() == {"id", "name", "born", "data", "country"}
    lib.api.ok("DROP TABLE lib.reviews")
    assert lib.get("reviews?id=eq.1").status_code == 404


def test_each_caller_still_sees_only_its_rows(lib: Library) -> None:
    for wanted in (1, 2, 3):
        path = f"todos?select=id,owner&id=eq.{wanted}"
        assert rows(lib, path, key=lib.alice) == (
            [{"id": wanted, "owner": "alice"}] if wanted < 3 else []
        )
        assert rows(lib, path, key=lib.bob) == ([{"id": 3, "owner": "bob"}] if wanted == 3 else [])


def test_a_new_catalogue_token_is_a_new_shape() -> None:
    plans = ReadPlans()
    table = TableDef.from_dict(
        {
            "name": "public.t",
            "columns": [
                {"name": "id", "type": "INTEGER", "affinity": "INTEGER", "primary_key": True}
            ],
        }
    )
    first = Catalog("t1", frozenset({"public"}), {"public.t": table}, {}, {}, frozenset(), {})
    query, level = plans.planned(first, table, [("id", "eq.1")])
    assert query.conditions[()][0].value == "1"  # type: ignore[union-attr]
    _, same = plans.planned(first, table, [("id", "eq.2")])
    assert same is level
    later = Catalog("t2", frozenset({"public"}), {"public.t": table}, {}, {}, frozenset(), {})
    _, replanned = plans.planned(later, table, [("id", "eq.2")])
    assert replanned is not level


KEYS = st.sampled_from(["id", "name", "a.b", "data->x", "or", "and", "not.or", "select", "order"])
VALUES = st.text(alphabet=string.ascii_letters + string.digits + ".,()*!-: \"'", max_size=20)
PREFIXES = st.sampled_from(["", "eq.", "not.eq.", "gt.", "like.", "in.", "is.", "fts.", "neq."])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(KEYS, st.tuples(PREFIXES, VALUES)), max_size=5))
def test_a_remembered_query_with_new_values_is_the_parse_of_the_new_string(
    pairs: list[tuple[str, tuple[str, str]]],
) -> None:
    """For any query string: parsing a first one of a shape, then putting a second one's
    values into it, gives what parsing the second one gives (a value cut off never decides
    whether the string parses)."""
    first = [(key, prefix + value) for key, (prefix, value) in pairs]
    second = [
        (key, prefix + value[::-1] + "9" if _comparison(key, prefix + value) else prefix + value)
        for key, (prefix, value) in pairs
    ]
    shape, values = _shape(second)
    assert _shape(first)[0] == shape
    try:
        parsed = parse_query(first)
    except RestError:  # a bad query string is planned (and refused) anew
        return
    expected = parse_query(second)
    remembered = _Plan(parsed, Level(None, (), "t0", []), _slots(first))  # type: ignore[arg-type]
    assert remembered.with_values(values) == expected
