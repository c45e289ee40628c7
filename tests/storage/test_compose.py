"""compose.yaml is well-formed and wires bkg-db to Kafka and MinIO with every setting bkg-db
reads (Docker is not available here, so this is as far as it can be checked)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
SETTING = re.compile(r"\bBKG_[A-Z0-9_]*[A-Z0-9]\b")


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def settings_read_by_the_code() -> set[str]:
    found: set[str] = set()
    for package in ("api", "eventlog", "projections"):
        for path in (ROOT / package).rglob("*.py"):
            found.update(SETTING.findall(path.read_text()))
    return found


CLIENT_SETTINGS = {"BKG_URL", "BKG_API_KEY"}
"""Read by `bkgdb migrate` run against a server from elsewhere, not by the server."""


def test_every_setting_bkg_db_reads_is_named() -> None:
    settings = settings_read_by_the_code() - CLIENT_SETTINGS
    assert {"BKG_DATA_DIR", "BKG_S3_ENDPOINT", "BKG_KAFKA_BOOTSTRAP"} <= settings
    environment = compose()["services"]["bkg-db"]["environment"]
    assert sorted(settings - set(environment)) == []
    assert sorted(set(environment) - settings) == []


def test_services_are_wired_with_health_checks_and_volumes() -> None:
    document = compose()
    services = document["services"]
    assert {"bkg-db", "kafka", "minio"} <= set(services)
    for name in ("bkg-db", "kafka", "minio"):
        assert services[name]["healthcheck"]["test"], name
        assert any(":" in volume for volume in services[name]["volumes"]), name
    assert set(document["volumes"]) == {"bkg-data", "kafka-data", "minio-data"}
    depends = services["bkg-db"]["depends_on"]
    assert depends["kafka"]["condition"] == depends["minio"]["condition"] == "service_healthy"
    environment = services["bkg-db"]["environment"]
    assert environment["BKG_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert environment["BKG_S3_ENDPOINT"] == "http://minio:9000"
    assert environment["BKG_STORAGE_BACKEND"] == "s3" and environment["BKG_ARCHIVE"] == "on"
    assert "bkgdb serve" in " ".join(services["bkg-db"]["command"])


def test_kafka_runs_in_kraft_mode_with_one_broker() -> None:
    kafka = compose()["services"]["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert kafka["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1
