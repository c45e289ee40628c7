"""`pg_catalog` and `information_schema` as a principal may see them, built from our
catalogue into an in-memory SQLite database that clients' catalogue queries run on.

Only the schemas (namespaces) the principal may use appear: a namespace key or a user sees
its own namespace (plus `pg_catalog` and `information_schema`), an admin sees every one.
Object identifiers are assigned in a stable order per catalogue version.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, cast

from api.pgwire import types as t
from api.pgwire.settings import DEFAULTS
from api.sql.catalog import Catalog, TableDef

OWNER = "bkg"
ORDERED_ARRAY_AGG = "bkg_array_agg_ordered"
_SYSTEM = {"pg_catalog": 11, "public": 2200, "information_schema": 13000}
_PG_TABLES: dict[str, str] = {
    "pg_namespace": "oid, nspname, nspowner, nspacl",
    "pg_class": "oid, relname, relnamespace, relkind, relowner, relam, reltuples, relpages,"
    " relhasindex, relchecks, relhasrules, relhastriggers, relrowsecurity, relforcerowsecurity,"
    " relispartition, reloptions, reltablespace, reloftype, relpersistence, relreplident,"
    " reltoastrelid, relnatts, relacl, relhassubclass, relpartbound, relisshared, reltype",
    "pg_attribute": "attrelid, attname, atttypid, atttypmod, attnum, attnotnull, atthasdef,"
    " attisdropped, attidentity, attgenerated, attcollation, attlen, attstattarget,"
    " attstorage, attcompression, attndims, attacl, attoptions, attfdwoptions, attislocal",
    "pg_type": "oid, typname, typnamespace, typlen, typtype, typcategory, typbasetype,"
    " typelem, typarray, typrelid, typcollation, typnotnull, typtypmod, typndims, typdelim,"
    " typowner, typisdefined, typdefault, typacl, typalign, typstorage, typbyval, typinput,"
    " typoutput, typreceive, typsend",
    "pg_index": "indexrelid, indrelid, indisunique, indisprimary, indisclustered, indisvalid,"
    " indkey, indnatts, indnkeyatts, indisreplident, indoption, indexprs, indpred,"
    " indisexclusion, indimmediate, indcollation, indclass, indnullsnotdistinct, indislive",
    "pg_constraint": "oid, conname, connamespace, contype, conrelid, confrelid, conkey,"
    " confkey, condeferrable, condeferred, convalidated, conindid, conislocal, coninhcount,"
    " connoinherit, conparentid, confupdtype, confdeltype, confmatchtype, contypid, condef",
    "pg_attrdef": "oid, adrelid, adnum, adbin",
    "pg_description": "objoid, classoid, objsubid, description",
    "pg_database": "oid, datname, datdba, encoding, datcollate, datctype, daticulocale,"
    " datlocprovider, datacl, datistemplate, datallowconn, datconnlimit, dattablespace",
    "pg_roles": "oid, rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,"
    " rolreplication, rolconnlimit, rolvaliduntil, rolbypassrls, rolconfig",
    "pg_settings": "name, setting, unit, category, short_desc, context, vartype, source",
    "pg_am": "oid, amname, amtype",
    "pg_proc": "oid, proname, pronamespace, prorettype, proargtypes, prokind",
    "pg_tablespace": "oid, spcname",
}
_EMPTY = (
    "pg_inherits(inhrelid, inhparent, inhseqno, inhdetachpending)",
    "pg_policy(oid, polname, polrelid, polcmd, polpermissive, polroles, polqual, polwithcheck)",
    "pg_trigger(oid, tgrelid, tgname, tgisinternal, tgenabled, tgparentid)",
    "pg_rewrite(oid, rulename, ev_class)",
    "pg_statistic_ext(oid, stxrelid, stxname, stxnamespace, stxkind, stxkeys, stxstattarget)",
    "pg_publication(oid, pubname, puballtables)",
    "pg_publication_rel(oid, prpubid, prrelid)",
    "pg_publication_namespace(oid, pnpubid, pnnspid)",
    "pg_collation(oid, collname, collnamespace)",
    "pg_foreign_table(ftrelid, ftserver)",
    "pg_partitioned_table(partrelid, partstrat)",
    "pg_extension(oid, extname, extversion, extnamespace)",
    "pg_enum(oid, enumtypid, enumlabel, enumsortorder)",
    "pg_range(rngtypid, rngsubtype)",
    "pg_sequence(seqrelid, seqtypid, seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle)",
    "pg_depend(classid, objid, objsubid, refclassid, refobjid, refobjsubid, deptype)",
    "pg_shdescription(objoid, classoid, description)",
    "pg_auth_members(roleid, member)",
)
EMPTY_TABLES = frozenset(d.split("(", 1)[0] for d in _EMPTY)
_INFORMATION_SCHEMA = {
    "schemata": "catalog_name, schema_name, schema_owner",
    "tables": "table_catalog, table_schema, table_name, table_type",
    "columns": "table_catalog, table_schema, table_name, column_name, ordinal_position,"
    " column_default, is_nullable, data_type, character_maximum_length, numeric_precision,"
    " numeric_scale, udt_name",
    "key_column_usage": "constraint_catalog, constraint_schema, constraint_name,"
    " table_catalog, table_schema, table_name, column_name, ordinal_position",
    "table_constraints": "constraint_catalog, constraint_schema, constraint_name,"
    " table_catalog, table_schema, table_name, constraint_type",
}
_CATEGORY = {
    t.BOOL: "B", t.INT2: "N", t.INT4: "N", t.INT8: "N", t.FLOAT4: "N", t.FLOAT8: "N",
    t.NUMERIC: "N", t.OID: "N", t.DATE: "D", t.TIME: "D", t.TIMESTAMP: "D", t.TIMESTAMPTZ: "D",
    t.UUID: "U", t.JSON: "U", t.JSONB: "U", t.BYTEA: "U",
}  # fmt: skip
_NULL_FUNCTIONS = (
    "pg_get_statisticsobjdef_columns", "pg_get_statisticsobjdef", "pg_get_viewdef",
    "pg_get_triggerdef", "pg_get_ruledef", "pg_get_partkeydef", "pg_get_functiondef",
    "pg_get_partition_constraintdef", "pg_get_function_arguments", "pg_get_function_result",
    "pg_get_serial_sequence", "pg_get_function_identity_arguments", "pg_get_keywords",
)  # fmt: skip
BOOLEAN_COLUMNS = frozenset({
    "relhasindex", "relhasrules", "relhastriggers", "relrowsecurity", "relforcerowsecurity",
    "relispartition", "relhasoids", "relhassubclass", "relisshared", "attnotnull", "atthasdef",
    "attisdropped", "attislocal", "indisunique", "indisprimary", "indisclustered", "indisvalid",
    "indisreplident", "indisexclusion", "indimmediate", "indnullsnotdistinct", "indislive",
    "condeferrable", "condeferred", "convalidated", "conislocal", "connoinherit",
    "typnotnull", "typisdefined", "typbyval", "datistemplate", "datallowconn", "rolsuper",
    "rolinherit", "rolcreaterole", "rolcreatedb", "rolcanlogin", "rolreplication",
    "rolbypassrls", "polpermissive", "tgisinternal", "puballtables",
})  # fmt: skip
"""Columns Postgres types `bool` (SQLite keeps 0/1; clients such as psql compare to `t`)."""


class CatalogDb:
    """The in-memory catalogue of one principal at one catalogue version."""

    def __init__(
        self, catalog: Catalog, schemas: list[str], database: str, search_path: str
    ) -> None:
        self.conn = sqlite3.connect(":memory:", check_same_thread=False)
        self.conn.execute("ATTACH ':memory:' AS information_schema")
        self.names: dict[str, int] = {}
        self.visible: set[int] = set()
        for statement in _schema_sql():
            self.conn.execute(statement)
        tables = [d for d in catalog.tables.values() if d.schema in schemas]
        self._fill(schemas, sorted(tables, key=lambda d: d.name), database, search_path)
        self._functions()

    def run(self, sql: str, params: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
        cursor = self.conn.execute(sql, params)
        rows = [list(row) for row in cursor.fetchall()]
        return [d[0] for d in cursor.description or []], rows

    # -- contents -------------------------------------------------------------------------

    def _insert(self, table: str, rows: Iterable[tuple[Any, ...]]) -> None:
        rows = list(rows)
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            self.conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)

    def _fill(
        self, schemas: list[str], tables: list[TableDef], database: str, search_path: str
    ) -> None:
        spaces = {**_SYSTEM}
        for index, name in enumerate(sorted(set(schemas) - set(_SYSTEM))):
            spaces[name] = 16000 + index
        shown = [n for n in spaces if n in schemas or n in ("pg_catalog", "information_schema")]
        self._insert("pg_namespace", ((spaces[n], n, 10, None) for n in shown))
        self.visible = {spaces[n] for n in schemas if n == search_path}
        self._insert("pg_type", self._types())
        self._insert("pg_database", [(1, database, 10, 6, "C", "C", None, "c", None, 0, 1, -1, 0)])
        self._insert("pg_roles", [(10, OWNER, 1, 1, 1, 1, 1, 0, -1, None, 1, None)])
        self._insert("pg_am", [(2, "heap", "t"), (403, "btree", "i")])
        self._insert("pg_tablespace", [(1663, "pg_default")])
        self._insert(
            "pg_settings",
            ((k, v, None, "", "", "user", "string", "default") for k, v in DEFAULTS.items()),
        )
        self._insert("information_schema.schemata", ((database, n, OWNER) for n in schemas))
        for index, table in enumerate(tables):
            self._table(20000 + index * 100, spaces[table.schema], table, database)
        for table in tables:
            self._foreign_keys(spaces[table.schema], table, search_path)

    def _types(self) -> Iterable[tuple[Any, ...]]:
        for oid, name in t.TYPE_NAMES.items():
            element = t.ARRAY_ELEMENTS.get(oid, 0)
            category = "A" if element else _CATEGORY.get(oid, "S")
            yield (
                oid, name, 11, t.type_length(oid), "b", category,
                0, element, 0, 0, 0, 0, -1, 0, ",", 10, 1, None, None, "i", "p",
                int(t.type_length(oid) in (1, 2, 4, 8)), f"{name}in", f"{name}out",
                f"{name}recv", f"{name}send",
            )  # fmt: skip

    def _table(self, oid: int, space: int, table: TableDef, database: str) -> None:
        name = table.short_name
        self.names[table.name] = self.names[name] = oid
        checks = len([c for c in table.columns if c.check]) + len(table.constraints)
        self._insert("pg_class", [_class_row(oid, name, space, "r", len(table.columns),
                                             bool(table.indexes or table.primary_key()),
                                             checks, table.rls_enabled)])  # fmt: skip
        self._insert("information_schema.tables", [(database, table.schema, name, "BASE TABLE")])
        for number, column in enumerate(table.columns, start=1):
            type_oid = t.oid_of_declared(column.type)
            has_default = column.default is not None
            not_null = not column.nullable or column.primary_key
            self._insert("pg_attribute", [(
                oid, column.name, type_oid, -1, number, int(not_null),
                int(has_default), 0, "", "", 0, t.type_length(type_oid), -1, "p", "", 0,
                None, None, None, 1,
            )])  # fmt: skip
            if has_default:
                self._insert("pg_attrdef", [(oid + 50 + number, oid, number, column.default)])
            self._insert("information_schema.columns", [(
                database, table.schema, name, column.name, number, column.default,
                "YES" if column.nullable and not column.primary_key else "NO",
                _data_type(column.type), None, None, None, t.TYPE_NAMES[type_oid],
            )])  # fmt: skip
        self._indexes(oid, space, table, database)

    def _indexes(self, oid: int, space: int, table: TableDef, database: str) -> None:
        numbers = {c.name.lower(): i for i, c in enumerate(table.columns, start=1)}
        indexes: list[tuple[str, list[str], bool, bool]] = []
        if table.primary_key():
            indexes.append((f"{table.short_name}_pkey", table.primary_key(), True, True))
        indexes += [
            (f"{table.short_name}_{c.name}_key", [c.name], True, False)
            for c in table.columns
            if c.unique and not c.primary_key
        ]
        indexes += [(i.name.split(".")[-1], i.columns, i.unique, False) for i in table.indexes]
        for offset, (name, columns, unique, primary) in enumerate(indexes, start=1):
            index_oid = oid + offset
            keys = " ".join(str(numbers.get(c.lower(), 0)) for c in columns)
            self.names[name] = index_oid
            self._insert(
                "pg_class", [_class_row(index_oid, name, space, "i", len(columns), False, 0, False)]
            )
            self._insert("pg_index", [(
                index_oid, oid, int(unique), int(primary), 0, 1, keys, len(columns), len(columns),
                0, " ".join("0" * len(columns)), None, None, 0, 1, "0", "0", 0, 1,
            )])  # fmt: skip
            if primary or unique:
                kind = "p" if primary else "u"
                definition = f"{'PRIMARY KEY' if primary else 'UNIQUE'} ({', '.join(columns)})"
                array = "{" + keys.replace(" ", ",") + "}"
                self._insert("pg_constraint", [(
                    oid + 30 + offset, name, space, kind, oid, 0, array,
                    None, 0, 0, 1, index_oid, 1, 0, 1, 0, " ", " ", " ", 0, definition,
                )])  # fmt: skip
                constraint = "PRIMARY KEY" if primary else "UNIQUE"
                short = table.short_name
                self._insert("information_schema.table_constraints", [
                    (database, table.schema, name, database, table.schema, short, constraint)
                ])  # fmt: skip
                self._insert("information_schema.key_column_usage", (
                    (database, table.schema, name, database, table.schema, table.short_name, c, i)
                    for i, c in enumerate(columns, start=1)
                ))  # fmt: skip

    def _foreign_keys(self, space: int, table: TableDef, search_path: str) -> None:
        """`pg_constraint` rows (contype `f`) of a table's foreign keys, with the
        definition `pg_get_constraintdef` gives (the target unqualified when it is in the
        search path, as Postgres prints it)."""
        oid = self.names[table.name]
        numbers = {c.name.lower(): i for i, c in enumerate(table.columns, start=1)}
        for offset, (columns, target, targets, on_delete) in enumerate(_references(table)):
            target_oid = self.names.get(target, 0)
            schema, _, short = target.rpartition(".")
            shown = short if schema == search_path else target
            action = f" ON DELETE {on_delete}" if on_delete else ""
            definition = (
                f"FOREIGN KEY ({', '.join(columns)}) REFERENCES {shown}({', '.join(targets)})"
                f"{action}"
            )
            keys = "{" + ",".join(str(numbers.get(c.lower(), 0)) for c in columns) + "}"
            target_keys = "{" + ",".join(self._attnums(target_oid, targets)) + "}"
            name = f"{table.short_name}_{'_'.join(columns)}_fkey"
            self.conn.execute(  # psql lists foreign keys of tables with triggers only
                "UPDATE pg_class SET relhastriggers = 1 WHERE oid IN (?, ?)", (oid, target_oid)
            )
            self._insert("pg_constraint", [(
                oid + 80 + offset, name, space, "f", oid, target_oid, keys, target_keys,
                0, 0, 1, 0, 1, 0, 1, 0, "a", _ACTIONS.get(on_delete or "", "a"), "s", 0,
                definition,
            )])  # fmt: skip

    def _attnums(self, table_oid: int, names: list[str]) -> list[str]:
        found = dict(
            self.conn.execute(
                "SELECT lower(attname), attnum FROM pg_attribute WHERE attrelid = ?", (table_oid,)
            ).fetchall()
        )
        return [str(found.get(n.lower(), 0)) for n in names]

    # -- functions ------------------------------------------------------------------------

    def _functions(self) -> None:
        functions: dict[str, tuple[int, Callable[..., Any]]] = {
            "regexp": (2, _regexp),
            "pg_get_userbyid": (1, lambda _oid: OWNER),
            "pg_table_is_visible": (1, self._is_visible),
            "pg_type_is_visible": (1, lambda _oid: 1),
            "format_type": (2, self._format_type),
            "pg_encoding_to_char": (1, lambda _e: "UTF8"),
            "array_to_string": (2, lambda value, _sep: "" if value is None else str(value)),
            "pg_get_expr": (2, lambda expr, _rel: expr),
            "obj_description": (2, lambda _oid, _catalog: None),
            "col_description": (2, lambda _oid, _column: None),
            "shobj_description": (2, lambda _oid, _catalog: None),
            "pg_get_indexdef": (1, self._indexdef),
            "pg_get_constraintdef": (1, self._constraintdef),
            "bkg_oid": (2, self._oid),
            "bkg_name": (2, self._name),
            "to_regtype": (1, lambda name: self._oid("regtype", name)),
            "pg_relation_size": (1, lambda _oid: 0),
            "pg_total_relation_size": (1, lambda _oid: 0),
            "pg_table_size": (1, lambda _oid: 0),
            "pg_indexes_size": (1, lambda _oid: 0),
            "pg_size_pretty": (1, lambda _size: "0 bytes"),
            "has_table_privilege": (2, lambda _a, _b: 1),
            "has_schema_privilege": (2, lambda _a, _b: 1),
            "bkg_array": (-1, lambda *items: "{" + ",".join(map(str, items)) + "}"),
            "bkg_in": (2, _member),
            "bkg_json_array": (1, _json_array),
            "json_build_object": (-1, _json_object),
        }
        for name, (arity, fn) in functions.items():
            # any number of arguments: the trailing ones (`pretty`, a column number) are
            # presentation details these answers do not vary by
            wrapper = fn if arity < 0 else (lambda *a, f=fn, n=arity: f(*a[:n]))
            self.conn.create_function(name, -1, wrapper, deterministic=True)
        self.conn.create_aggregate("array_agg", 1, cast(Any, _ArrayAgg))
        self.conn.create_aggregate("bool_and", 1, cast(Any, _BoolAnd))
        self.conn.create_aggregate(ORDERED_ARRAY_AGG, 3, cast(Any, _OrderedArrayAgg))
        for name in _NULL_FUNCTIONS:  # over catalogues we keep empty
            self.conn.create_function(name, -1, lambda *_args: None)

    def _is_visible(self, oid: int) -> int:
        row = self.conn.execute(
            "SELECT relnamespace FROM pg_class WHERE oid = ?", (oid,)
        ).fetchone()
        return int(row is not None and row[0] in self.visible)

    def _format_type(self, oid: int | None, _typmod: Any = None) -> str | None:
        return None if oid is None else _sql_name(int(oid))

    def _indexdef(self, oid: int) -> str | None:
        row = self.conn.execute(
            "SELECT c.relname, i.indisunique, t.relname, n.nspname, i.indkey FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid"
            " JOIN pg_namespace n ON n.oid = t.relnamespace WHERE i.indexrelid = ?",
            (oid,),
        ).fetchone()
        if row is None:
            return None
        names = [
            self.conn.execute(
                "SELECT attname FROM pg_attribute a JOIN pg_index i ON a.attrelid = i.indrelid"
                " WHERE i.indexrelid = ? AND a.attnum = ?",
                (oid, int(n)),
            ).fetchone()[0]
            for n in str(row[4]).split()
        ]
        unique = "UNIQUE " if row[1] else ""
        return (
            f"CREATE {unique}INDEX {row[0]} ON {row[3]}.{row[2]} USING btree ({', '.join(names)})"
        )

    def _constraintdef(self, oid: int) -> str | None:
        row = self.conn.execute("SELECT condef FROM pg_constraint WHERE oid = ?", (oid,)).fetchone()
        return None if row is None else str(row[0])

    def _name(self, kind: str, value: Any) -> str | None:
        """`x::regclass` (or regtype) as an answer: the object's name, as Postgres shows it
        (a table unqualified when it is in the search path)."""
        oid = self._oid(kind, value)
        if oid is None:
            return None
        if kind == "regtype":
            return _sql_name(oid)
        row = self.conn.execute(
            "SELECT c.relname, n.nspname, c.relnamespace FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ?",
            (oid,),
        ).fetchone()
        if row is None:
            return str(oid)
        return str(row[0]) if row[2] in self.visible else f"{row[1]}.{row[0]}"

    def _oid(self, kind: str, value: Any) -> int | None:
        """`'name'::regclass` (or regtype, oid): the OID of a name, or the number itself."""
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip().strip('"')
        if text.isdigit():
            return int(text)
        if kind == "regtype":
            return (
                t.oid_of_declared(text)
                if t.oid_of_declared(text) != t.TEXT or text == "text"
                else None
            )
        return self.names.get(text.split(".")[-1].strip('"'))


_ACTIONS = {"CASCADE": "c", "SET NULL": "n", "SET DEFAULT": "d", "RESTRICT": "r"}
"""`confdeltype` codes of ON DELETE actions (`a`: no action)."""
_FOREIGN_KEY = re.compile(
    r"FOREIGN KEY \((?P<columns>[^)]*)\) REFERENCES (?P<target>[\w.\"]+)\s*"
    r"\((?P<targets>[^)]*)\)(?: ON DELETE (?P<action>[A-Z ]+))?",
    re.IGNORECASE,
)


def _references(table: TableDef) -> list[tuple[list[str], str, list[str], str | None]]:
    """A table's foreign keys: (columns, target table, target columns, ON DELETE action),
    from its columns' REFERENCES and its FOREIGN KEY constraints."""
    found = []
    for column in table.columns:
        if column.references is not None:
            target, _, rest = column.references.partition("(")
            found.append(([column.name], target, [rest.rstrip(")")], column.on_delete))
    for constraint in table.constraints:
        match = _FOREIGN_KEY.search(constraint)
        if match is not None:
            split = [n.strip().strip('"') for n in match["columns"].split(",")]
            targets = [n.strip().strip('"') for n in match["targets"].split(",")]
            found.append((split, match["target"].replace('"', ""), targets, match["action"]))
    return found


