"""Row-level security: policies, the statement rewrite that enforces them, and the SQLite
authorizer that stands behind the rewrite as a second wall.

- ``policy``, ``predicates``: policy documents and their allow-listed predicates;
- ``rewrite`` (with ``reads`` and ``writes``): the per-principal statement rewrite;
- ``authorizer``: the SQLite authorizer callback factory;
- ``rowfilter``: policies evaluated on row images (realtime, CDC, storage);
- ``store``: the "policy" fold into the projection; ``access``: the ``SecurityLayer`` that
  ``api.database`` and the HTTP app use.

Exception tree (``api.rls.errors``), translated to HTTP only by the HTTP layer::

    RlsError
    ├── PolicyError         422 VALIDATION_ERROR: a policy is malformed or uses what it may not
    └── AccessDeniedError   403 FORBIDDEN: the statement reaches outside what the principal may
                            touch (another namespace, a system table, a forbidden statement kind,
                            a write no policy allows)
"""
