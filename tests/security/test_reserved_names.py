"""One rule for namespace names: CREATE SCHEMA, API keys, JWT `ns`, policies and the CLI
accept exactly the same names, and none of the reserved ones (`storage`, `auth`, `pg_*`, ...),
so no namespace key can ever write a policy on `storage.objects` and open other tenants'
files."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.auth.apikeys import validate_key_spec
from api.auth.errors import KeySpecError, UnauthorizedError
from api.auth.keyfiles import load_jwt_secret
from api.auth.tokens import TokenConfig, TokenService
from api.database import Database
from api.rls.errors import PolicyError
from api.rls.policy import parse_policy
from api.sql import SqlError
from api.sql.names import RESERVED_NAMESPACES, is_namespace
from tests.http.conftest import Api, bearer, make_data_dir, open_api

RESERVED = [*sorted(RESERVED_NAMESPACES), "pg_x", "pg_catalog", "sqlite_x", "_bkg_x", "bkg_x"]
MALFORMED = ['"Bad Name"', '"x-y"', '"a.b"', '"' + "a" * 64 + '"', '"1abc"']


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from open_api(make_data_dir(tmp_path))


@pytest.mark.parametrize("name", [*RESERVED, *MALFORMED])
def test_create_schema_of_a_reserved_or_malformed_name_is_refused(api: Api, name: str) -> None:
    head = api.head
    response = api.query(f"CREATE SCHEMA {name}")
    assert response.status_code in (400, 403, 413, 422), response.text
    assert api.head == head
    if response.status_code == 413:  # over 63 bytes: refused by the identifier limit first
        assert response.json()["error"]["detail"]["limit"] == "max_identifier_bytes"
    if response.status_code == 422:
        assert "unacceptable schema name" in response.json()["error"]["message"]


@pytest.mark.parametrize("name", [*RESERVED, "Shop", "a b", "shop\n", "", "x" * 64])
def test_no_key_is_issued_for_a_reserved_or_malformed_namespace(api: Api, name: str) -> None:
    head = api.head
    response = api.client.post(
        "/auth/keys", json={"scope": "namespace", "namespace": name}, headers=bearer(api.admin_key)
    )
    assert response.status_code == 422, response.text
    token = api.client.post(
        "/auth/token", json={"sub": "u1", "ns": name}, headers=bearer(api.admin_key)
    )
    assert token.status_code == 422, token.text
    assert api.head == head


@pytest.mark.parametrize("name", ["storage", "auth", "pg_x"])
def test_a_token_naming_a_reserved_namespace_does_not_verify(api: Api, name: str) -> None:
    now = int(time.time())
    claims = {"sub": "u1", "role": "user", "ns": name, "iat": now, "exp": now + 60}
    token = jwt.encode(claims, load_jwt_secret(api.backend.db.data.keys), algorithm="HS256")
    assert api.query("SELECT 1", token).status_code == 401


def test_object_policies_are_admin_only(api: Api) -> None:
    """`storage.objects` spans every namespace's buckets: a namespace key may not write or
    drop policies on it, and no namespace key exists whose namespace is `storage`."""
    api.ok("CREATE SCHEMA shop")
    key = api.create_key("namespace", "shop")["key"]
    policy = {
        "name": "open",
        "table": "storage.objects",
        "actions": ["select"],
        "using": "true",
    }
    head = api.head
    refused = api.client.post("/policy", json=policy, headers=bearer(key))
    assert refused.status_code == 403, refused.text
    assert api.client.delete("/policy/x?namespace=storage", headers=bearer(key)).status_code == 403
    assert api.head == head
    api.add_policy(policy)
    for table in ("storage.buckets", "auth.users", "pg_x.t", "realtime.messages"):
        bad = api.client.post("/policy", json={**policy, "table": table}, headers=bearer(key))
        assert bad.status_code in (403, 422), bad.text
        by_admin = api.client.post(
            "/policy", json={**policy, "table": table}, headers=bearer(api.admin_key)
        )
        assert by_admin.status_code == 422, by_admin.text


def test_an_object_policy_never_opens_another_namespaces_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a policy that lets every object through (admin-written) shows a user only the
    buckets of its own namespace."""
    monkeypatch.setenv("BKG_ARCHIVE", "off")
    for api in open_api(make_data_dir(tmp_path)):
        for ns in ("shop", "other"):
            api.ok(f"CREATE SCHEMA {ns}")
        key = api.create_key("namespace", "shop")["key"]
        made = api.client.post("/storage/buckets", json={"name": "vault"}, headers=bearer(key))
        assert made.status_code == 201, made.text
        stored = api.client.put("/storage/objects/vault/a.txt", content=b"x", headers=bearer(key))
        assert stored.status_code == 200, stored.text
        api.add_policy(
            {"name": "all", "table": "storage.objects", "actions": ["select"], "using": "true"}
        )
        insider, outsider = api.user_token("u1", "shop"), api.user_token("u1", "other")
        assert api.client.get("/storage/objects/vault/a.txt", headers=bearer(insider)).content
        got = api.client.get("/storage/objects/vault/a.txt", headers=bearer(outsider))
        assert got.status_code == 404


