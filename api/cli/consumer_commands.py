"""Commands over the log's consumers: `consumers`, `audit export|verify|sign-keyless` and
`replica`.

The audit commands are read-only towards the log and work while a server holds the data
directory; when no server writes the audit trail, `audit export` first brings the trail up
to the log's head. `audit sign-keyless` adds sigstore bundles to closed files' seals (see
`projections.consumers.audit_keyless`); it needs an OIDC identity and the network.
`replica` builds a projection from a Kafka mirror's `bkg.log`, verifying every record, and
can answer a SELECT from it with the LSN it reflects, or serve reads over HTTP (`--serve`,
see `api.cli.replica_serve`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
from typing import Any

from api.cli.command import add_command
from api.cli.output import CommandError, emit_json
from api.cli.replica_serve import add_serve_arguments, serve_replica, serve_store
from api.datadir import DataDir
from api.logs import segment_source
from api.sql import SqlEngine
from eventlog import LogReader
from eventlog.keyless import require_identity
from eventlog.verify import KeylessPolicy
from projections.checkpoints import Checkpoint, CheckpointManifest
from projections.consumers.audit import AuditTrail
from projections.consumers.audit_files import seal_path
from projections.consumers.audit_keyless import pending_files, sign_files
from projections.consumers.audit_verify import (
    AuditFilter,
    AuditReport,
    export_trail,
    log_key_ring,
    trail_lines,
    verify_audit_file,
    verify_trail,
)
from projections.consumers.cursor import CursorFile
from projections.consumers.errors import (
    AuditError,
    AuditVerifyError,
    ConsumerError,
    StreamVerifyError,
)
from projections.consumers.kafka_mirror import BOOTSTRAP_ENV
from projections.consumers.replica import KafkaReplica
from projections.consumers.runner import catch_up
from projections.errors import ProjectionError


def register(subparsers: Any) -> None:
    audit = add_command(
        subparsers, "audit", run_audit, "export, verify or keyless-sign the signed audit trail"
    )
    audit.add_argument("action", choices=["export", "verify", "sign-keyless"])
    audit.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="verify: a JSON Lines file, or the trail's directory; "
        "sign-keyless: a sealed file, or a trail directory (default: DATA_DIR/audit)",
    )
    audit.add_argument("--from-lsn", type=int, help="export: first LSN")
    audit.add_argument("--to-lsn", type=int, help="export: last LSN")
    audit.add_argument("--actor", help="export: only this actor's events")
    audit.add_argument("--table", help="export: only events touching this table (ns.table)")
    audit.add_argument("--out", type=Path, help="export: where to write (JSON Lines + .sig)")
    audit.add_argument("--sigstore-identity", help="verify: required signer of sigstore bundles")
    audit.add_argument("--sigstore-issuer", help="verify: that signer's OIDC issuer")
    add_command(subparsers, "consumers", run_consumers, "positions and lag of the log's consumers")
    replica = add_command(
        subparsers, "replica", run_replica, "follow a Kafka mirror's bkg.log into a read replica"
    )
    replica.add_argument(
        "--kafka-bootstrap",
        default=os.environ.get(BOOTSTRAP_ENV),
        help="the mirror's Kafka cluster (default: $BKG_KAFKA_BOOTSTRAP)",
    )
    replica.add_argument("--store", type=Path, help="default: DATA_DIR/projections/replica.sqlite")
    replica.add_argument(
        "--from-checkpoint",
        type=Path,
        help="seed a new replica with a checkpoint of the primary (its .sqlite or .manifest)",
    )
    replica.add_argument(
        "--history-records",
        type=int,
        help="keep only the newest N applied records for /realtime resume (default: all)",
    )
    replica.add_argument("--until-lsn", type=int, help="stop once this LSN is applied")
    replica.add_argument("--idle-timeout", type=float, help="stop after this many idle seconds")
    replica.add_argument("--query", help="then run this SELECT on the replica and print it")
    add_serve_arguments(replica)


def run_audit(args: argparse.Namespace, data_dir: DataDir) -> int:
    if args.action == "export":
        return _export(args, data_dir)
    if args.action == "sign-keyless":
        return _sign_keyless(args, data_dir)
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
        reader = LogReader(data_dir.log, segment_source(data_dir))
        return asyncio.run(catch_up(trail, reader, trail))
    finally:
        trail.close()


def _verify(args: argparse.Namespace, data_dir: DataDir) -> int:
    if args.file is None:
        raise CommandError("audit verify needs a FILE (or the audit directory)")
    reader = LogReader(data_dir.log, segment_source(data_dir))
    keyless = KeylessPolicy(args.sigstore_identity, args.sigstore_issuer)
    try:
        ring = log_key_ring(reader)
        if args.file.is_dir():
            reports = verify_trail(args.file, reader, ring, keyless)
        else:
            reports = [verify_audit_file(args.file, reader, ring, keyless)]
    except AuditVerifyError as exc:
        raise CommandError(f"{args.file}: {exc}") from exc
    if args.json:
        emit_json({"ok": True, "files": [vars(report) for report in reports]})
        return 0
    for report in reports:
        print(
            f"{report.path}: OK, {report.lines} lines ({_sealing(report)}), "
            f"LSN {report.first_lsn}..{report.last_lsn} match the log"
        )
        if report.keyless == "unchecked":
            print(f"{report.path}: sigstore {'; '.join(report.notes)}")
    return 0


def _sealing(report: AuditReport) -> str:
    if not report.sealed:
        return "unsealed"
    if report.keyless is None:
        return "sealed"
    return f"sealed, sigstore bundle {report.keyless}"


def _sign_keyless(args: argparse.Namespace, data_dir: DataDir) -> int:
    """Sign the seals of closed files that have no bundle yet (after verifying them)."""
    token = require_identity()
    target = args.file or data_dir.audit
    if not target.exists():
        raise CommandError(f"{target} does not exist")
    if target.is_file() and not seal_path(target).exists():
        raise CommandError(f"{target} has no seal: only closed, sealed files are signed")
    files = pending_files(target)
    reader = LogReader(data_dir.log, segment_source(data_dir))
    try:
        written = sign_files(files, reader, log_key_ring(reader), token)
    except AuditVerifyError as exc:
        raise CommandError(f"not signing: {exc}") from exc
    if args.json:
        emit_json({"bundles": [str(path) for path in written]})
    else:
        print(f"signed {len(written)} sealed audit file(s) keyless with sigstore")
    return 0


def run_consumers(args: argparse.Namespace, data_dir: DataDir) -> int:
    """Where each consumer stands against the log's head (read-only; works beside a server)."""
    head = LogReader(data_dir.log).head_lsn
    positions = {
        path.stem: CursorFile(path.parent, path.stem).load() for path in _cursors(data_dir)
    }
    lines = list(trail_lines(data_dir.audit))
    positions["audit"] = int(lines[-1]["lsn"]) if lines else 0
    rows = [
        {"consumer": name, "cursor_lsn": lsn, "head_lsn": head, "lag": max(head - lsn, 0)}
        for name, lsn in sorted(positions.items())
    ]
    if args.json:
        emit_json({"head_lsn": head, "consumers": rows})
        return 0
    for row in rows:
        print(f"{row['consumer']:<16} cursor {row['cursor_lsn']:>10}  lag {row['lag']:>10}")
    return 0


