"""`bkgdb init`: a new data directory with keys, a log and the first events."""

from __future__ import annotations

import argparse
from typing import Any

from api.cli.command import add_command
from api.cli.output import CommandError, emit_json
from api.datadir import DataDir
from api.initialise import DEFAULT_SEGMENT_BYTES, initialise


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
