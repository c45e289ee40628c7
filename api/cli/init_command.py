"""`bkgdb init`: a new data directory with keys, a log and the first events."""

from __future__ import annotations

import argparse
import time
from typing import Any

from api.cli.command import add_command
from api.cli.output import CommandError, emit_json
from api.datadir import DataDir
from eventlog import Entry, EventLog, LogOptions

DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024


def register(subparsers: Any) -> None:
    parser = add_command(subparsers, "init", run, "create a data directory, its keys and log")
    parser.add_argument(
        "--segment-bytes", type=int, default=None, help="rotate log segments at this size"
    )
    parser.add_argument(
        "--if-missing", action="store_true", help="do nothing if the directory is initialised"
    )


def run(args: argparse.Namespace, data_dir: DataDir) -> int:
    if data_dir.is_initialised():
        if args.if_missing:
            if args.json:
                emit_json({"data_dir": str(data_dir.root), "created": False})
            return 0
        raise CommandError(f"{data_dir.root} is already initialised")
    if data_dir.root.exists() and any(data_dir.root.iterdir()):
        raise CommandError(f"{data_dir.root} exists and is not empty")
    result = initialise(data_dir, args.segment_bytes or DEFAULT_SEGMENT_BYTES)
    if args.json:
        emit_json(result)
    else:
        print(f"Initialised {data_dir.root} (log head LSN {result['head_lsn']}).")
        print("Admin API key (shown only this once, keep it safe):")
        print(f"  {result['admin_key']}")
    return 0


def initialise(data_dir: DataDir, segment_bytes: int) -> dict[str, Any]:
    """Lay out the directory, create secrets, start the log and record the admin key."""
    from api.auth.apikeys import new_api_key

    data_dir.create_layout()
    key = data_dir.create_secrets()
    options = LogOptions(segment_bytes=segment_bytes)
    with EventLog.create(data_dir.log, key, options) as log:
        plaintext, record = new_api_key("admin", None, "initial admin key", None, time.time())
        log.append(Entry("auth", record.to_event_payload(), actor="system"))
        head = log.head_lsn
    data_dir.write_config(segment_bytes)
    return {
        "data_dir": str(data_dir.root),
        "created": True,
        "admin_key": plaintext,
        "admin_key_id": record.id,
        "signing_key_id": key.key_id,
        "head_lsn": head,
    }