def _cursors(data_dir: DataDir) -> list[Path]:
    if not data_dir.consumers.is_dir():
        return []
    return sorted(data_dir.consumers.glob("*.cursor"))


def run_replica(args: argparse.Namespace, data_dir: DataDir) -> int:
    from aiokafka.errors import KafkaError

    from api.folds import all_folds
    from api.sql.errors import SqlError

    if not args.kafka_bootstrap:
        raise CommandError("replica needs --kafka-bootstrap or BKG_KAFKA_BOOTSTRAP")
    default_store = serve_store(data_dir) if args.serve else data_dir.projections / "replica.sqlite"
    store = args.store or default_store
    seed = _checkpoint(args.from_checkpoint) if args.from_checkpoint else None
    if args.history_records is not None and args.history_records < 0:
        raise CommandError("--history-records must be 0 or more")
    try:
        replica = KafkaReplica(store, args.kafka_bootstrap, all_folds(), seed, args.history_records)
    except ConsumerError as exc:
        raise CommandError(str(exc)) from exc
    try:
        if args.serve:
            return serve_replica(args, data_dir, replica, seed.lsn if seed else None)
        applied = replica.follow_sync(args.until_lsn, args.idle_timeout)
        result: dict[str, Any] = {"store": str(store), "applied_lsn": applied}
        if args.query:
            result.update(_replica_query(replica, args.query))
    except StreamVerifyError as exc:
        raise CommandError(f"bkg.log fails verification at LSN {exc.lsn}: {exc}") from exc
    except (KafkaError, SqlError, ProjectionError) as exc:
        raise CommandError(str(exc)) from exc
    finally:
        replica.close()
    if args.json:
        emit_json(result)
    else:
        print(json.dumps(result, default=str))
    return 0


def _checkpoint(path: Path) -> Checkpoint:
    """A checkpoint named by either of its files."""
    manifest = path.with_suffix(".manifest")
    try:
        return Checkpoint(
            CheckpointManifest.from_json(manifest.read_bytes()), path.with_suffix(".sqlite")
        )
    except (OSError, ValueError, TypeError) as exc:
        raise CommandError(f"cannot read checkpoint manifest {manifest}: {exc}") from exc


def _replica_query(replica: KafkaReplica, sql: str) -> dict[str, Any]:
    """A read on the replica's store through the same SQL layer as the primary's."""
    engine = SqlEngine()
    if engine.is_write(sql, "public"):
        raise CommandError("a replica is read-only: writes go to the primary")
    conn = replica.connect_readonly()
    try:
        outcome = engine.execute(conn, sql)
    finally:
        conn.close()
    return {"columns": outcome.columns, "rows": outcome.rows, "lsn": replica.applied_lsn}
