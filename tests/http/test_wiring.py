"""The one wiring of a server (`api.wiring`): everything is built at start from `Settings`,
and nothing of the server reads the environment after that."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import ServerConfig, Settings
from api.wiring import build_server
from eventlog import SigningKey
from projections.blobs.local import LocalBlobStore
from projections.consumers.audit import AuditTrail
from projections.consumers.errors import AuditError
from tests.http.conftest import bearer, make_data_dir

BAD_ENVIRONMENT = {
    "BKG_SEGMENT_BYTES": "big",
    "BKG_STORAGE_BACKEND": "s3",
    "BKG_STORAGE_CACHE_BYTES": "lots",
    "BKG_S3_ENDPOINT": "http://127.0.0.1:1",
    "BKG_S3_BUCKET": "nowhere",
    "BKG_KAFKA_BOOTSTRAP": "127.0.0.1:1",
}


def test_the_server_is_built_from_its_settings_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_data_dir(tmp_path)
    for name, value in BAD_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    server = build_server(Settings(ServerConfig(data_dir=root)))
    try:
        backend = server.backend
        assert backend.storage is not None  # built at start, not on the first request
        assert isinstance(backend.storage.service.blobs, LocalBlobStore)
        assert server.archiver is None and server.listeners == []
        assert server.consumers is not None
        assert [runner.consumer.name for runner in server.consumers.runners] == ["audit"]
        assert backend.db.log.segment_source is None
        assert backend.db.log.options.segment_bytes == 1 << 20  # as init recorded it
    finally:
        server.close()


def test_each_server_owns_its_realtime_service(tmp_path: Path) -> None:
    first = build_server(Settings(ServerConfig(data_dir=make_data_dir(tmp_path / "a"))))
    second = build_server(Settings(ServerConfig(data_dir=make_data_dir(tmp_path / "b"))))
    try:
        assert first.backend.realtime is not second.backend.realtime
        assert first.backend.realtime.subscribers == 0
        assert "bkg_realtime_subscribers 0" in first.backend.metrics.render()
    finally:
        first.close()
        second.close()


def test_a_failing_part_closes_what_was_built(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path)
    held = AuditTrail(root / "audit", SigningKey.generate)  # another writer of the trail
    try:
        with pytest.raises(AuditError, match="written by another process"):
            build_server(Settings(ServerConfig(data_dir=root)))
    finally:
        held.close()
    again = build_server(Settings(ServerConfig(data_dir=root)))  # nothing was left locked
    try:
        assert again.backend.db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)").lsn > 0
    finally:
        again.close()


def test_the_built_app_serves_the_backend(tmp_path: Path) -> None:
    from litestar.testing import TestClient

    root = make_data_dir(tmp_path)
    server = build_server(Settings(ServerConfig(data_dir=root)))
    try:
        with TestClient(server.app) as client:
            key = (root / "admin_key").read_text()
            answer = client.post("/query", json={"sql": "SELECT 1 AS one"}, headers=bearer(key))
            assert answer.status_code == 200, answer.text
            assert answer.json()["rows"] == [[1]]
    finally:
        server.close()
