"""Row-level security: policies, the statement rewrite that enforces them, and the SQLite
authorizer that stands behind the rewrite as a second wall.

Exception tree (``api.rls.errors``), translated to HTTP only by the HTTP layer::

    RlsError
    ├── PolicyError         422 VALIDATION_ERROR: a policy is malformed or uses what it may not
    └── AccessDeniedError   403 FORBIDDEN: the statement reaches outside what the principal may
                            touch (another namespace, a system table, a forbidden statement kind,
                            a written row that fails the policy check)
"""
