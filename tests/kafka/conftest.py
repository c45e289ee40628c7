"""Fixtures of the Kafka tests: a Tansu broker in memory, or one on S3 storage that keeps
its topics across a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kafka.brokers import TansuBroker
from tests.s3.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedS3


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
    store = SeaweedS3(tmp_path / "s3")
    try:
        store.start()
        store.make_bucket("tansu")
        env = {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT": store.url,
            "AWS_ALLOW_HTTP": "true",
        }
        running = TansuBroker(tmp_path / "broker.log", "s3://tansu/", env)
        running.start()
        yield running
        running.stop()
    finally:
        store.stop()
