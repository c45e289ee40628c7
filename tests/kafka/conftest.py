"""Fixtures of the Kafka tests: a Tansu broker in memory, or one on S3 storage that keeps
its topics across a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kafka.brokers import S3Store, TansuBroker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TansuBroker]:
    """A fresh in-memory broker for one test."""
    running = TansuBroker(tmp_path / "broker.log")
    running.start()
    yield running
    running.stop()


@pytest.fixture
def durable_broker(tmp_path: Path) -> Iterator[TansuBroker]:
    """A broker whose storage (S3 on SeaweedFS) survives `kill` + `start`."""
    store = S3Store(tmp_path / "s3")
    try:
        store.start()
        store.make_bucket("tansu")
        running = TansuBroker(tmp_path / "broker.log", "s3://tansu/", store.env())
        running.start()
        yield running
        running.stop()
    finally:
        store.stop()
