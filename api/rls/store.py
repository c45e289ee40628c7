"""Policies as a projection: "policy" records folded into ``_bkg_policies``.

Like keys (``api.auth.store``), policies are rebuilt from the log with everything else; the
stored document is re-validated when loaded, so a policy can never be looser than the
validator allows, whatever the table holds.
"""

from __future__ import annotations

import json
import logging
import sqlite3

from api.auth.store import bump_version
from api.rls.errors import PolicyError
from api.rls.policy import POLICY_CREATED, POLICY_DROPPED, PolicySet, parse_policy
from projections.folds import Event

POLICIES_TABLE = "_bkg_policies"
logger = logging.getLogger(__name__)


def ensure_table(conn: sqlite3.Connection) -> None:
    """Create the policy table if missing (idempotent)."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {POLICIES_TABLE} (namespace TEXT NOT NULL,"
        " name TEXT NOT NULL, document TEXT NOT NULL, PRIMARY KEY (namespace, name))"
    )


def fold_policy(conn: sqlite3.Connection, event: Event) -> None:
    """Fold one "policy" record: create/replace or drop a policy."""
    ensure_table(conn)
    payload = event.payload
    if payload.get("type") == POLICY_CREATED:
        policy = parse_policy(payload["policy"])
        document = json.dumps(policy.to_json(), sort_keys=True)
        conn.execute(
            f"INSERT OR REPLACE INTO {POLICIES_TABLE} (namespace, name, document) VALUES (?, ?, ?)",
            (policy.namespace, policy.name, document),
        )
    elif payload.get("type") == POLICY_DROPPED:
        conn.execute(
            f"DELETE FROM {POLICIES_TABLE} WHERE namespace = ? AND name = ?",
            (payload["namespace"], payload["name"]),
        )
    else:
        return
    bump_version(conn, "policies")


def load_policies(conn: sqlite3.Connection) -> PolicySet:
    """The policy set as the projection holds it. A stored policy the validator now refuses
    is left out (its table then shows fewer rows, never more) and logged."""
    try:
        rows = conn.execute(f"SELECT namespace, name, document FROM {POLICIES_TABLE}").fetchall()
    except sqlite3.OperationalError:
        return PolicySet()
    policies = []
    for namespace, name, document in rows:
        try:
            policies.append(parse_policy(json.loads(document)))
        except PolicyError as exc:
            logger.warning("policy %s.%s is not loaded: %s", namespace, name, exc)
    return PolicySet(policies)
