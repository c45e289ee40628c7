"""Commands that read the log: `tail`, `verify`, `log stat`, `log keys`; and `log prune`.

All but `log rotate-key` and `log prune` are read-only and work while a server holds the
directory. `log prune` removes archived sealed segments from local disk (tiered retention,
`projections.archive.retention`); a server prunes by itself with `--retain-local-segments`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path
from typing import Any

from api.cli.command import add_command
from api.cli.output import CommandError, Progress, emit_json, jsonable
from api.cli.storage_commands import add_s3_flags, retain_setting, storage_settings
from api.datadir import DataDir
from api.logs import open_log, segment_source
from eventlog import LogReader, Record, SigningKey
from eventlog.keyless import sign_pending
from eventlog.keys import KEY_EVENT_KIND
from eventlog.pruned import pruned_manifests
from eventlog.segments import list_segments, manifest_path
from eventlog.verify import KeylessPolicy, verify_log

FOLLOW_POLL_S = 0.2


def register(subparsers: Any) -> None:
    tail = add_command(subparsers, "tail", run_tail, "print log records")
    tail.add_argument("--from-lsn", type=int, default=None, help="first LSN (default: last 10)")
    tail.add_argument("--follow", action="store_true", help="keep printing new records")
    verify = add_command(subparsers, "verify", run_verify, "check the log's integrity")
    verify.add_argument("--deep", action="store_true", help="check every seal's signature")
    verify.add_argument("--trusted-keys", type=Path, help="JSON {key_id: public key hex}")
    verify.add_argument("--sigstore-identity", help="required signer of sigstore bundles")
    verify.add_argument("--sigstore-issuer", help="required OIDC issuer of that signer")
    verify.add_argument(
        "--fetch-archived",
        action="store_true",
        help="fetch segments pruned from local disk from the S3 archive and check them too",
    )
    add_s3_flags(verify)
    log = add_command(
        subparsers, "log", run_log, "log statistics, public keys, signing-key rotation"
    )
    log.add_argument("what", choices=["stat", "keys", "rotate-key", "sign-keyless", "prune"])
    add_s3_flags(log)


def record_json(record: Record) -> dict[str, Any]:
    return {
        "lsn": record.lsn,
        "ts": iso_time(record.ts_us),
        "kind": record.kind,
        "actor": record.actor,
        "namespace": record.namespace,
        "payload": jsonable(record.payload),
    }


def iso_time(ts_us: int) -> str:
    moment = datetime.datetime.fromtimestamp(ts_us / 1e6, tz=datetime.UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _print_record(record: Record, as_json: bool) -> None:
    if as_json:
        emit_json(record_json(record))
        return
    payload = json.dumps(jsonable(record.payload), sort_keys=True)
    if len(payload) > 160:
        payload = payload[:157] + "..."
    namespace = record.namespace or "-"
    print(
        f"{record.lsn:>10}  {iso_time(record.ts_us)}  {record.kind:<7} {record.actor:<12} "
        f"{namespace:<10} {payload}",
        flush=True,
    )


def run_tail(args: argparse.Namespace, data_dir: DataDir) -> int:
    reader = LogReader(data_dir.log, segment_source(data_dir))
    next_lsn = args.from_lsn if args.from_lsn is not None else max(reader.head_lsn - 9, 1)
    while True:
        for record in reader.read(next_lsn):
            _print_record(record, args.json)
            next_lsn = record.lsn + 1
        if not args.follow:
            return 0
        # Another process writes this log: watch its files (no in-process notification).
        time.sleep(FOLLOW_POLL_S)


def run_verify(args: argparse.Namespace, data_dir: DataDir) -> int:
    trusted = None
    if args.trusted_keys:
        pinned = json.loads(args.trusted_keys.read_text())
        trusted = {key_id: bytes.fromhex(raw) for key_id, raw in pinned.items()}
    progress = Progress("verify")
    keyless = KeylessPolicy(args.sigstore_identity, args.sigstore_issuer)
    fetch = segment_source(data_dir, storage_settings(args)) if args.fetch_archived else None
    if args.fetch_archived and fetch is None:
        raise CommandError("--fetch-archived needs the S3 archive: set --s3-endpoint, --s3-bucket")
    if trusted is None and fetch is None and pruned_manifests(data_dir.log):
        # LSN 1 and the key announcements near it are not local: trust this directory's keys.
        trusted = local_public_keys(data_dir)
    report = verify_log(
        data_dir.log, trusted, progress, deep=args.deep, keyless=keyless, fetch=fetch
    )
    progress.done()
    if args.json:
        emit_json(vars(report))
    elif report.ok:
        print(
            f"ok: {report.records} records in {report.segments} segments, "
            f"head LSN {report.head_lsn}, {len(report.keys)} signing key(s)"
        )
        for warning in report.warnings:
            print(f"warning: {warning}")
        if report.pruned_fetched:
            print(f"checked {report.pruned_fetched} pruned segment(s) fetched from the archive")
    if not report.ok:
        raise CommandError(f"first bad LSN {report.first_bad_lsn}: {report.reason}")
    return 0


def local_public_keys(data_dir: DataDir) -> dict[str, bytes]:
    """The public halves of this directory's current and retired log signing keys."""
    paths = [data_dir.signing_key_path, *data_dir.keys.glob("retired-*.key")]
    keys = [SigningKey.load(path) for path in paths if path.exists()]
    return {key.key_id: key.public_bytes for key in keys}