def _class_row(
    oid: int, name: str, space: int, kind: str, columns: int, indexed: bool, checks: int, rls: bool
) -> tuple[Any, ...]:
    return (
        oid, name, space, kind, 10, 2 if kind == "r" else 403, -1.0, 0, int(indexed), checks,
        0, 0, int(rls), 0, 0, None, 0, 0, "p", "d", 0, columns, None, 0, None, 0, 0,
    )  # fmt: skip


def _data_type(declared: str) -> str:
    return _sql_name(t.oid_of_declared(declared))


def _sql_name(oid: int) -> str:
    """The SQL name of a type, as `format_type` and information_schema spell it."""
    names = {
        t.INT2: "smallint", t.INT4: "integer", t.INT8: "bigint", t.FLOAT4: "real",
        t.FLOAT8: "double precision", t.BOOL: "boolean", t.VARCHAR: "character varying",
        t.BPCHAR: "character", t.TIMESTAMP: "timestamp without time zone",
        t.TIMESTAMPTZ: "timestamp with time zone", t.TIME: "time without time zone",
    }  # fmt: skip
    return names.get(oid, t.TYPE_NAMES.get(oid, "unknown"))


class _ArrayAgg:
    """`array_agg(x)` as Postgres' text form of an array, `{a,b}`."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def step(self, value: Any) -> None:
        self.items.append("NULL" if value is None else str(value))

    def finalize(self) -> str:
        return "{" + ",".join(self.items) + "}"


class _OrderedArrayAgg(_ArrayAgg):
    """`array_agg(x ORDER BY key [DESC])`, as `bkg_array_agg_ordered(x, key, desc)`."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[Any, Any]] = []
        self.descending = False

    def step(self, value: Any, key: Any, descending: Any = 0) -> None:  # type: ignore[override]
        self.pairs.append((key, value))
        self.descending = bool(descending)

    def finalize(self) -> str:
        ordered = sorted(self.pairs, key=_sort_key, reverse=self.descending)
        for _, value in ordered:
            super().step(value)
        return super().finalize()


