"""Fixtures of the Kafka tests: a Tansu broker in memory, or one on S3 storage that keeps
its topics across a restart; a served primary mirroring to it, and a replica process of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.peers.kafka import TansuBroker
from bench.peers.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedS3
from tests.http.conftest import Api, make_data_dir, open_api
from tests.kafka.replicas import Replica, jwt_secret, running_replica
from tests.kafka.test_mirror import start_mirror


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


@pytest.fixture
def primary(tmp_path: Path, broker: TansuBroker) -> Iterator[Api]:
    """A served primary (in-process) with the shop data, mirrored to `broker`."""
    for api in open_api(make_data_dir(tmp_path)):
        runner = start_mirror(api.backend.db, broker.bootstrap)
        try:
            api.setup_shop()
            yield api
        finally:
            runner.stop()


@pytest.fixture
def replica(tmp_path: Path, broker: TansuBroker, primary: Api) -> Iterator[Replica]:
    """A `bkgdb replica --serve` process following the primary's mirror."""
    with running_replica(
        tmp_path / "replica", broker.bootstrap, jwt_secret(tmp_path), tmp_path / "replica.log"
    ) as running:
        yield running
