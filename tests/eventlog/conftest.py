"""Shared fixtures: small logs written through the real writer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eventlog import Entry, EventLog, LogOptions, SigningKey


def write_log(
    log_dir: Path,
    payloads: list[object],
    key: SigningKey | None = None,
    options: LogOptions | None = None,
    group: int = 1,
) -> list[int]:
    """Append payloads in groups of `group` (one submit burst per group); return LSNs."""
    key = key or SigningKey.generate()
    lsns: list[int] = []
    with EventLog.create(log_dir, key, options) as log:
        for start in range(0, len(payloads), group):
            pending = [log.submit(Entry("dml", p)) for p in payloads[start : start + group]]
            lsns.extend(p.future.result(10) for p in pending)
    return lsns


@pytest.fixture
def log_factory(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    counter = iter(range(1_000_000))

    def make(payloads: list[object], **kwargs: object) -> Path:
        log_dir = tmp_path / f"log{next(counter)}"
        write_log(log_dir, payloads, **kwargs)  # type: ignore[arg-type]
        return log_dir

    yield make