def _sort_key(pair: tuple[Any, Any]) -> tuple[bool, bool, Any]:
    """Orders keys of mixed kinds (numbers, then text, then NULLs) without failing."""
    key = pair[0]
    return (key is None, isinstance(key, str), 0 if key is None else key)


class _BoolAnd:
    """`bool_and(x)`: true when every non-null input is (NULL when none is)."""

    def __init__(self) -> None:
        self.result: int | None = None

    def step(self, value: Any) -> None:
        if value is not None:
            self.result = int(bool(value)) & (1 if self.result is None else self.result)

    def finalize(self) -> int | None:
        return self.result


def _json_array(value: Any) -> str | None:
    """An array as JSON, for `json_each` (see `catalog._set_returning`)."""
    if value is None:
        return None
    items = t.array_items(value)
    return json.dumps([int(i) if i.lstrip("-").isdigit() else i for i in items])


def _json_object(*pairs: Any) -> str:
    return json.dumps(dict(zip(pairs[::2], pairs[1::2], strict=True)))


def _member(value: Any, array: Any) -> int:
    """`value = ANY(array)` for an array given as `{a,b}` text (or a single value)."""
    if value is None or array is None:
        return 0
    return int(str(value) in t.array_items(array))


def _regexp(pattern: str | None, value: Any) -> int | None:
    if pattern is None or value is None:
        return None
    return int(re.search(pattern, str(value)) is not None)


def _numeric(columns: str) -> str:
    """Every column with NUMERIC affinity, so that `oid = '16384'` compares as Postgres does
    (text that is not a number stays text)."""
    return ", ".join(f"{name.strip()} NUMERIC" for name in columns.split(","))


def _schema_sql() -> list[str]:
    statements = [f"CREATE TABLE {n} ({_numeric(c)})" for n, c in _PG_TABLES.items()]
    for definition in _EMPTY:
        name, columns = definition.rstrip(")").split("(", 1)
        statements.append(f"CREATE TABLE {name} ({_numeric(columns)})")
    statements += [
        f"CREATE TABLE information_schema.{name} ({_numeric(columns)})"
        for name, columns in _INFORMATION_SCHEMA.items()
    ]
    statements.append(
        "CREATE VIEW pg_user AS SELECT oid AS usesysid, rolname AS usename FROM pg_roles"
    )
    statements.append(
        "CREATE VIEW pg_tables AS SELECT n.nspname AS schemaname, c.relname AS tablename,"
        f" '{OWNER}' AS tableowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'r'"
    )
    return statements
