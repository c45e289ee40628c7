"""`bkgdb sql`, `checkpoint`, `rebuild` and `replay`: the projection from the command line.

`sql` and `checkpoint` open the database (they need the log's writer lock; while a server
holds it, `sql` still answers reads, from checkpoint plus log); `rebuild` needs
only the projection store's lock and reads the log; `replay` reads the log and checkpoints
only, so it also works while a server holds the directory.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from api.auth.principal import Principal
from api.cli.as_user import security_layer, user_principal
from api.cli.command import add_command
from api.cli.output import CommandError, Progress, emit_json, jsonable
from api.database import Database, DatabaseOptions, Result
from api.datadir import DataDir
from api.folds import all_folds
from api.logs import segment_source
from api.sql import SqlEngine
from api.sql.engine import Params
from api.sql.errors import SqlError
from eventlog import KeyRing, LogLockedError, LogReader
from projections.checkpoints import CheckpointStore
from projections.errors import ProjectionError
from projections.export import replay_to_file
from projections.repair import open_store
from projections.replay import Progress as LsnProgress
from projections.timetravel import TimeTravel


def register(subparsers: Any) -> None:
    sql = add_command(subparsers, "sql", run_sql, "run one SQL statement")
    sql.add_argument("statement", help="the SQL statement (Postgres dialect)")
    sql.add_argument("--params", help="parameters as JSON: a list for $1.., an object for :name")
    sql.add_argument("--as-of-lsn", type=int, help="read the state after this LSN")
    sql.add_argument(
        "--as-user", metavar="SUB", help="run as a user token with this sub (RLS applies)"
    )
    sql.add_argument("--namespace", default="public", help="the user's namespace (with --as-user)")
    sql.add_argument("--claims", help="further JWT claims as a JSON object (with --as-user)")
    add_command(subparsers, "checkpoint", run_checkpoint, "take a checkpoint of the projection")
    rebuild = add_command(
        subparsers, "rebuild", run_rebuild, "rebuild the projection from checkpoint and log"
    )
    rebuild.add_argument(
        "--from-scratch", action="store_true", help="ignore checkpoints and replay from LSN 1"
    )
    replay = add_command(subparsers, "replay", run_replay, "write a past state as a SQLite file")
    replay.add_argument("--to-lsn", type=int, required=True, help="state after this LSN")
    replay.add_argument("--out", type=Path, required=True, help="SQLite file to write")
    replay.add_argument(
        "--from-scratch", action="store_true", help="ignore checkpoints and replay from LSN 1"
    )


def run_sql(args: argparse.Namespace, data_dir: DataDir) -> int:
    params = _parse_params(args.params)
    principal = user_principal(args.as_user, args.namespace, args.claims) if args.as_user else None
    with _one_line_errors():
        try:
            with _open(data_dir, principal is not None) as db:
                result = db.execute(
                    args.statement, params, principal=principal, as_of_lsn=args.as_of_lsn
                )
        except LogLockedError as held:
            result = _read_while_held(
                data_dir, held, args.statement, params, args.as_of_lsn, principal
            )
    if args.json:
        emit_json(
            {
                "columns": result.columns,
                "rows": result.rows,
                "rowcount": result.rowcount,
                "lsn": result.lsn,
            }
        )
    else:
        _print_table(result)
    return 0


def run_checkpoint(args: argparse.Namespace, data_dir: DataDir) -> int:
    with _one_line_errors(), _open(data_dir) as db:
        checkpoint = db.checkpoint()
    manifest = checkpoint.manifest
    summary = {"lsn": manifest.lsn, "path": str(checkpoint.path), "sha256": manifest.sha256}
    if args.json:
        emit_json({**summary, "bytes": manifest.size})
    else:
        print(f"Checkpoint at LSN {manifest.lsn}: {checkpoint.path} ({manifest.size} bytes)")
    return 0


def run_rebuild(args: argparse.Namespace, data_dir: DataDir) -> int:
    log, ring = _read_only_log(data_dir)
    progress = _lsn_progress("rebuild", log.head_lsn, not args.json)
    with _one_line_errors():
        store, report = open_store(
            data_dir.projections,
            log,
            CheckpointStore(data_dir.checkpoints),
            ring,
            all_folds(),
            rebuild=True,
            from_scratch=args.from_scratch,
            progress=progress,
        )
        store.close(log)
    summary = {
        "checkpoint_lsn": report.checkpoint_lsn,
        "from_lsn": report.from_lsn,
        "to_lsn": report.to_lsn,
        "records": report.records,
        "seconds": round(report.seconds, 3),
    }
    if args.json:
        emit_json(summary)
    else:
        start = f"checkpoint {report.checkpoint_lsn}" if report.checkpoint_lsn else "LSN 1"
        print(f"Rebuilt to LSN {report.to_lsn} from {start}: {report.records} records replayed.")
    return 0


def run_replay(args: argparse.Namespace, data_dir: DataDir) -> int:
    log, ring = _read_only_log(data_dir)
    progress = _lsn_progress("replay", args.to_lsn, not args.json)
    with _one_line_errors():
        report = replay_to_file(
            log,
            CheckpointStore(data_dir.checkpoints),
            ring,
            all_folds(),
            args.to_lsn,
            args.out,
            from_scratch=args.from_scratch,
            progress=progress,
        )
    if args.json:
        emit_json(
            {
                "lsn": report.lsn,
                "checkpoint_lsn": report.checkpoint_lsn,
                "records": report.records,
                "seconds": round(report.seconds, 3),
                "path": report.path,
            }
        )
    else:
        print(f"Wrote the state at LSN {report.lsn} to {report.path}.")
    return 0


@contextmanager
def _open(data_dir: DataDir, secured: bool = False) -> Iterator[Database]:
    """Open the database of an initialised directory; `secured` installs the security
    layer that non-admin principals need (as the server does)."""
    if not data_dir.is_initialised():
        raise CommandError(f"{data_dir.root} is not initialised (run bkgdb init)")
    if not secured:
        with Database.open(data_dir.root, create=False) as db:
            yield db
        return
    layer = security_layer(data_dir)
    with Database.open(data_dir.root, DatabaseOptions(access=layer), create=False) as db:
        with db.store.snapshot() as snap:
            layer.refresh(snap.conn)
        yield db


def _read_while_held(
    data_dir: DataDir,
    held: LogLockedError,
    sql: str,
    params: Params,
    as_of_lsn: int | None,
    principal: Principal | None = None,
) -> Result:
    """Answer a read while another process (a server) holds the directory: from checkpoint
    plus log, at the log's head or `as_of_lsn`. Writes still need the writer."""
    engine = SqlEngine()
    if engine.is_write(sql):
        raise held  # it names the holder
    log, ring = _read_only_log(data_dir)
    lsn = log.head_lsn if as_of_lsn is None else as_of_lsn
    checkpoints = CheckpointStore(data_dir.checkpoints)
    travel = TimeTravel(log, checkpoints, ring, all_folds(), cache_bytes=0)
    with travel.state_at(lsn) as conn:
        if principal is None:
            outcome = engine.execute(conn, sql, params)
        else:
            layer = security_layer(data_dir, conn)
            conn.set_authorizer(layer.authorizer_for(principal))
            rewrite = layer.rewrite_for(principal)
            outcome = engine.execute(conn, sql, params, principal.default_namespace, rewrite)
    return Result(outcome.columns, outcome.rows, outcome.rowcount, lsn)


