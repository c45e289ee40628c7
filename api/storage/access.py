"""Who may do what to which object: namespaces first, then object policies.

Buckets belong to a namespace. An admin may touch every bucket; a namespace key the
buckets of its namespace, bypassing policies (as it bypasses RLS); a user only objects of
its namespace's buckets that an object policy lets through. Object policies are `/policy`
entries on table `storage.objects`, Postgres-like and permissive: a predicate over the
object's `bucket`, `name`, `owner`, `metadata` (JSON text) and `namespace`, with
`auth.uid()` and `auth.jwt() ->> 'claim'`, e.g. users write under their own folder:

    {"name": "own folder", "table": "storage.objects", "actions": ["insert", "select"],
     "using": "starts_with(name, auth.uid() || '/')",
     "check": "starts_with(name, auth.uid() || '/')"}

(Never put an identity inside a LIKE pattern: `_` and `%` in it are wildcards.)

Actions: `select` (download, list, sign a GET), `insert` (create), `update` (replace: the
old object must pass `using`, the new one `check`), `delete`. A public bucket lets anyone,
even without a token, download its objects.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from sqlglot import exp

from api.auth.principal import Principal
from api.rls.policy import OBJECT_POLICY_TABLE, PolicySet
from api.rls.predicates import bind_predicate
from api.sql.translate import generate
from api.storage.errors import ForbiddenError, NotFoundError
from api.storage.meta import Bucket

POLICY_TABLE = OBJECT_POLICY_TABLE
COLUMNS = ("bucket", "name", "owner", "metadata", "namespace")


def owner_id(principal: Principal) -> str:
    """What an object records as its owner: the JWT subject, else the principal id."""
    return principal.sub or principal.id


def check_bucket(principal: Principal | None, bucket: Bucket | None, name: str) -> Bucket:
    """The bucket if the principal may see it at all; otherwise not found, so that one
    namespace cannot learn about another's buckets."""
    if bucket is None:
        raise NotFoundError(f"no bucket {name!r}")
    if principal is None:
        if bucket.public:
            return bucket
        raise NotFoundError(f"no bucket {name!r}")
    if principal.kind != "admin" and bucket.namespace != principal.default_namespace:
        raise NotFoundError(f"no bucket {name!r}")
    return bucket


def object_row(
    bucket: Bucket, name: str, owner: str, metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """The row a policy predicate sees for an object."""
    return policy_row(bucket.name, bucket.namespace, name, owner, metadata)


def policy_row(
    bucket: str, namespace: str, name: str, owner: str, metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """`object_row` from the bare facts (as a storage event in the log has them)."""
    return {
        "bucket": bucket,
        "name": name,
        "owner": owner,
        "metadata": json.dumps(dict(metadata), sort_keys=True),
        "namespace": namespace,
    }


def allowed(
    conn: sqlite3.Connection,
    policies: PolicySet,
    principal: Principal | None,
    action: str,
    row: Mapping[str, Any],
    use_check: bool = False,
) -> bool:
    """Whether the principal may do `action` to the object described by `row` (already
    known to be in a bucket it can see). `use_check` evaluates the policies' write check
    (new objects) instead of `using`."""
    if principal is None:
        return False
    if principal.bypasses_rls:
        return True
    predicates = []
    for policy in policies.applicable(POLICY_TABLE, action, principal.kind):
        predicate = policy.write_check() if use_check else policy.using_expr
        if predicate is not None:
            predicates.append(exp.paren(bind_predicate(predicate, principal.sub, principal.claims)))
    if not predicates:
        return False
    image = exp.select(
        *[exp.alias_(exp.Placeholder(this=c), c, quoted=True) for c in COLUMNS]
    ).subquery("objects")
    sql = generate(exp.select("1").from_(image).where(exp.or_(*predicates)))
    params = {c: row[c] for c in COLUMNS}
    return conn.execute(sql, params).fetchone() is not None


def require(
    conn: sqlite3.Connection,
    policies: PolicySet,
    principal: Principal | None,
    action: str,
    row: Mapping[str, Any],
    use_check: bool = False,
) -> None:
    """`allowed`, or `ForbiddenError` naming the action and object."""
    if not allowed(conn, policies, principal, action, row, use_check):
        raise ForbiddenError(f"{action} of {row['bucket']}/{row['name']} is not allowed")
