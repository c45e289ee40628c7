"""`bkgdb replica --serve`: a read replica answering over HTTP while it follows `bkg.log`.

The store is served with the primary's routes for reads (`api.http.replica`); the follower
folds verified records into it on its own thread and each applied batch becomes visible to
readers at once and is fanned out to `/realtime` subscribers. Writes are refused with 503
and the primary's address (`--primary-url`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from api.cli.output import CommandError, emit_json
from api.cli.serve_command import add_log_flags, log_settings
from api.datadir import DataDir
from projections.consumers.replica import KafkaReplica
from projections.store import STORE_FILE

DEFAULT_PORT = 8081


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--serve",
        action="store_true",
        help="serve read-only /query, /schema, /realtime and /healthz over HTTP while following",
    )
    parser.add_argument("--host", default="127.0.0.1", help="--serve: address (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"--serve: port ({DEFAULT_PORT})"
    )
    parser.add_argument(
        "--primary-url", help="--serve: the primary's address, named in the answer to a write"
    )
    add_log_flags(parser)


def serve_store(data_dir: DataDir) -> Path:
    """Where a served replica keeps its store by default (a directory of its own, which the
    serving process holds as a primary holds its projection's)."""
    return data_dir.projections / "replica" / STORE_FILE


def serve_replica(
    args: argparse.Namespace, data_dir: DataDir, replica: KafkaReplica, seed_lsn: int | None
) -> int:
    """Catch up to the seed checkpoint (if any), then serve and follow until stopped."""
    from api.cli.serve_command import telemetry
    from api.http.server import serve
    from api.logconfig import configured
    from api.settings import ServerConfig, Settings
    from api.wiring import build_server

    settings = Settings(
        ServerConfig(data_dir=data_dir.root), log=log_settings(args), telemetry=telemetry()
    )
    with configured(settings.log.format, settings.log.level):
        if seed_lsn is not None:
            replica.follow_sync(until_lsn=seed_lsn)
        try:
            server = build_server(settings, replica, args.primary_url or None)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        server.start()
        try:
            address = f"http://{args.host}:{args.port}"
            applied = replica.applied_lsn
            if args.json:
                emit_json({"url": address, "applied_lsn": applied, "pid": os.getpid()})
            else:
                print(f"bkg-db replica of bkg.log on {address} (applied LSN {applied})")
            sys.stdout.flush()
            serve(server.backend, server.app, args.host, args.port)
        finally:
            server.close()
        return 0
