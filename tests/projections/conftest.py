"""Fixtures of the projection tests: a real event log in a temporary data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eventlog import EventLog, SigningKey
from tests.projections.projkit import Env


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    key = SigningKey.generate()
    log = EventLog.create(tmp_path / "log", key)
    yield Env(tmp_path, key, log)
    log.close()