def run_log(args: argparse.Namespace, data_dir: DataDir) -> int:
    if not data_dir.log.is_dir():
        raise CommandError(f"{data_dir.root} has no log (run `bkgdb init`)")
    actions = {
        "stat": _log_stat,
        "keys": _log_keys,
        "rotate-key": _log_rotate_key,
        "sign-keyless": _log_sign_keyless,
        "prune": _log_prune,
    }
    actions[args.what](args, data_dir)
    return 0


def _log_rotate_key(args: argparse.Namespace, data_dir: DataDir) -> None:
    with open_log(data_dir) as writer:
        old = writer.signing_key.key_id
        new = data_dir.rotate_signing_key(writer)
        result = {"previous_key_id": old, "key_id": new.key_id, "lsn": writer.head_lsn}
    if args.json:
        emit_json(result)
    else:
        print(f"rotated the log signing key {old} -> {new.key_id} at LSN {result['lsn']}")


def _log_sign_keyless(args: argparse.Namespace, data_dir: DataDir) -> None:
    written = sign_pending(data_dir.log)
    if args.json:
        emit_json({"bundles": [str(path) for path in written]})
        return
    print(f"signed {len(written)} sealed manifest(s) keyless with sigstore")


def _log_prune(args: argparse.Namespace, data_dir: DataDir) -> None:
    """Prune what the archive holds beyond the newest N sealed segments (default 0)."""
    from projections.archive.archiver import CURSOR_FILE, ArchiveCursor
    from projections.archive.retention import prune
    from projections.blobs.s3 import S3BlobStore

    settings = storage_settings(args)
    location = settings.archive_location()
    if location is None:
        raise CommandError("pruning needs the S3 archive: set --s3-endpoint and --s3-bucket")
    cursor = ArchiveCursor.load(data_dir.consumers / CURSOR_FILE)
    retain = retain_setting(args)
    with open_log(data_dir, settings) as writer:
        report = prune(writer, retain or 0, cursor, S3BlobStore(location))
    if args.json:
        emit_json(vars(report))
        return
    print(
        f"pruned {len(report.pruned)} segment(s); LSNs up to {report.pruned_through_lsn} are"
        f" read from the archive; {report.local_sealed} sealed segment(s) stay local"
    )
    print(f"stopped: {report.stopped}")


def _log_keys(args: argparse.Namespace, data_dir: DataDir) -> None:
    keys = public_keys(LogReader(data_dir.log, segment_source(data_dir, storage_settings(args))))
    if args.json:
        emit_json(keys)
        return
    for key_id, raw in keys.items():
        print(f"{key_id}  {raw}")


def _log_stat(args: argparse.Namespace, data_dir: DataDir) -> None:
    stat = log_stat(data_dir)
    if args.json:
        emit_json(stat)
        return
    for name, value in stat.items():
        if name != "segments":
            print(f"{name:<16} {value}")
    for segment in stat["segments"]:
        state = "sealed" if segment["sealed"] else "active"
        print(f"  {segment['name']}  {segment['bytes']:>12} bytes  {state}")


def public_keys(reader: LogReader) -> dict[str, str]:
    """Every signing key announced in the log, for verifiers outside this process."""
    keys: dict[str, str] = {}
    for record in reader.read():
        payload = record.payload
        if record.kind == KEY_EVENT_KIND and isinstance(payload, dict) and "public_key" in payload:
            keys[str(payload["key_id"])] = bytes(payload["public_key"]).hex()
    return keys


def log_stat(data_dir: DataDir) -> dict[str, Any]:
    reader = LogReader(data_dir.log)
    segments = [
        {"name": path.name, "bytes": path.stat().st_size, "sealed": manifest_path(path).exists()}
        for _, path in list_segments(data_dir.log)
    ]
    return {
        "head_lsn": reader.head_lsn,
        "segment_count": len(segments),
        "total_bytes": sum(s["bytes"] for s in segments),
        "segment_bytes": data_dir.config().get("segment_bytes"),
        "segments": segments,
    }
