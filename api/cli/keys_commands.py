"""`bkgdb keys create|list|revoke`: API keys from the command line.

Keys are "auth" events in the log. `list` folds them from the log with a read-only reader, so
it works while a server holds the directory; `create` and `revoke` append, so they need the
log's writer lock and say who holds it when a server runs (use `/auth/keys` then).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from api.auth.apikeys import SCOPES, new_api_key
from api.auth.errors import AuthError
from api.auth.registry import KeyRegistry, KeyState, key_info, revoke_event
from api.cli.command import add_command
from api.cli.output import CommandError, emit_json
from api.datadir import DataDir
from api.logs import open_log, segment_source
from eventlog import Entry, LogReader

ACTOR = "cli"


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser("keys", help="create, list and revoke API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = add_command(actions, "create", run_create, "create an API key (shown once)")
    create.add_argument("--scope", choices=SCOPES, required=True)
    create.add_argument("--namespace", help="the namespace of a namespace key")
    create.add_argument("--name", help="a label to recognise the key by")
    create.add_argument("--ttl-seconds", type=int, help="lifetime (default: no expiry)")
    add_command(actions, "list", run_list, "list API keys (never their secrets)")
    revoke = add_command(actions, "revoke", run_revoke, "revoke an API key at once")
    revoke.add_argument("key_id", help="the id shown by `keys list`")


def run_create(args: argparse.Namespace, data_dir: DataDir) -> int:
    try:
        plaintext, record = new_api_key(
            args.scope, args.namespace, args.name, args.ttl_seconds, time.time()
        )
    except AuthError as exc:
        raise CommandError(str(exc)) from exc
    lsn = _append(data_dir, record.to_event_payload())
    if args.json:
        emit_json({**key_info(KeyState(record), time.time()), "key": plaintext, "lsn": lsn})
    else:
        print(f"Created {record.scope} key {record.id} (LSN {lsn}); shown only this once:")
        print(f"  {plaintext}")
    return 0


def run_list(args: argparse.Namespace, data_dir: DataDir) -> int:
    now = time.time()
    infos = [key_info(state, now) for state in _registry(data_dir).states()]
    if args.json:
        emit_json({"keys": infos})
        return 0
    for info in infos:
        status = "active" if info["active"] else "inactive"
        print(
            f"{info['id']}  {info['prefix']}…  {info['scope']:<9}  {info['namespace'] or '-':<12}"
            f"  {status:<8}  {info['name'] or ''}"
        )
    return 0


def run_revoke(args: argparse.Namespace, data_dir: DataDir) -> int:
    state = _registry(data_dir).get(args.key_id)
    if state is None:
        raise CommandError(f"no key with id {args.key_id}")
    if state.revoked_at is not None:
        raise CommandError(f"key {args.key_id} is already revoked")
    now = time.time()
    lsn = _append(data_dir, revoke_event(args.key_id, now))
    if args.json:
        emit_json({"id": args.key_id, "revoked_at": now, "lsn": lsn})
    else:
        print(f"Revoked key {args.key_id} (LSN {lsn}).")
    return 0


def _registry(data_dir: DataDir) -> KeyRegistry:
    """The keys as the log says, folded with a read-only reader."""
    if not data_dir.is_initialised():
        raise CommandError(f"{data_dir.root} is not an initialised data directory")
    registry = KeyRegistry()
    for record in LogReader(data_dir.log, segment_source(data_dir)).read():
        if record.kind == "auth" and isinstance(record.payload, dict):
            registry.apply(record.payload)
    return registry


def _append(data_dir: DataDir, payload: dict[str, Any]) -> int:
    """Append one auth event (takes the writer lock; LogLockedError names the holder)."""
    if not data_dir.is_initialised():
        raise CommandError(f"{data_dir.root} is not an initialised data directory")
    with open_log(data_dir) as log:
        return log.append(Entry("auth", payload, actor=ACTOR))
