"""`bkgdb restore`, and the S3 and archive flags `bkgdb serve` takes.

`restore --from s3://bucket/prefix [--to-lsn N] [--keys DIR]` builds a data directory from
the continuous archive: the log is downloaded, verified and cut at N (default: everything
archived), handed over to a signing key (a fresh one recorded in the log, or the one in
`--keys DIR`, which also brings the JWT secret), and the projection is rebuilt from it.
Then the bytes of the objects live at N that the archive holds (local backend) are
downloaded into data/objects/ and checked against their SHA-256 (`api.storage.backup`).

`serve` gets `--s3-endpoint/--s3-access-key/--s3-secret-key/--s3-bucket/--s3-prefix`,
`--storage-backend` and `--archive-interval` (flags win over the `BKG_*` environment; both
are read once into the server's `StorageSettings`, `storage_settings`); with an endpoint and
bucket set, the archive runs beside the server (`api.wiring`) and `/metrics` shows
`bkg_archive_lag_records`; with the local backend it archives object bytes too
(`bkg_archive_blobs_missing_total` counts those already removed locally when it got to
them). With
`--retain-local-segments N` (or `BKG_RETAIN_LOCAL_SEGMENTS`) each archive pass then prunes
local sealed segments the archive holds, beyond the newest N (`projections.archive.retention`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from api.cli.command import add_command
from api.cli.output import CommandError, Progress, emit_json
from api.datadir import DataDir
from api.initialise import DEFAULT_SEGMENT_BYTES
from api.storage.settings import StorageSettings

if TYPE_CHECKING:
    from api.storage.meta import ObjectMeta

FLAG_ENV = {
    "s3_endpoint": "BKG_S3_ENDPOINT",
    "s3_access_key": "BKG_S3_ACCESS_KEY",
    "s3_secret_key": "BKG_S3_SECRET_KEY",
    "s3_bucket": "BKG_S3_BUCKET",
    "s3_prefix": "BKG_S3_PREFIX",
    "storage_backend": "BKG_STORAGE_BACKEND",
    "archive_interval": "BKG_ARCHIVE_INTERVAL",
}
logger = logging.getLogger("bkg.archive")


def register(subparsers: Any) -> None:
    parser = add_command(subparsers, "restore", run_restore, "restore a data directory from S3")
    parser.add_argument("--from", dest="source", required=True, help="s3://bucket/prefix")
    parser.add_argument("--to-lsn", type=int, default=None, help="restore the state after N")
    parser.add_argument("--keys", type=Path, default=None, help="keys directory to keep using")
    parser.add_argument("--trusted-keys", type=Path, help="JSON {key_id: public key hex}")
    add_s3_flags(parser, with_location=False)


def add_s3_flags(parser: argparse.ArgumentParser, with_location: bool = True) -> None:
    """The S3 connection flags (and, for `serve`, where objects and the archive go)."""
    parser.add_argument("--s3-endpoint", help="S3 URL, e.g. http://minio:9000 ($BKG_S3_ENDPOINT)")
    parser.add_argument("--s3-access-key", help="S3 access key ($BKG_S3_ACCESS_KEY)")
    parser.add_argument("--s3-secret-key", help="S3 secret key ($BKG_S3_SECRET_KEY)")
    if not with_location:
        return
    parser.add_argument("--s3-bucket", help="bucket for the archive and objects ($BKG_S3_BUCKET)")
    parser.add_argument("--s3-prefix", help="prefix inside the bucket ($BKG_S3_PREFIX)")
    parser.add_argument(
        "--storage-backend", choices=["local", "s3"], help="where object bytes live (default local)"
    )
    parser.add_argument(
        "--archive-interval", type=float, help="seconds between archive passes (default 1)"
    )
    parser.add_argument(
        "--retain-local-segments",
        type=int,
        metavar="N",
        help="prune archived sealed segments beyond the newest N from local disk"
        " ($BKG_RETAIN_LOCAL_SEGMENTS; default: keep every segment)",
    )


def retain_setting(args: argparse.Namespace) -> int | None:
    """How many sealed segments stay local: the flag, else the environment, else None
    (pruning off)."""
    value = getattr(args, "retain_local_segments", None)
    if value is None and os.environ.get("BKG_RETAIN_LOCAL_SEGMENTS"):
        text = os.environ["BKG_RETAIN_LOCAL_SEGMENTS"]
        if not text.isdigit():
            raise CommandError(f"BKG_RETAIN_LOCAL_SEGMENTS must be a count, not {text!r}")
        value = int(text)
    if value is not None and value < 0:
        raise CommandError("--retain-local-segments must be 0 or more")
    return int(value) if value is not None else None


def flag_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment as the S3 and storage flags given on the command line amend it (a
    flag wins over its variable; the process's environment is left as it is)."""
    given = {FLAG_ENV[flag]: getattr(args, flag, None) for flag in FLAG_ENV}
    return {
        **os.environ,
        **{name: str(value) for name, value in given.items() if value is not None},
    }


