"""The PostgREST query-string grammar: examples from PostgREST's documentation, a round
trip (typed form → text → the same typed form) and "any text gives a typed form or PGRST100"."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.rest.ast import (
    OPERATORS,
    Column,
    Embed,
    Field,
    Filter,
    JsonStep,
    Logic,
    OrderTerm,
    SelectItem,
    Star,
)
from api.rest.errors import GrammarError
from api.rest.grammar import (
    MAX_ITEMS,
    parse_filter,
    parse_logic,
    parse_order,
    parse_query,
    parse_select,
)

# -- rendering the typed form back to text (what a client would send) ------------------------


def render_field(field: Field) -> str:
    return render_name(field.name) + "".join(f"{s.op}{render_name(s.key)}" for s in field.path)


def render_name(name: str) -> str:
    return name if name.replace("_", "a").replace("$", "a").isalnum() else f'"{name}"'


def render_item(item: SelectItem) -> str:
    if isinstance(item, Star):
        return "*"
    alias = f"{render_name(item.alias)}:" if item.alias else ""
    if isinstance(item, Column):
        cast = f"::{item.cast}" if item.cast else ""
        return f"{alias}{render_field(item.field)}{cast}"
    hint = f"!{item.hint}" if item.hint else ""
    join = "!inner" if item.join == "inner" else ""
    inner = ",".join(render_item(i) for i in item.items)
    return f"{alias}{render_name(item.name)}{hint}{join}({inner})"


def render_filter(f: Filter) -> str:
    neg = "not." if f.negated else ""
    mod = f"({f.modifier})" if f.modifier else ""
    if f.op == "in":
        items = ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in f.values)
        return f"{neg}in.({items})"
    return f"{neg}{f.op}{mod}.{f.value}"


def render_condition(c: Filter | Logic) -> str:
    if isinstance(c, Filter):
        return f"{render_field(c.field)}.{render_filter(c)}"
    neg = "not." if c.negated else ""
    return f"{neg}{c.op}({','.join(render_condition(x) for x in c.children)})"


# -- strategies ------------------------------------------------------------------------------

names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: n not in ("inner", "left")
)
quoted = st.text(
    st.characters(blacklist_characters='"', blacklist_categories=["Cs"]), min_size=1, max_size=6
)
any_name = st.one_of(names, quoted)
keys = st.one_of(names, st.from_regex(r"-?[0-9]{1,3}", fullmatch=True))
steps = st.lists(st.builds(JsonStep, st.sampled_from(["->", "->>"]), keys), max_size=3)
fields = st.builds(Field, any_name, steps.map(tuple))
casts = st.none() | st.sampled_from(["text", "int", "double precision", "text[]", "jsonb"])
columns = st.builds(Column, fields, st.none() | names, casts)
items: st.SearchStrategy[SelectItem] = st.recursive(
    st.one_of(columns, st.just(Star())),
    lambda inner: st.builds(
        Embed,
        names,
        st.lists(inner, min_size=1, max_size=3).map(tuple),
        st.none() | names,
        st.none() | names,
        st.sampled_from(["left", "inner"]),
    ),
    max_leaves=8,
)
plain_values = st.text(
    st.characters(blacklist_characters=',()"\\', blacklist_categories=["Cs"]), max_size=8
)
filters = st.one_of(
    st.builds(
        Filter,
        fields,
        st.sampled_from([o for o in OPERATORS if o not in ("in", "is")]),
        plain_values,
        st.just(()),
        st.booleans(),
    ),
    st.builds(
        Filter,
        fields,
        st.just("in"),
        st.just(""),
        st.lists(st.text(max_size=5), max_size=4).map(tuple),
        st.booleans(),
    ),
    st.builds(Filter, fields, st.just("is"), st.sampled_from(["null", "true", "false"])),
)
conditions = st.recursive(
    filters,
    lambda inner: st.builds(
        Logic,
        st.sampled_from(["and", "or"]),
        st.lists(inner, min_size=1, max_size=3).map(tuple),
        st.booleans(),
    ),
    max_leaves=8,
)


# -- properties ------------------------------------------------------------------------------


@given(st.lists(items, min_size=1, max_size=4))
def test_select_round_trips(selected: list[SelectItem]) -> None:
    text = ",".join(render_item(i) for i in selected)
    assert parse_select(text) == tuple(selected)


@given(fields, filters)
def test_filter_round_trips(field: Field, f: Filter) -> None:
    parsed = parse_filter(field, render_filter(f))
    assert parsed == Filter(field, f.op, f.value, f.values, f.negated, f.modifier)


@given(st.lists(conditions, min_size=1, max_size=3))
def test_logic_round_trips(children: list[Filter | Logic]) -> None:
    text = "(" + ",".join(render_condition(c) for c in children) + ")"
    parsed = parse_logic("or", False, text)
    assert parsed == Logic("or", tuple(children))


alphabet = st.sampled_from([*'abc_.,:!()*"->{}[]\\ 0123456789eqinotsrd&=$', "::", "->>"])
noise = st.lists(alphabet, max_size=40).map("".join)


@settings(max_examples=400)
@given(st.one_of(noise, st.text(max_size=40)))
def test_any_text_parses_or_is_pgrst100(text: str) -> None:
    for parse in (
        parse_select,
        parse_order,
        lambda t: parse_logic("and", False, t),
        lambda t: parse_filter(Field("a"), t),
        lambda t: parse_query([(t, t), ("select", t), ("rel.order", t)]),
    ):
        try:
            parse(text)
        except GrammarError as exc:
            assert exc.code == "PGRST100"
            assert exc.status == 400
            assert set(exc.body()) == {"code", "message", "details", "hint"}


# -- examples from PostgREST's documentation -------------------------------------------------


def test_documented_select() -> None:
    parsed = parse_select("fullName:full_name,birth_date::text,json_data->phones->0->>number")
    assert parsed == (
        Column(Field("full_name"), "fullName"),
        Column(Field("birth_date"), None, "text"),
        Column(
            Field(
                "json_data",
                (JsonStep("->", "phones"), JsonStep("->", "0"), JsonStep("->>", "number")),
            )
        ),
    )
    embed = parse_select("title,director:directors!inner(id,last_name)")[1]
    assert embed == Embed(
        "directors",
        (Column(Field("id")), Column(Field("last_name"))),
        "director",
        None,
        "inner",
    )
    assert parse_select("*,clients!projects_client_id_fkey(*)")[1] == Embed(
        "clients", (Star(),), None, "projects_client_id_fkey"
    )


def test_documented_filters_and_order() -> None:
    query = parse_query(
        [
            ("grade", "gte.90"),
            ("student", "is.true"),
            ("or", "(age.eq.14,not.and(age.gte.11,age.lte.17))"),
            ("actors.order", "last_name.desc.nullsfirst"),
            ("actors.limit", "10"),
            ("order", "age.desc,height.asc"),
            ("my_tsv", "fts(french).amusant"),
        ]
    )
    top = query.conditions[()]
    assert top[0] == Filter(Field("grade"), "gte", "90")
    assert top[2] == Logic(
        "or",
        (
            Filter(Field("age"), "eq", "14"),
            Logic(
                "and",
                (Filter(Field("age"), "gte", "11"), Filter(Field("age"), "lte", "17")),
                True,
            ),
        ),
    )
    assert top[3] == Filter(Field("my_tsv"), "fts", "amusant", (), False, "french")
    assert query.order[("actors",)] == (OrderTerm(Field("last_name"), None, True, "first"),)
    assert query.limit[("actors",)] == 10
    assert query.order[()] == (OrderTerm(Field("age"), None, True), OrderTerm(Field("height")))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("select", "id,"),
        ("select", "rel(id"),
        ("select", "id::"),
        ("select", "a:b:c"),
        ("id", "eq"),
        ("id", "equals.1"),
        ("id", "is.maybe"),
        ("id", "in.(1,2"),
        ("id", "in.1,2"),
        ("or", "(a.eq.1"),
        ("or", "a.eq.1"),
        ("or", '(a.eq."1)'),
        ("order", "a.sideways"),
        ("limit", "-1"),
        ("limit", "ten"),
        ("a;drop table x", "eq.1"),
        ("select", 'id",(select 1)--'),
    ],
)
def test_malformed_is_pgrst100(key: str, value: str) -> None:
    with pytest.raises(GrammarError) as caught:
        parse_query([(key, value)])
    assert caught.value.code == "PGRST100"


def test_huge_in_list_is_bounded() -> None:
    values = ",".join(str(i) for i in range(MAX_ITEMS + 1))
    with pytest.raises(GrammarError):
        parse_query([("id", f"in.({values})")])
    assert (
        len(parse_query([("id", f"in.({values[: values.rfind(',')]})")]).conditions[()][0].values)
        == MAX_ITEMS
    )  # type: ignore[union-attr]


def test_deep_nesting_is_bounded() -> None:
    text = "(" * 100 + "a.eq.1" + ")" * 100
    with pytest.raises(GrammarError):
        parse_query([("or", text)])
    with pytest.raises(GrammarError):
        parse_select("a(" * 100 + "x" + ")" * 100)
