"""`bkgdb migrate new|up|status`: numbered SQL files applied through the log (docs/migrations.md).

`up` and `status` work on the data directory (`--data-dir`, opened in-process: no server
may hold it) or beside a running server (`--url` and `--api-key`, or `BKG_URL` and
`BKG_API_KEY`; an admin key). Either way `up` first compares every local file with the
ledger and applies nothing while a file was edited after it was applied or sits below the
newest applied version; then it applies the pending files in order, each as one
transaction and one log record. A file that fails stops `up` and changes nothing.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from api.cli.command import add_command
from api.cli.output import CommandError, emit_json
from api.datadir import DataDir
from api.migrations.client import EmbeddedTarget, RemoteTarget, Target, TargetError
from api.migrations.errors import MigrationFileError
from api.migrations.files import create, discover
from api.migrations.plan import Plan, plan
from api.sql.errors import SqlError
from projections.errors import ProjectionError


def register(subparsers: Any) -> None:
    migrate = subparsers.add_parser("migrate", help="create, apply and list SQL migrations")
    actions = migrate.add_subparsers(dest="migrate_command", required=True, metavar="ACTION")
    new = add_command(actions, "new", run_new, "create the next NNNN_name.sql")
    new.add_argument("name", help="what the migration does, e.g. add_orders")
    _dir_flag(new)
    up = add_command(actions, "up", run_up, "apply pending migrations in order")
    up.add_argument("--to", type=int, help="apply up to this version only")
    up.add_argument("--dry-run", action="store_true", help="show what would be applied")
    status = add_command(actions, "status", run_status, "applied, pending and edited files")
    for parser in (up, status):
        _dir_flag(parser)
        _target_flags(parser)


def _dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir", type=Path, default=Path("migrations"), help="the migration files (./migrations)"
    )


def _target_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=os.environ.get("BKG_URL") or None,
        help="a running server to migrate (default: $BKG_URL, else the --data-dir itself)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("BKG_API_KEY") or None,
        help="an admin API key of that server (default: $BKG_API_KEY)",
    )


def run_new(args: argparse.Namespace, _: DataDir) -> int:
    with _one_line_errors():
        path = create(args.dir, args.name)
    if args.json:
        emit_json({"path": str(path)})
    else:
        print(f"created {path}")
    return 0


def run_status(args: argparse.Namespace, data_dir: DataDir) -> int:
    with _target(args, data_dir) as target, _one_line_errors():
        current = plan(discover(args.dir), target.applied())
    if args.json:
        emit_json({"migrations": [entry.to_json() for entry in current.entries]})
    else:
        for entry in current.entries:
            lsn = f"LSN {entry.row.lsn}" if entry.row else ""
            print(f"{entry.filename:<40} {entry.state:<13} {lsn}")
        if not current.entries:
            print(f"no migrations in {args.dir} and none applied")
    return 1 if current.problems else 0


def run_up(args: argparse.Namespace, data_dir: DataDir) -> int:
    with _target(args, data_dir) as target, _one_line_errors():
        current = plan(discover(args.dir), target.applied())
        _refuse_problems(current)
        pending = current.pending(args.to)
        if args.dry_run:
            return _report(args, [(m.filename, "would apply", None) for m in pending])
        done: list[tuple[str, str, int | None]] = []
        for migration in pending:
            try:
                outcome = target.apply(migration)
            except (SqlError, TargetError) as exc:
                reason = f"{migration.filename}: {_reason(exc)}; nothing of it applied"
                raise CommandError(reason) from exc
            state = "applied" if outcome.applied else "already applied"
            done.append((migration.filename, state, outcome.row.lsn))
            if not args.json:
                print(f"{migration.filename}: {state} (LSN {outcome.row.lsn})")
    if args.json:
        return _report(args, done)
    if not done:
        print("nothing to apply")
    return 0


def _refuse_problems(current: Plan) -> None:
    refusal = current.refusal()
    if refusal is not None:
        raise CommandError(f"refused, nothing applied: {refusal}")


def _report(args: argparse.Namespace, rows: list[tuple[str, str, int | None]]) -> int:
    if args.json:
        emit_json({"migrations": [{"filename": f, "state": s, "lsn": n} for f, s, n in rows]})
    elif args.dry_run:
        for filename, state, _ in rows:
            print(f"{filename}: {state}")
        if not rows:
            print("nothing to apply")
    return 0


def _reason(exc: Exception) -> str:
    return f"{exc.code}: {exc.message}" if isinstance(exc, SqlError) else str(exc)


@contextmanager
def _target(args: argparse.Namespace, data_dir: DataDir) -> Iterator[Target]:
    """The server of `--url`, else the data directory opened here."""
    target: Target
    if args.url:
        if not args.api_key:
            raise CommandError("--url needs --api-key (or BKG_API_KEY): an admin key")
        target = RemoteTarget(args.url, args.api_key)
    else:
        if not data_dir.is_initialised():
            raise CommandError(f"{data_dir.root} is not initialised (run bkgdb init, or --url)")
        target = EmbeddedTarget(data_dir.root)
    try:
        yield target
    finally:
        target.close()


@contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except (MigrationFileError, TargetError, ProjectionError) as exc:
        raise CommandError(str(exc)) from exc
    except SqlError as exc:
        raise CommandError(f"{exc.code}: {exc.message}") from exc
