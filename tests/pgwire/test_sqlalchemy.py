"""SQLAlchemy 2 Core over psycopg: create_all (which reflects to check existence), CRUD in
transactions, and the inspector's table and column reflection, filtered by principal."""

from __future__ import annotations

import decimal

import sqlalchemy as sa
from sqlalchemy import orm

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


REFLECTED = (
    "CREATE TABLE shop.sa_parent (id integer PRIMARY KEY, code text UNIQUE)",
    "CREATE TABLE shop.sa_child (region text, id bigint, parent_id integer"
    " REFERENCES shop.sa_parent(id) ON DELETE CASCADE, note varchar(20),"
    " PRIMARY KEY (region, id))",
    "CREATE INDEX sa_child_note ON shop.sa_child (note, parent_id)",
)


def test_reflection_of_keys_and_indexes(pg: Pg) -> None:
    for sql in REFLECTED:
        pg.http(sql)
    eng = engine(pg, pg.namespace_key)
    try:
        inspector = sa.inspect(eng)
        assert inspector.get_pk_constraint("sa_child") == {
            "constrained_columns": ["region", "id"],
            "name": "sa_child_pkey",
            "comment": None,
        }
        [foreign] = inspector.get_foreign_keys("sa_child")
        assert foreign["constrained_columns"] == ["parent_id"]
        assert foreign["referred_table"] == "sa_parent"
        assert foreign["referred_columns"] == ["id"]
        assert foreign["options"] == {"ondelete": "CASCADE"}
        [index] = inspector.get_indexes("sa_child")
        assert index["name"] == "sa_child_note" and not index["unique"]
        assert index["column_names"] == ["note", "parent_id"]
        unique = inspector.get_unique_constraints("sa_parent")
        assert [u["column_names"] for u in unique] == [["code"]]
        child = sa.Table("sa_child", sa.MetaData(), autoload_with=eng)
        assert [c.name for c in child.primary_key] == ["region", "id"]
        assert {f.target_fullname for f in child.foreign_keys} == {"sa_parent.id"}
    finally:
        eng.dispose()


class Base(orm.DeclarativeBase):
    pass


class Gadget(Base):
    __tablename__ = "sa_gadgets"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(30))
    price: orm.Mapped[decimal.Decimal | None]


def test_orm_session_add_commit_query(pg: Pg) -> None:
    eng = engine(pg, pg.namespace_key)
    try:
        Base.metadata.create_all(eng)
        with orm.Session(eng) as session:
            session.add_all([Gadget(id=1, name="lamp", price=decimal.Decimal("9.5")),
                             Gadget(id=2, name="desk", price=None)])  # fmt: skip
            session.commit()
        with orm.Session(eng) as session:
            found = session.scalars(sa.select(Gadget).where(Gadget.price.is_not(None))).all()
            assert [(g.id, g.name, g.price) for g in found] == [(1, "lamp", decimal.Decimal("9.5"))]
            desk = session.get(Gadget, 2)
            assert desk is not None
            desk.price = decimal.Decimal(3)
            session.commit()
        assert pg.http("SELECT price FROM shop.sa_gadgets WHERE id = 2")["rows"] == [[3.0]]
    finally:
        eng.dispose()
