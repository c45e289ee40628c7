"""Fixtures: a projection connection prepared the way the store prepares one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from api.sql import SqlEngine
from projections.apply import ensure_internal_schema


def projection() -> sqlite3.Connection:
    """An in-memory projection in autocommit mode with foreign keys enforced."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
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
