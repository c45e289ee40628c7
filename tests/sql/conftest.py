"""Fixtures: a projection connection prepared the way the store prepares one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from api.sql import SqlEngine
from projections.apply import ensure_internal_schema
from projections.meta import connect


def projection() -> sqlite3.Connection:
    """An in-memory projection connected exactly as the store connects (autocommit,
    foreign keys, case-sensitive LIKE, the divisor guard)."""
    conn = connect(":memory:")
    ensure_internal_schema(conn)
    return conn


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    connection = projection()
    yield connection
    connection.close()


@pytest.fixture
def engine() -> SqlEngine:
    return SqlEngine(cache_size=64)
