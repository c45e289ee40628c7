"""Commands over the log's consumers: `audit export` and `audit verify`.

Both are read-only towards the log and work while a server holds the data directory. When
no server writes the audit trail, `audit export` first brings the trail up to the log's head.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from api.cli.output import CommandError, emit_json
from api.datadir import DataDir
from eventlog import LogReader
from projections.consumers.audit import AuditTrail
from projections.consumers.audit_verify import (
    AuditFilter,
    export_trail,
    log_key_ring,
    verify_audit_file,
)
from projections.consumers.errors import AuditError, AuditVerifyError
from projections.consumers.runner import catch_up


def register(subparsers: Any) -> None:
    from api.cli import add_command

    audit = add_command(subparsers, "audit", run_audit, "export or verify the signed audit trail")
    audit.add_argument("action", choices=["export", "verify"])
    audit.add_argument("file", nargs="?", type=Path, help="verify: the JSON Lines file to check")
    audit.add_argument("--from-lsn", type=int, help="export: first LSN")
    audit.add_argument("--to-lsn", type=int, help="export: last LSN")
    audit.add_argument("--actor", help="export: only this actor's events")
    audit.add_argument("--table", help="export: only events touching this table (ns.table)")
    audit.add_argument("--out", type=Path, help="export: where to write (JSON Lines + .sig)")


def run_audit(args: argparse.Namespace, data_dir: DataDir) -> int:
    if args.action == "export":
        return _export(args, data_dir)
    return _verify(args, data_dir)


def _export(args: argparse.Namespace, data_dir: DataDir) -> int:
    if args.out is None:
        raise CommandError("audit export needs --out FILE")
    caught_up = _catch_up_trail(data_dir)
    selection = AuditFilter(args.from_lsn, args.to_lsn, args.actor, args.table)
    lines = export_trail(data_dir.audit, args.out, selection, data_dir.signing_key())
    result = {"out": str(args.out), "lines": lines, "trail_caught_up_to": caught_up}
    if args.json:
        emit_json(result)
    else:
        print(f"exported {lines} audit lines to {args.out} (sealed in {args.out}.sig)")
    return 0


def _catch_up_trail(data_dir: DataDir) -> int | None:
    """Write the trail up to the log's head unless a server is writing it (then None)."""
    try:
        trail = AuditTrail(data_dir.audit, data_dir.signing_key)
    except AuditError:
        return None
    try:
        return asyncio.run(catch_up(trail, LogReader(data_dir.log), trail))
    finally:
        trail.close()


def _verify(args: argparse.Namespace, data_dir: DataDir) -> int:
    if args.file is None:
        raise CommandError("audit verify needs a FILE")
    reader = LogReader(data_dir.log)
    try:
        report = verify_audit_file(args.file, reader, log_key_ring(reader))
    except AuditVerifyError as exc:
        raise CommandError(f"{args.file}: {exc}") from exc
    if args.json:
        emit_json({"ok": True, **vars(report)})
    else:
        seal = "sealed" if report.sealed else "unsealed"
        print(
            f"{args.file}: OK, {report.lines} lines ({seal}), "
            f"LSN {report.first_lsn}..{report.last_lsn} match the log"
        )
    return 0
