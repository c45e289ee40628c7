"""Object bytes of the local backend in the continuous archive, against real S3 (SeaweedFS):
a restore brings them back, at the head and at an earlier LSN, checked against their
SHA-256; a blob removed locally before the archive got to it is counted and skipped."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from api.cli import build_parser, main
from api.cli.serve_command import serve_settings
from api.datadir import DataDir
from api.storage.backup import ARCHIVED_BLOBS
from api.wiring import running_archive
from eventlog import LogReader
from projections.archive.archiver import CURSOR_FILE, ArchiveCursor
from projections.blobs.local import LocalBlobStore
from projections.blobs.s3 import S3BlobStore
from tests.http.conftest import Api, bearer, make_data_dir, open_api
from tests.s3.conftest import S3Area
from tests.s3.test_archive import restore_args

MIB = 1 << 20


@contextmanager
def archiving(root: Path, interval: str = "0.1") -> Iterator[Api]:
    """A directory served in-process with the archive running beside it, as `serve` runs
    it (S3 settings from the environment, see the `remote` fixture)."""
    args = build_parser().parse_args(
        ["--data-dir", str(root), "serve", "--archive-interval", interval]
    )
    served = open_api(root)
    api = next(served)
    try:
        with running_archive(serve_settings(args, DataDir(root)), api.backend):
            yield api
    finally:
        served.close()


def metric(api: Api, name: str) -> float:
    for line in api.client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not in /metrics")


def wait_archived(api: Api) -> None:
    """Until every acknowledged record (and so every blob it names) is in the archive."""
    deadline = time.monotonic() + 10
    while metric(api, "bkg_archive_lag_records") > 0:
        assert time.monotonic() < deadline, "the archive did not catch up"
        time.sleep(0.05)


def put(api: Api, name: str, data: bytes) -> None:
    response = api.client.put(
        f"/storage/objects/files/{name}", content=data, headers=bearer(api.admin_key)
    )
    assert response.status_code == 200, response.text


def make_bucket(api: Api) -> None:
    response = api.client.post(
        "/storage/buckets", json={"name": "files"}, headers=bearer(api.admin_key)
    )
    assert response.status_code == 201, response.text


def downloads(root: Path, admin_key: str) -> dict[str, bytes]:
    """Every object of the bucket as a client gets it from the (restored) directory."""
    (root / "admin_key").write_text(admin_key)
    served = open_api(root)
    api = next(served)
    try:
        headers = bearer(admin_key)
        listed = api.client.get("/storage/objects/files", headers=headers).json()["objects"]
        names = [found["name"] for found in listed]
        return {name: api.client.get(f"/storage/objects/files/{name}", headers=headers).content
                for name in names}  # fmt: skip
    finally:
        served.close()


def test_local_objects_come_back_with_a_restore_at_the_head_and_at_an_earlier_lsn(
    remote: S3BlobStore, s3_area: S3Area, tmp_path: Path
) -> None:
    root = make_data_dir(tmp_path)
    admin_key = (root / "admin_key").read_text()
    first = {
        "a.txt": b"first version",
        "big/b.bin": os.urandom(3 * MIB + 5),
        "c/d/e.json": b"{}",
        "gone.txt": b"deleted later",
    }
    with archiving(root) as api:
        make_bucket(api)
        for name, data in first.items():
            put(api, name, data)
        before = api.head
        put(api, "a.txt", b"second version, longer")
        response = api.client.delete("/storage/objects/files/gone.txt", headers=bearer(admin_key))
        assert response.status_code == 200
        wait_archived(api)
        assert metric(api, "bkg_archive_blobs_missing_total") == 0
    assert len(remote.list(ARCHIVED_BLOBS)) == 5  # replaced and deleted objects' blobs stay
    shutil.rmtree(root)

    assert main(restore_args(s3_area.server, s3_area.prefix, root)) == 0
    assert len(LocalBlobStore(root / "objects").list("")) == 3  # only the live objects' blobs
    latest = {name: data for name, data in first.items() if name != "gone.txt"}
    assert downloads(root, admin_key) == {**latest, "a.txt": b"second version, longer"}

    earlier = tmp_path / "earlier"
    assert main(restore_args(s3_area.server, s3_area.prefix, earlier, "--to-lsn", str(before))) == 0
    assert downloads(earlier, admin_key) == first


def test_restore_fails_naming_an_object_whose_archived_bytes_were_altered(
    remote: S3BlobStore, s3_area: S3Area, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_data_dir(tmp_path)
    report = os.urandom(MIB)
    with archiving(root) as api:
        make_bucket(api)
        put(api, "docs/report.pdf", report)
        put(api, "img/logo.png", b"logo")
        wait_archived(api)
    blob = next(
        record.payload["blob"]
        for record in LogReader(root / "log").read()
        if record.kind == "storage" and record.payload.get("name") == "docs/report.pdf"
    )
    target = tmp_path / "restored"
    for altered in (b"X" + report[1:], report[:-1]):
        remote.put(ARCHIVED_BLOBS + blob, [altered])
        capsys.readouterr()
        assert main(restore_args(s3_area.server, s3_area.prefix, target)) == 1
        error = capsys.readouterr().err
        assert "object files/docs/report.pdf" in error and blob in error, error
        assert not target.exists()


def test_a_blob_removed_before_the_archive_got_to_it_is_counted_and_skipped(
    remote: S3BlobStore,
    s3_area: S3Area,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_data_dir(tmp_path)
    served = open_api(root)
    api = next(served)
    make_bucket(api)
    put(api, "a.txt", b"v1")
    before = api.head
    put(api, "a.txt", b"v2")
    served.close()  # a clean stop removes the replaced blob at once, before any archive ran
    caplog.clear()
    with archiving(root) as api:
        wait_archived(api)
        assert metric(api, "bkg_archive_blobs_missing_total") == 1
        assert "# TYPE bkg_archive_blobs_missing_total counter" in api.client.get("/metrics").text
    assert "is no longer on local disk" in caplog.text  # the server's log
    assert len(remote.list(ARCHIVED_BLOBS)) == 1

    capsys.readouterr()
    earlier = tmp_path / "earlier"
    assert main(restore_args(s3_area.server, s3_area.prefix, earlier, "--to-lsn", str(before))) == 1
    error = capsys.readouterr().err
    assert "object files/a.txt" in error and "neither in the archive" in error, error


def test_a_clean_stop_archives_what_the_last_interval_left_replaced_blobs_included(
    remote: S3BlobStore, tmp_path: Path
) -> None:
    root = make_data_dir(tmp_path)
    with archiving(root, interval="60") as api:  # no pass while it runs: only the last one
        make_bucket(api)
        put(api, "a.txt", b"v1")
        put(api, "a.txt", b"v2")
        head = api.head
    assert len(remote.list(ARCHIVED_BLOBS)) == 2
    assert ArchiveCursor.load(root / "consumers" / CURSOR_FILE).lsn == head
