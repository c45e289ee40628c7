"""Authentication: API keys, JWTs, principals, rate limits, idempotency, webhooks.

Every credential a client presents is turned into a :class:`~api.auth.principal.Principal`
here; nothing below this package sees a bearer string.

- ``apikeys``, ``registry``, ``store``: API keys, their events and the "auth" fold;
- ``tokens``, ``keyfiles``: JWTs (HS256, EdDSA, JWKS) and the secrets in ``keys/``;
- ``principal``: bearer string -> principal; ``ratelimit``: per-principal token buckets;
- ``slots``: caps on what one principal holds at once (open realtime streams);
- ``webhook``: signed ``key.rotated`` notifications with retries.

Exception tree (``api.auth.errors``), translated to HTTP only by the HTTP layer::

    AuthError
    ├── UnauthorizedError       401: missing, malformed, expired, revoked or forged credential
    ├── ForbiddenError          403: valid credential, action not allowed for it
    ├── RateLimitedError        429: carries ``retry_after`` seconds
    ├── KeySpecError            422: bad scope, namespace, ttl, claims or unknown key id
    ├── IdempotencyConflictError 409: same Idempotency-Key reused with another request body
    └── KeyFileError            a key file is missing, unreadable or too open (configuration)
"""
