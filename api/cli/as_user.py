"""`bkgdb sql --as-user SUB`: try statements under the rules a user's token would get.

The statement runs through the same security layer as `/query`: the namespace and
row-level-security rewrite and the SQLite authorizer, with the policies folded into the
projection. No token is minted; the principal is built here as the token would carry it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from api.auth.keyfiles import load_jwt_secret
from api.auth.principal import Principal
from api.auth.principal import user_principal as token_user
from api.auth.tokens import TokenConfig, TokenService
from api.cli.output import CommandError
from api.datadir import DataDir
from api.rls.access import SecurityLayer
from api.sql.names import namespace_problem


def user_principal(sub: str, namespace: str, claims_json: str | None) -> Principal:
    """The principal a user JWT with these claims resolves to (the namespace must be one a
    token could name)."""
    problem = namespace_problem(namespace)
    if problem is not None:
        raise CommandError(f"--namespace: {problem}", exit_code=2)
    try:
        extra = json.loads(claims_json) if claims_json else {}
    except ValueError as exc:
        raise CommandError(f"--claims is not valid JSON: {exc}", exit_code=2) from exc
    if not isinstance(extra, dict):
        raise CommandError("--claims must be a JSON object", exit_code=2)
    claims: dict[str, Any] = {**extra, "sub": sub, "role": "user", "ns": namespace}
    return token_user(sub, namespace, claims)


def security_layer(data_dir: DataDir, conn: sqlite3.Connection | None = None) -> SecurityLayer:
    """The directory's security layer, with keys and policies loaded from `conn` if given
    (else call `refresh` once a projection connection exists)."""
    layer = SecurityLayer(TokenService(TokenConfig(secret=load_jwt_secret(data_dir.keys))))
    if conn is not None:
        layer.refresh(conn)
    return layer
