"""SQLAlchemy 2 Core over psycopg: create_all (which reflects to check existence), CRUD in
transactions, and the inspector's table and column reflection, filtered by principal."""

from __future__ import annotations

import decimal

import sqlalchemy as sa

from tests.pgwire.conftest import Pg


def engine(pg: Pg, password: str) -> sa.Engine:
    return sa.create_engine(pg.dsn(password).replace("postgresql://", "postgresql+psycopg://"))


def test_core_create_all_crud_and_reflection(pg: Pg) -> None:
    metadata = sa.MetaData()
    items = sa.Table(
        "sa_items",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("price", sa.Numeric),
    )
    eng = engine(pg, pg.namespace_key)
    try:
        metadata.create_all(eng)
        metadata.create_all(eng)  # exists now: reflected, not created again
        with eng.begin() as conn:
            conn.execute(
                items.insert(),
                [{"id": 1, "name": "a", "price": 1.5}, {"id": 2, "name": "b", "price": None}],
            )
            conn.execute(items.update().where(items.c.id == 2).values(price=2))
        with eng.connect() as conn:
            rows = conn.execute(sa.select(items).order_by(items.c.id)).all()
        assert [tuple(r) for r in rows] == [
            (1, "a", decimal.Decimal("1.5")),
            (2, "b", decimal.Decimal(2)),
        ]
        inspector = sa.inspect(eng)
        assert {"sa_items", "todos", "notes"} <= set(inspector.get_table_names())
        columns = {c["name"]: c for c in inspector.get_columns("sa_items")}
        assert list(columns) == ["id", "name", "price"]
        assert not columns["name"]["nullable"]
        assert isinstance(columns["id"]["type"], sa.Integer)
    finally:
        eng.dispose()


def test_a_user_reflects_only_its_namespace(pg: Pg) -> None:
    eng = engine(pg, pg.bob)
    try:
        names = set(sa.inspect(eng).get_table_names())
        assert "todos" in names and "secrets" not in names
        assert sa.inspect(eng).get_schema_names() == ["information_schema", "shop"]
    finally:
        eng.dispose()
