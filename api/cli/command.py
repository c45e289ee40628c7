"""What a command module needs to contribute a command: `add_command` and the `Handler` type.

Command modules import this, never the `api.cli` package (which imports them to build the
parser), so the dependency points one way only.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from api.datadir import DataDir

Handler = Callable[[argparse.Namespace, DataDir], int]


def add_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    help_text: str,
) -> argparse.ArgumentParser:
    """Add a subcommand that takes `--json` and runs `handler(args, data_dir)`."""
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=handler)
    return parser