def _read_only_log(data_dir: DataDir) -> tuple[LogReader, KeyRing]:
    """The log for reading only, and the key ring checkpoints are verified against."""
    if not data_dir.is_initialised():
        raise CommandError(f"{data_dir.root} is not initialised (run bkgdb init)")
    key = data_dir.signing_key()
    ring = KeyRing({key.key_id: key.public_bytes})
    return LogReader(data_dir.log, segment_source(data_dir)), ring


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one-line command errors."""
    try:
        yield
    except SqlError as exc:
        raise CommandError(f"{exc.code}: {exc.message}") from exc
    except (ProjectionError, sqlite3.Error) as exc:
        raise CommandError(str(exc)) from exc


def _parse_params(text: str | None) -> list[Any] | dict[str, Any] | None:
    if text is None:
        return None
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"--params is not JSON: {exc}") from exc
    if not isinstance(params, list | dict):
        raise CommandError("--params must be a JSON list or object")
    return params


def _lsn_progress(label: str, target: int, enabled: bool) -> LsnProgress:
    """A progress bar (on a terminal) fed with the last LSN applied."""
    bar = Progress(label, enabled=None if enabled else False, unit="LSNs")

    def report(lsn: int) -> None:
        bar(lsn, target)
        if lsn >= target:
            bar.done()

    return report


def _print_table(result: Result) -> None:
    """Rows as aligned text columns, then the row count and LSN."""
    if result.columns:
        cells = [[_cell(v) for v in row] for row in result.rows]
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(result.columns)]
        print(" | ".join(c.ljust(w) for c, w in zip(result.columns, widths, strict=True)))
        print("-+-".join("-" * w for w in widths))
        for row in cells:
            print(" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    print(f"({result.rowcount} rows, LSN {result.lsn})")


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return value
    return json.dumps(jsonable(value))
