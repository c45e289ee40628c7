"""`bkgdb`: the command line. Each command lives in a module with a `register` function
(which adds it with `api.cli.command.add_command`).

Every command takes `--json` for scripts and fails with a non-zero exit status and one
line on stderr naming the reason.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from api.cli.output import CommandError, emit_json
from api.datadir import DataDir, SettingsError
from api.storage.errors import StorageError
from eventlog import LogError
from projections.blobs.errors import BlobError


def command_modules() -> list[ModuleType]:
    """The modules that contribute commands, in the order `--help` lists them."""
    from api.cli import (
        consumer_commands,
        init_command,
        keys_commands,
        log_commands,
        migrate_commands,
        serve_command,
        sql_commands,
        storage_commands,
    )

    return [
        init_command,
        log_commands,
        sql_commands,
        keys_commands,
        serve_command,
        consumer_commands,
        storage_commands,
        migrate_commands,
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bkgdb", description="bkg-db: a data backend whose write-ahead log is the truth."
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("BKG_DATA_DIR", "./data")),
        help="data directory (default: $BKG_DATA_DIR or ./data)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in command_modules():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args, DataDir(args.data_dir)))
    except (CommandError, LogError, OSError, SettingsError, StorageError, BlobError) as exc:
        code = exc.exit_code if isinstance(exc, CommandError) else 1
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if getattr(args, "json", False):
            emit_json({"error": {"message": message, "kind": type(exc).__name__}})
        print(f"bkgdb {args.command}: {message}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        return 130
