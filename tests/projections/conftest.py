"""Fixtures of the projection tests: a real event log in a temporary directory, and an
initialised data directory (`root`) for `api.Database`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.datadir import DataDir
from api.initialise import initialise
from eventlog import EventLog, SigningKey
from tests.projections.projkit import Env


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    key = SigningKey.generate()
    log = EventLog.create(tmp_path / "log", key)
    yield Env(tmp_path, key, log)
    log.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A data directory initialised as `bkgdb init` does (1 MiB log segments)."""
    path = tmp_path / "data"
    initialise(DataDir(path), 1 << 20)
    return path
