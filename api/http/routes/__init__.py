"""The route handlers, one module per area of the API."""

from __future__ import annotations

from api.http.routes import audit, auth, migrate, ops, policy, query

HANDLERS = [
    query.query,
    query.schema,
    auth.token,
    auth.create_key,
    auth.list_keys,
    auth.revoke_key,
    auth.rotate_key,
    auth.jwks,
    policy.list_policies,
    policy.create_policy,
    policy.drop_policy,
    ops.healthz,
    ops.metrics,
    ops.openapi,
    audit.audit_trail,
    audit.verify_audit,
    migrate.apply_migration,
    migrate.migration_status,
]
REPLICA_HANDLERS = [query.query, query.schema, ops.healthz, ops.metrics, ops.openapi]