def storage_settings(args: argparse.Namespace) -> StorageSettings:
    """Where objects and the archive go, by the flags over the environment."""
    return StorageSettings.from_env(flag_env(args))


def run_restore(args: argparse.Namespace, data_dir: DataDir) -> int:
    from api.storage.errors import StorageError
    from projections.archive.errors import ArchiveError
    from projections.blobs.errors import BlobError

    root = data_dir.root
    if root.exists() and any(root.iterdir()):
        raise CommandError(f"{root} is not empty; restore needs a missing or empty directory")
    try:
        summary = _restore(args, data_dir)
    except (ArchiveError, StorageError, BlobError, ValueError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise CommandError(str(exc)) from exc
    if args.json:
        emit_json(summary)
    else:
        print(
            f"restored {root} to LSN {summary['restored_lsn']} of {summary['archive_head_lsn']}"
            f" archived ({summary['segments']} segments, {summary['bytes']} bytes); signing key"
            f" {summary['key_id']}{' (new, recorded in the log)' if summary['new_key'] else ''};"
            f" {summary['objects']} objects ({summary['object_bytes']} bytes) from the archive"
        )
        for warning in summary["warnings"]:
            print(f"warning: {warning}")
    return 0


def _restore(args: argparse.Namespace, data_dir: DataDir) -> dict[str, Any]:
    from api.storage.backup import restore_blobs
    from eventlog import SigningKey
    from projections.archive.restore import (
        fetch_checkpoint,
        fetch_config,
        list_archive,
        restore_log,
    )
    from projections.blobs.s3 import S3BlobStore

    remote = S3BlobStore(_location(args))
    data_dir.create_layout()
    if args.keys is not None:
        _copy_keys(args.keys, data_dir.keys)
    else:
        data_dir.create_secrets()
    progress = Progress("restore")
    report = restore_log(
        remote, data_dir.log, SigningKey.load(data_dir.signing_key_path), args.to_lsn,
        _trusted(args.trusted_keys), progress,
    )  # fmt: skip
    progress.done()
    listing = list_archive(remote)
    config = fetch_config(remote, listing)
    segment_bytes = json.loads(config)["segment_bytes"] if config else DEFAULT_SEGMENT_BYTES
    data_dir.write_config(segment_bytes)
    checkpoint = None
    if not report.new_key:  # checkpoints are signed by the old key: useful only when kept
        checkpoint = fetch_checkpoint(remote, listing, data_dir.checkpoints, report.restored_lsn)
    progress = Progress("objects")
    objects, object_bytes = restore_blobs(remote, _rebuild(data_dir), data_dir.objects, progress)
    progress.done()
    return {
        "data_dir": str(data_dir.root),
        "archive_head_lsn": report.head_lsn,
        "restored_lsn": report.restored_lsn,
        "restore_record_lsn": report.record_lsn,
        "segments": report.segments,
        "bytes": report.bytes,
        "key_id": report.key_id,
        "new_key": report.new_key,
        "checkpoint_lsn": checkpoint,
        "objects": objects,
        "object_bytes": object_bytes,
        "warnings": report.warnings,
    }


def _location(args: argparse.Namespace) -> Any:
    from projections.blobs.s3 import S3Location

    parsed = urlparse(args.source)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise CommandError("--from takes s3://bucket/prefix")
    endpoint = args.s3_endpoint or os.environ.get("BKG_S3_ENDPOINT")
    if not endpoint:
        raise CommandError("restore needs --s3-endpoint or BKG_S3_ENDPOINT")
    return S3Location(
        endpoint=endpoint,
        access_key=args.s3_access_key or os.environ.get("BKG_S3_ACCESS_KEY", ""),
        secret_key=args.s3_secret_key or os.environ.get("BKG_S3_SECRET_KEY", ""),
        bucket=parsed.netloc,
        prefix=parsed.path.strip("/"),
    )


def _copy_keys(source: Path, target: Path) -> None:
    """Keep using an existing key directory's secrets (log signing key, JWT secret, ...)."""
    if not (source / "log_signing.key").is_file():
        raise CommandError(f"{source} holds no log_signing.key")
    for entry in source.iterdir():
        if entry.is_file():
            shutil.copyfile(entry, target / entry.name)
            os.chmod(target / entry.name, 0o600)


def _trusted(path: Path | None) -> dict[str, bytes] | None:
    if path is None:
        return None
    pinned = json.loads(path.read_text())
    return {key_id: bytes.fromhex(raw) for key_id, raw in pinned.items()}


def _rebuild(data_dir: DataDir) -> list[ObjectMeta]:
    """Open the restored directory once, which folds the log into a fresh projection;
    returns the objects live in it."""
    from api.database import Database
    from api.storage import meta

    with Database.open(data_dir.root, create=False) as db, db.store.snapshot() as snap:
        return meta.all_objects(snap.conn)
