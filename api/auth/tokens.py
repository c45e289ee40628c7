"""JSON Web Tokens: minting and verification (pyjwt).

HS256 with the project secret is the default. Tokens may also be signed with an Ed25519 key
(``alg: EdDSA``) whose public half is published as a JWKS document, so other services verify
bkg-db tokens without the shared secret.

Verification is strict by construction: the algorithm is taken from an allow-list *before*
any key is chosen, and each algorithm has exactly one key type — the HMAC secret for HS256,
an Ed25519 public key looked up by ``kid`` for EdDSA. ``alg: none``, RS/ES tokens and an HS256
token "signed" with a published public key (algorithm confusion) therefore never verify.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from jwt.types import Options

from api.auth.errors import KeyFileError, KeySpecError, UnauthorizedError
from api.auth.keyfiles import key_id_of
from api.sql.names import is_namespace

HS256 = "HS256"
EDDSA = "EdDSA"
ROLES = ("admin", "user", "authenticated")
USER_ROLES = ("user", "authenticated")
"""`authenticated` is GoTrue's name for a signed-in user (the tokens `/auth/v1` issues)."""
SESSION_AUDIENCE = "authenticated"
"""The `aud` of tokens `/auth/v1` issues when no `--jwt-audience` is configured (GoTrue's)."""
KEY_CLAIM = "bkg_key"
"""Claim naming the API key a token was minted from; such a token dies with its key."""
RESERVED_CLAIMS = frozenset(
    {"sub", "role", "ns", "exp", "iat", "nbf", "iss", "aud", "jti", KEY_CLAIM}
)
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class TokenConfig:
    """How tokens are minted and checked.

    ``issuer``/``audience`` are stamped on minted tokens and required on verified ones when
    set; ``leeway_s`` absorbs clock skew for ``exp``/``nbf``/``iat``.
    """

    secret: bytes
    signing_key: Ed25519PrivateKey | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway_s: float = 0.0
    default_ttl_s: int = 3600
    extra_public_keys: Mapping[str, Any] = field(default_factory=dict)


