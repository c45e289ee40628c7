"""Files named by records, archived with them (into a local folder, the same `Remote`
interface as S3): before the records count as archived, across pieces of the active
segment and sealed segments, also when a pass fails half-way; gone files are skipped."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from eventlog import Entry, EventLog, LogOptions, Record, SigningKey
from projections.archive.archiver import Archiver
from projections.archive.attachments import Attachments
from projections.blobs.blobstore import BlobInfo, Written
from projections.blobs.errors import BlobUnavailableError as BackendUnavailableError
from projections.blobs.local import LocalBlobStore


class Failing:
    """A local-folder archive whose uploads of attached files fail while `down` is set, as
    S3 failing in the middle of a pass would."""

    def __init__(self, store: LocalBlobStore) -> None:
        self.store = store
        self.down = False

    def put(self, key: str, chunks: Iterable[bytes], size: int | None = None) -> Written:
        if self.down and key.startswith("files/"):
            raise BackendUnavailableError(f"S3 unreachable while uploading {key}")
        return self.store.put(key, chunks, size)

    def get(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        return self.store.get(key, offset, length)

    def delete(self, key: str) -> None:
        self.store.delete(key)

    def list(self, prefix: str, after: str = "", limit: int = 1000) -> list[BlobInfo]:
        return self.store.list(prefix, after, limit)


def named_files(folder: Path) -> Attachments:
    """Records of kind "file" name a file of `folder`, archived as `files/<name>`."""

    def attachments(record: Record) -> list[tuple[str, Path]]:
        if record.kind != "file":
            return []
        return [(f"files/{record.payload['name']}", folder / record.payload["name"])]

    return attachments


def test_files_reach_the_archive_before_the_records_that_name_them(tmp_path: Path) -> None:
    files, log_dir = tmp_path / "files", tmp_path / "log"
    files.mkdir()
    remote = Failing(LocalBlobStore(tmp_path / "archive"))
    written: dict[str, bytes] = {}
    with EventLog.create(log_dir, SigningKey.generate(), LogOptions(segment_bytes=4096)) as log:
        archiver = Archiver(
            log, log_dir, tmp_path / "cp", tmp_path / "consumers", remote,
            attachments=named_files(files),
        )  # fmt: skip
        for n in range(40):  # passes now and then: pieces, and segments sealed in between
            name = f"{n}.bin"
            written[name] = os.urandom(100 + n)
            (files / name).write_bytes(written[name])
            log.append(Entry("file", {"name": name, "pad": "x" * 200}))
            if n % 7 == 3:
                assert archiver.sync_now() == log.head_lsn
        assert len(log.spans()) >= 3
        remote.down = True
        with pytest.raises(BackendUnavailableError):
            archiver.sync_now()
        assert archiver.lag_records > 0  # records whose files failed are not archived
        remote.down = False
        assert archiver.sync_now() == log.head_lsn
    for name, data in written.items():
        assert b"".join(remote.get(f"files/{name}")) == data


def test_a_file_gone_before_its_record_is_archived_is_counted_once_and_skipped(
    tmp_path: Path,
) -> None:
    files, log_dir = tmp_path / "files", tmp_path / "log"
    files.mkdir()
    (files / "kept.bin").write_bytes(b"kept")
    remote = Failing(LocalBlobStore(tmp_path / "archive"))
    with EventLog.create(log_dir, SigningKey.generate(), LogOptions(segment_bytes=4096)) as log:
        archiver = Archiver(
            log, log_dir, tmp_path / "cp", tmp_path / "consumers", remote,
            attachments=named_files(files),
        )  # fmt: skip
        log.append(Entry("file", {"name": "gone.bin"}))
        log.append(Entry("file", {"name": "kept.bin"}))
        remote.down = True  # the pass fails after the gone file was found missing
        with pytest.raises(BackendUnavailableError):
            archiver.sync_now()
        remote.down = False
        assert archiver.sync_now() == log.head_lsn
        assert archiver.attachments_missing == 1
    assert [info.key for info in remote.list("files/")] == ["files/kept.bin"]