NAMES = st.one_of(
    st.sampled_from([*RESERVED, "public", "shop", "pg", "storage2", "_x", "bkgx"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-. ", min_size=1, max_size=66),
    st.builds(
        lambda prefix, rest: prefix + rest,
        st.sampled_from(["pg_", "sqlite_", "_bkg", "bkg_", "a"]),
        st.text(alphabet="abz09_", max_size=6),
    ),
)


TOKENS = TokenService(TokenConfig(secret=b"s" * 32))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    opened = Database.open(make_data_dir(tmp_path_factory.mktemp("names")))
    yield opened
    opened.close()


def _accepted(check: object) -> bool:
    try:
        check()  # type: ignore[operator]
    except (SqlError, KeySpecError, UnauthorizedError, PolicyError):
        return False
    return True


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(NAMES)
def test_every_door_accepts_the_same_namespace_names(db: Database, name: str) -> None:
    """CREATE SCHEMA, key issuance, a token's `ns` and a policy's table agree on every name."""
    quoted = name.replace('"', '""')
    doors = {
        "schema": _accepted(lambda: db.execute(f'CREATE SCHEMA IF NOT EXISTS "{quoted}"')),
        "key": _accepted(lambda: validate_key_spec("namespace", name, None)),
        "token": _accepted(lambda: TOKENS.mint("u1", "user", name)),
        "policy": _accepted(
            lambda: parse_policy(
                {"name": "p", "table": f"{name}.t", "actions": ["select"], "using": "true"}
            )
        ),
    }
    assert set(doors.values()) == {is_namespace(name)}, doors


def test_a_log_written_before_the_rule_still_replays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule refuses new schemas; a schema `auth` recorded by an older server is rebuilt
    from the log like any other (replay applies what the log says, it does not re-plan)."""
    root = make_data_dir(tmp_path)
    db = Database.open(root)
    with monkeypatch.context() as old_server:
        old_server.setattr("api.sql.ddl.namespace_problem", lambda name: None)
        db.execute("CREATE SCHEMA auth")
        db.execute("CREATE TABLE auth.t (id INTEGER PRIMARY KEY)")
        db.execute("INSERT INTO auth.t (id) VALUES (1)")
    db.close()
    for derived in ("projections", "checkpoints"):
        shutil.rmtree(root / derived)
    rebuilt = Database.open(root)
    try:
        assert rebuilt.execute("SELECT id FROM auth.t").rows == [[1]]
        with pytest.raises(SqlError, match="unacceptable schema name"):
            rebuilt.execute("CREATE SCHEMA realtime")
    finally:
        rebuilt.close()