class TokenService:
    """Mints and verifies the JWTs of one project."""

    def __init__(self, config: TokenConfig) -> None:
        if len(config.secret) < MIN_SECRET_BYTES:
            raise KeyFileError(f"the JWT secret must have at least {MIN_SECRET_BYTES} bytes")
        self._config = config
        self._public_keys: dict[str, Any] = dict(config.extra_public_keys)
        self._kid: str | None = None
        if config.signing_key is not None:
            self._kid = key_id_of(config.signing_key.public_key())
            self._public_keys[self._kid] = config.signing_key.public_key()

    def mint(
        self,
        sub: str,
        role: str,
        ns: str | None,
        ttl: int | None = None,
        claims: Mapping[str, Any] | None = None,
        *,
        algorithm: str = HS256,
        now_s: float | None = None,
        key_id: str | None = None,
    ) -> str:
        """A signed token for ``sub``; extra ``claims`` may not override the reserved ones.
        ``key_id`` names the API key the token is derived from (it then verifies only while
        that key is active). A request for a token that could not verify is
        :class:`KeySpecError` (422)."""
        extra = dict(claims or {})
        clash = RESERVED_CLAIMS.intersection(extra)
        if clash:
            raise KeySpecError(f"claims may not set reserved names: {', '.join(sorted(clash))}")
        try:
            _check_identity(sub, role, ns)
        except UnauthorizedError as exc:
            raise KeySpecError(str(exc)) from exc
        now = int(time.time() if now_s is None else now_s)
        payload: dict[str, Any] = {**extra, "sub": sub, "role": role, "iat": now}
        payload["exp"] = now + (self._config.default_ttl_s if ttl is None else ttl)
        if ns is not None:
            payload["ns"] = ns
        if key_id is not None:
            payload[KEY_CLAIM] = key_id
        if self._config.issuer is not None:
            payload["iss"] = self._config.issuer
        if self._config.audience is not None or role == "authenticated":
            payload["aud"] = self._config.audience or SESSION_AUDIENCE
        if algorithm == HS256:
            return jwt.encode(payload, self._config.secret, algorithm=HS256)
        if algorithm == EDDSA and self._config.signing_key is not None:
            headers = {"kid": self._kid}
            return jwt.encode(payload, self._config.signing_key, algorithm=EDDSA, headers=headers)
        raise KeySpecError(f"cannot mint tokens with algorithm {algorithm!r}")

    def verify(self, token: str, *, now_s: float | None = None) -> dict[str, Any]:
        """The claims of a valid token; :class:`UnauthorizedError` for anything else."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise UnauthorizedError("malformed token") from exc
        key = self._key_for(header)
        # With an explicit clock the time claims are checked by _check_times instead.
        clock_given = now_s is not None
        options: Options = {
            "require": ["exp", "sub", "role"],
            "verify_exp": not clock_given,
            "verify_nbf": not clock_given,
            "verify_iat": not clock_given,
        }
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[header["alg"]],
                audience=self._audience_of(token),
                issuer=self._config.issuer,
                leeway=self._config.leeway_s,
                options=options,
            )
        except jwt.PyJWTError as exc:
            raise UnauthorizedError(f"invalid token: {exc}") from exc
        if now_s is not None:
            _check_times(claims, now_s, self._config.leeway_s)
        _check_identity(claims.get("sub"), claims.get("role"), claims.get("ns"))
        return claims

    def _audience_of(self, token: str) -> str | None:
        """The audience a token must name: the configured one; without one, a token naming
        an audience must name `SESSION_AUDIENCE` (those `/auth/v1` issues), others none."""
        if self._config.audience is not None:
            return self._config.audience
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        return SESSION_AUDIENCE if "aud" in unverified else None

    def jwks(self) -> dict[str, Any]:
        """The ``/.well-known/jwks.json`` document: every public key that verifies tokens."""
        keys = []
        for kid, public in sorted(self._public_keys.items()):
            jwk: dict[str, Any] = OKPAlgorithm.to_jwk(public, as_dict=True)
            keys.append({**jwk, "kid": kid, "alg": EDDSA, "use": "sig"})
        return {"keys": keys}

    def _key_for(self, header: Mapping[str, Any]) -> Any:
        """The one key that may verify a token with this header, chosen by algorithm."""
        alg = header.get("alg")
        if alg == HS256:
            return self._config.secret
        if alg == EDDSA:
            key = self._public_keys.get(str(header.get("kid")))
            if key is None:
                raise UnauthorizedError("token signed by an unknown key")
            return key
        raise UnauthorizedError(f"token algorithm {alg!r} is not accepted")


def _check_times(claims: Mapping[str, Any], now_s: float, leeway_s: float) -> None:
    """Re-check ``exp``/``nbf`` against an explicit clock (tests and replayed requests)."""
    if now_s >= float(claims["exp"]) + leeway_s:
        raise UnauthorizedError("invalid token: Signature has expired")
    nbf = claims.get("nbf")
    if nbf is not None and now_s < float(nbf) - leeway_s:
        raise UnauthorizedError("invalid token: The token is not yet valid (nbf)")


def _check_identity(sub: object, role: object, ns: object) -> None:
    """The claims a principal is built from must be present and well-formed."""
    if not isinstance(sub, str) or not sub:
        raise UnauthorizedError("token has no subject")
    if role not in ROLES:
        raise UnauthorizedError(f"token role must be one of {', '.join(ROLES)}")
    if role in USER_ROLES and (not is_namespace(ns)):
        raise UnauthorizedError("a user token needs a valid 'ns' claim")
    if ns is not None and not isinstance(ns, str):
        raise UnauthorizedError("'ns' claim must be a string")
