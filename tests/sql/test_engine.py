"""SqlEngine behaviour: parameters, caching, classification, rewrite hook, typing, changes."""

from __future__ import annotations

import datetime
import sqlite3
import uuid
from typing import Any

import pytest
from sqlglot import exp

from api.sql import Catalog, SqlEngine, SqlError, StatementInfo, TableDef
from api.sql.results import client_families, typed_rows
from projections.apply import apply_changes
from tests.sql.conftest import projection


@pytest.fixture
def todos(engine: SqlEngine, conn: sqlite3.Connection) -> sqlite3.Connection:
    engine.execute(
        conn,
        "CREATE TABLE todos (id serial PRIMARY KEY, title text NOT NULL, done boolean"
        " DEFAULT false, meta jsonb, due timestamptz, day date, owner uuid)",
    )
    return conn


def test_list_and_named_parameters_are_bound(engine: SqlEngine, todos: sqlite3.Connection) -> None:
    engine.execute(todos, "INSERT INTO todos (title, done) VALUES ($1, $2)", ["a'); --", True])
    engine.execute(todos, "INSERT INTO todos (title, meta) VALUES (:t, :m)", {"t": "b", "m": [1]})
    rows = engine.execute(todos, "SELECT title, done, meta FROM todos ORDER BY id").rows
    assert rows == [["a'); --", True, None], ["b", False, [1]]]
    found = engine.execute(todos, "SELECT id FROM todos WHERE title = $1 OR id = $1", ["b"])
    assert found.rows == [[2]]


def test_parameter_errors(engine: SqlEngine, todos: sqlite3.Connection) -> None:
    cases: list[tuple[str, list[Any] | dict[str, Any]]] = [
        ("SELECT * FROM todos WHERE id = $2", [1]),
        ("SELECT * FROM todos WHERE id = :id", {"other": 1}),
        ("SELECT * FROM todos WHERE id = :id", [1]),
        ("SELECT * FROM todos WHERE id = $1 AND title = :t", [1]),
        ("SELECT * FROM todos WHERE id = $1", [object()]),
    ]
    for sql, params in cases:
        with pytest.raises(SqlError) as info:
            engine.execute(todos, sql, params)
        assert info.value.code == "BAD_REQUEST"


