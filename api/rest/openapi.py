"""`GET /rest/v1/`: the Swagger 2.0 description of a schema's tables, shaped as PostgREST's
(one path per table with its verbs, one definition per table with its columns)."""

from __future__ import annotations

from typing import Any

from api.sql import Catalog, TableDef
from api.sql.catalog import ColumnDef

TYPES = {
    "INTEGER": ("integer", "integer"),
    "REAL": ("number", "number"),
    "NUMERIC": ("number", "numeric"),
}


def describe(catalog: Catalog, schema: str, base_url: str) -> dict[str, Any]:
    tables = sorted(
        (t for t in catalog.tables.values() if t.schema == schema), key=lambda t: t.short_name
    )
    return {
        "swagger": "2.0",
        "info": {"title": "bkg-db /rest/v1", "description": "", "version": "0.1.0"},
        "host": base_url.split("://", 1)[-1].split("/", 1)[0],
        "basePath": "/rest/v1",
        "schemes": [base_url.split("://", 1)[0]],
        "consumes": ["application/json", "application/vnd.pgrst.object+json", "text/csv"],
        "produces": ["application/json", "application/vnd.pgrst.object+json", "text/csv"],
        "paths": {
            "/": {
                "get": {
                    "produces": ["application/openapi+json"],
                    "responses": {"200": {"description": "OK"}},
                }
            },
            **{f"/{t.short_name}": _path(t) for t in tables},
        },
        "definitions": {t.short_name: _definition(t) for t in tables},
    }


def _path(table: TableDef) -> dict[str, Any]:
    ref = {"$ref": f"#/definitions/{table.short_name}"}
    ok = {"description": "OK", "schema": {"type": "array", "items": ref}}
    return {
        "get": {
            "tags": [table.short_name],
            "responses": {"200": ok, "206": {"description": "Partial Content"}},
        },
        "post": {"tags": [table.short_name], "responses": {"201": {"description": "Created"}}},
        "patch": {"tags": [table.short_name], "responses": {"204": {"description": "No Content"}}},
        "delete": {"tags": [table.short_name], "responses": {"204": {"description": "No Content"}}},
    }


def _definition(table: TableDef) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [c.name for c in table.columns if not c.nullable and c.default is None],
        "properties": {c.name: _property(c) for c in table.columns},
    }


def _property(column: ColumnDef) -> dict[str, Any]:
    kind, fmt = TYPES.get(column.affinity, ("string", column.type))
    prop: dict[str, Any] = {"type": kind, "format": column.type if kind == "string" else fmt}
    if column.primary_key:
        prop["description"] = "Note:\nThis is a Primary Key.<pk/>"
    if column.default is not None:
        prop["default"] = column.default
    return prop
