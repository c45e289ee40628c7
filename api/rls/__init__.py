"""Row-level security: policies, the statement rewrite that enforces them, the check of the
rows a write produced, and the SQLite authorizer that stands behind the rewrite as a second
wall.

- ``policy``, ``predicates``: policy documents and their allow-listed predicates;
- ``rewrite`` (with ``reads`` and ``writes``): the per-principal statement rewrite;
- ``checks``: the policy check of the rows an INSERT or UPDATE stored, on its captured images;
- ``authorizer``: the SQLite authorizer callback factory;
- ``rowfilter``: policies evaluated on row images (realtime, CDC, storage, write checks);
- ``store``: the "policy" fold into the projection; ``access``: the ``SecurityLayer`` that
  ``api.database`` and the HTTP app use.

Exception tree (``api.rls.errors``; each carries a Postgres ``sqlstate``), translated to HTTP
only by the HTTP layer::

    RlsError
    ├── PolicyError            422 VALIDATION_ERROR (42P17): a policy is malformed or uses
    │                          what it may not
    └── AccessDeniedError      403 FORBIDDEN (42501): the statement reaches outside what the
        │                      principal may touch (another namespace, a system table, a
        │                      forbidden statement kind, a write no policy allows)
        └── PolicyViolationError  403 FORBIDDEN (42501): "new row violates row-level security
                               policy for table "t"": a row the statement wrote fails the
                               check; the whole request is refused and nothing is logged
"""
