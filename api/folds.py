"""Every kind of log record the projection folds, named in one place: `all_folds()`.

The live store, a rebuild, a replay, time travel, checkpoints, verification and a replica
must fold the same kinds the same way, or the log would stop being the truth. So every
one of them takes its registry from this function, which names each fold explicitly;
nothing is registered as a side effect of importing a module. A kind missing here is only
counted (the applied LSN advances), so adding a kind means adding it here.

| kind | fold | state |
| --- | --- | --- |
| `ddl`, `dml` | `api.migrations.ledger.fold_sql_and_migration` | tables, rows, migrations |
| `auth` | `api.auth.store.fold_auth` | API keys (`_bkg_api_keys`) |
| `policy` | `api.rls.store.fold_policy` | row-level security policies |
| `storage` | `api.storage.meta.fold_storage` | buckets and object metadata |
| `accounts` | `api.gotrue.records.fold_accounts` | end users and their sessions (`_bkg_auth_*`) |

The fold of `ddl`/`dml` is `projections.folds.fold_sql` (row images, never SQL text) and, for
a migration's record, its row in the ledger `_bkg_migrations`.

`system` records (keys, restores; `eventlog.keys`) belong to the log itself and fold into
nothing.
"""

from __future__ import annotations

from api.auth.store import fold_auth
from api.gotrue.records import KIND as ACCOUNTS
from api.gotrue.records import fold_accounts
from api.migrations.ledger import fold_sql_and_migration
from api.rls.store import fold_policy
from api.storage.meta import fold_storage
from projections.folds import FoldRegistry


def all_folds() -> FoldRegistry:
    """A registry with the fold of every kind the product writes."""
    registry = FoldRegistry()
    registry.register("ddl", fold_sql_and_migration)
    registry.register("dml", fold_sql_and_migration)
    registry.register("auth", fold_auth)
    registry.register("policy", fold_policy)
    registry.register("storage", fold_storage)
    registry.register(ACCOUNTS, fold_accounts)
    return registry