def test_python_values_are_stored_and_returned_typed(
    engine: SqlEngine, todos: sqlite3.Connection
) -> None:
    owner = uuid.uuid4()
    due = datetime.datetime(
        2024, 5, 1, 14, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    engine.execute(
        todos,
        "INSERT INTO todos (title, done, meta, due, day, owner) VALUES ($1, $2, $3, $4, $5, $6)",
        ["x", True, {"k": {"n": 1}}, due, datetime.date(2024, 5, 2), owner],
    )
    outcome = engine.execute(todos, "SELECT done, meta, due, day, owner, meta -> 'k' FROM todos")
    assert outcome.rows == [
        [True, {"k": {"n": 1}}, "2024-05-01T12:30:00+00:00", "2024-05-02", str(owner), {"n": 1}]
    ]
    stored = todos.execute('SELECT done, meta, due FROM "public.todos"').fetchone()
    assert stored == (1, '{"k":{"n":1}}', "2024-05-01 12:30:00")


def test_output_columns_are_named_like_postgres(
    engine: SqlEngine, todos: sqlite3.Connection
) -> None:
    outcome = engine.execute(todos, "SELECT count(*), id::text, 1 + 1, title AS t FROM todos")
    assert outcome.columns == ["count", "id", "?column?", "t"]


def test_parse_cache_parses_a_repeated_statement_once(
    engine: SqlEngine, todos: sqlite3.Connection
) -> None:
    before = engine.parse_count
    for i in range(20):
        engine.execute(todos, "INSERT INTO todos (title) VALUES ($1)", [f"t{i}"])
    assert engine.parse_count == before + 1
    assert engine.execute(todos, "SELECT count(*) FROM todos").rows == [[20]]


def test_classification(engine: SqlEngine) -> None:
    assert engine.check_read_only("SELECT 1")
    assert engine.check_read_only("WITH x AS (SELECT 1) SELECT * FROM x")
    assert not engine.check_read_only("INSERT INTO t VALUES (1)")
    assert not engine.check_read_only("CREATE SCHEMA s")
    info = engine.analyse("UPDATE app.t SET a = 1 FROM u WHERE u.id = t.id", "app")
    assert (info.kind, info.target, info.is_write, info.is_ddl) == ("update", "app.t", True, False)
    assert set(info.tables_read) == {"app.t", "app.u"}
    ddl = engine.analyse("ALTER TABLE t ADD COLUMN x int")
    assert (ddl.kind, ddl.target, ddl.is_ddl) == ("ddl", "public.t", True)


def test_rewrite_hook_sees_postgres_ast_and_can_filter_or_refuse(
    engine: SqlEngine, todos: sqlite3.Connection
) -> None:
    engine.execute(todos, "INSERT INTO todos (title) VALUES ('mine'), ('yours')")
    seen: list[StatementInfo] = []

    def only_mine(statement: exp.Expression, info: StatementInfo) -> exp.Expression:
        seen.append(info)
        if info.kind == "delete":
            raise PermissionError("no deletes")
        assert isinstance(statement, exp.Select)
        return statement.where("title = 'mine'")

    rows = engine.execute(todos, "SELECT title FROM todos", rewrite=only_mine).rows
    assert rows == [["mine"]]
    assert seen[0].kind == "select" and seen[0].tables_read == ("public.todos",)
    with pytest.raises(PermissionError):
        engine.execute(todos, "DELETE FROM todos", rewrite=only_mine)
    assert engine.execute(todos, "SELECT count(*) FROM todos").rows == [[2]]


def test_namespaces_resolve_unqualified_names(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    engine.execute(conn, "CREATE SCHEMA app")
    engine.execute(conn, "CREATE TABLE t (v text)", namespace="app")
    engine.execute(conn, "CREATE TABLE t (v text)")
    engine.execute(conn, "INSERT INTO t VALUES ('in app')", namespace="app")
    engine.execute(conn, "INSERT INTO public.t VALUES ('in public')", namespace="app")
    assert engine.execute(conn, "SELECT v FROM app.t").rows == [["in app"]]
    assert engine.execute(conn, "SELECT v FROM t").rows == [["in public"]]
    both = engine.execute(conn, "SELECT a.v, p.v FROM t a, public.t p", namespace="app")
    assert both.rows == [["in app", "in public"]] and both.tables == ["app.t", "public.t"]
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"app.t", "public.t"} <= names


def test_changes_follow_the_payload_contract(engine: SqlEngine, todos: sqlite3.Connection) -> None:
    insert = engine.execute(todos, "INSERT INTO todos (title) VALUES ('a')").changes
    assert insert == [
        {
            "op": "insert",
            "table": "public.todos",
            "rowid": 1,
            "pk": {"id": 1},
            "old": None,
            "new": {
                "id": 1,
                "title": "a",
                "done": 0,
                "meta": None,
                "due": None,
                "day": None,
                "owner": None,
            },
        }
    ]
    update = engine.execute(todos, "UPDATE todos SET done = true").changes
    assert [(c["op"], c["old"]["done"], c["new"]["done"]) for c in update] == [("update", 0, 1)]
    delete = engine.execute(todos, "DELETE FROM todos").changes
    assert [(c["op"], c["new"], c["old"]["title"]) for c in delete] == [("delete", None, "a")]


def test_upsert_update_is_logged_as_update(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    engine.execute(conn, "CREATE TABLE kv (k text PRIMARY KEY, v int)")
    engine.execute(conn, "INSERT INTO kv VALUES ('a', 1)")
    changes = engine.execute(
        conn,
        "INSERT INTO kv VALUES ('a', 5), ('b', 6)"
        " ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v",
    ).changes
    assert [(c["op"], c["pk"], c["new"]["v"]) for c in changes] == [
        ("update", {"k": "a"}, 6),
        ("insert", {"k": "b"}, 6),
    ]
    assert changes[0]["old"] == {"k": "a", "v": 1}


def test_cascades_and_key_updates_replay(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    log = []
    for sql in [
        "CREATE TABLE p (id int PRIMARY KEY)",
        "CREATE TABLE c (id int PRIMARY KEY, p int REFERENCES p (id) ON DELETE CASCADE)",
        "INSERT INTO p VALUES (1), (2)",
        "INSERT INTO c VALUES (10, 1), (11, 1), (12, 2)",
        "UPDATE c SET id = id + 100 WHERE p = 2",
        "DELETE FROM p WHERE id = 1",
    ]:
        log.extend(engine.execute(conn, sql).changes)
    deleted = sorted((c["table"], c["rowid"]) for c in log[-3:] if c["op"] == "delete")
    assert deleted == [("public.c", 10), ("public.c", 11), ("public.p", 1)]
    rekey = next(c for c in log if c["op"] == "update")
    assert (rekey["rowid"], rekey["old"]["id"], rekey["new"]["id"]) == (112, 12, 112)
    replica = projection()
    apply_changes(replica, log)
    for table in ('"public.p"', '"public.c"'):
        query = f"SELECT rowid, * FROM {table} ORDER BY rowid"
        assert replica.execute(query).fetchall() == conn.execute(query).fetchall()


def test_catalog_keeps_declared_types(engine: SqlEngine, todos: sqlite3.Connection) -> None:
    engine.execute(todos, "CREATE INDEX todos_title ON todos (title)")
    table = Catalog.load(todos).table("public.todos")
    assert [(c.name, c.type, c.affinity) for c in table.columns][:3] == [
        ("id", "serial", "INTEGER"),
        ("title", "text", "TEXT"),
        ("done", "boolean", "INTEGER"),
    ]
    assert table.primary_key() == ["id"] and not table.column("title").nullable  # type: ignore[union-attr]
    assert [i.name for i in table.indexes] == ["public.todos_title"]
    assert TableDef.from_dict(table.to_dict()) == table
    assert table.rls_enabled is False


def test_ddl_changes_carry_normalised_sql_and_definition(
    engine: SqlEngine, conn: sqlite3.Connection
) -> None:
    outcome = engine.execute(conn, "create table T (A int primary key)")
    change = outcome.changes[0]
    assert outcome.is_ddl and outcome.is_write
    assert change["action"] == "create_table" and change["table"] == "public.t"
    assert change["sql"] == "CREATE TABLE public.T (A INT PRIMARY KEY)"
    assert change["sqlite"][0].startswith('CREATE TABLE "public.t"')
    assert change["definition"]["name"] == "public.t"
    assert outcome.statement == {"sql": change["sql"]}
    noop = engine.execute(conn, "CREATE TABLE IF NOT EXISTS t (a int)")
    assert noop.changes == [] and noop.is_ddl


def test_replay_reproduces_volatile_defaults(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    log = []
    for sql in [
        "CREATE TABLE ev (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
        " at timestamptz DEFAULT now(), r real DEFAULT random())",
        "INSERT INTO ev DEFAULT VALUES",
        "INSERT INTO ev (r) VALUES (random())",
    ]:
        log.extend(engine.execute(conn, sql).changes)
    replicas = [projection(), projection()]
    for replica in replicas:
        apply_changes(replica, log)
    query = 'SELECT rowid, * FROM "public.ev" ORDER BY rowid'
    live = conn.execute(query).fetchall()
    assert len(live) == 2 and live[0][1] != live[1][1]
    assert all(replica.execute(query).fetchall() == live for replica in replicas)


def test_any_with_a_list_parameter(engine: SqlEngine, todos: sqlite3.Connection) -> None:
    engine.execute(todos, "INSERT INTO todos (title) VALUES ('a'), ('b'), ('c')")
    rows = engine.execute(todos, "SELECT title FROM todos WHERE id = ANY($1) ORDER BY id", [[1, 3]])
    assert rows.rows == [["a"], ["c"]]


def test_replay_onto_the_writer_connection_is_not_captured(
    engine: SqlEngine, todos: sqlite3.Connection
) -> None:
    first = engine.execute(todos, "INSERT INTO todos (title) VALUES ('a')").changes
    replayed = [{**first[0], "rowid": 7, "pk": {"id": 7}, "new": {**first[0]["new"], "id": 7}}]
    apply_changes(todos, replayed)
    changes = engine.execute(todos, "INSERT INTO todos (title) VALUES ('b')").changes
    assert [(c["op"], c["new"]["title"]) for c in changes] == [("insert", "b")]
    again = engine.execute(todos, "UPDATE todos SET done = true WHERE id = 7").changes
    assert [(c["op"], c["rowid"]) for c in again] == [("update", 7)]


def test_boolean_and_timestamp_text_is_stored_in_one_form(
    engine: SqlEngine, todos: sqlite3.Connection
) -> None:
    engine.execute(
        todos,
        "INSERT INTO todos (title, done, due) VALUES ('a', 'yes', '2024-05-17T15:45:12+02:00')",
    )
    engine.execute(
        todos,
        "INSERT INTO todos (title, done, due) VALUES ($1, $2, $3)",
        ["b", "off", "2024-05-17T13:00:00Z"],
    )
    engine.execute(
        todos,
        "UPDATE todos SET done = :d, due = :t WHERE title = 'b'",
        {"d": "t", "t": "2024-05-17 14:00"},
    )
    stored = todos.execute('SELECT title, done, due FROM "public.todos" ORDER BY due').fetchall()
    assert stored == [("a", 1, "2024-05-17 13:45:12"), ("b", 1, "2024-05-17 14:00:00")]
    with pytest.raises(SqlError) as info:
        engine.execute(todos, "INSERT INTO todos (title, done) VALUES ('c', 'maybe')")
    assert info.value.code == "VALIDATION_ERROR"


def test_replayed_ddl_on_a_connection_with_capture_triggers(engine: SqlEngine) -> None:
    live, replica = projection(), projection()
    log = [
        engine.execute(live, sql).changes
        for sql in [
            "CREATE TABLE t (id int PRIMARY KEY, x int)",
            "ALTER TABLE t DROP COLUMN x",
            "ALTER TABLE t RENAME TO u",
            "INSERT INTO u VALUES (5)",
        ]
    ]
    apply_changes(replica, log[0])
    engine.execute(replica, "INSERT INTO t VALUES (1, 2)")  # installs capture triggers
    for changes in log[1:]:
        apply_changes(replica, changes)
    assert replica.execute('SELECT id FROM "public.u" ORDER BY id').fetchall() == [(1,), (5,)]
    changes = engine.execute(replica, "INSERT INTO u VALUES (6)").changes
    assert [(c["table"], c["new"]) for c in changes] == [("public.u", {"id": 6})]


def test_gen_random_uuid_makes_version_4_uuids(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    values = [engine.execute(conn, "SELECT gen_random_uuid()").rows[0][0] for _ in range(200)]
    assert len(set(values)) == 200
    parsed = [uuid.UUID(v) for v in values]
    assert all(
        u.version == 4 and u.variant == uuid.RFC_4122 and str(u) == v
        for u, v in zip(parsed, values, strict=True)
    )


def test_random_is_a_double_in_the_unit_interval_like_postgres(
    engine: SqlEngine, conn: sqlite3.Connection
) -> None:
    rows = engine.execute(
        conn, "SELECT random() AS r, (random() * 1000)::int AS n FROM generate_series(1, 2000)"
    ).rows
    draws = [r for r, _ in rows]
    assert all(isinstance(r, float) and 0.0 <= r < 1.0 for r in draws)
    assert all(0 <= n <= 1000 for _, n in rows)
    assert 0.4 < sum(draws) / len(draws) < 0.6  # uniform, not pinned to one end


def test_json_text_operator_yields_text_like_postgres(
    engine: SqlEngine, todos: sqlite3.Connection
) -> None:
    engine.execute(
        todos,
        "INSERT INTO todos (title, meta) VALUES ($1, $2)",
        ["j", {"n": 5, "ok": True, "s": "x", "o": {"a": [1]}, "z": None}],
    )
    row = engine.execute(
        todos,
        "SELECT meta->>'n', meta->>'ok', meta->>'s', meta->>'o', meta->>'z', meta->>'missing'"
        " FROM todos WHERE meta->>'n' = '5' AND meta->>'ok' = 'true'",
    ).rows
    assert row == [["5", "true", "x", '{"a":[1]}', None, None]]


def test_result_families_are_worked_out_once_and_only_when_values_change() -> None:
    assert client_families(("bigint", "text", None)) is None
    families = client_families(("bigint", "boolean", "jsonb"))
    assert families == ("integer", "boolean", "json")
    assert typed_rows([(1, 0, '{"a": 1}')], families) == [[1, False, {"a": 1}]]
    assert typed_rows([(1, 0, "x")], None) == [[1, 0, "x"]]
