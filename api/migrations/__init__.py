"""Migrations: numbered SQL files applied through the log, each once, each whole or not at all.

A migration is a file `NNNN_name.sql` (`files`). Applying it runs its statements as one
transaction that the writer logs as ONE record of kind "ddl"/"dml" whose payload also
carries `migration: {version, name, sha256}`; the fold of that record (live and in every
replay) writes a row of the ledger `_bkg_migrations` (`ledger`), so which migrations are
applied is part of the state derived from the log, like any table. Before running the
statements the writer checks the ledger, in the same serialised step, so two appliers at
once apply each file once (`ledger.check_new`): a version already applied with the same
SHA-256 is skipped, with another SHA-256 (the file was edited) or below the newest applied
version it is refused (`errors`). Which files are pending, and whether an applied file
changed since, is decided by `plan`; the CLI applies through `client` (embedded, or a
running server's `POST /migrate/apply`).

Exceptions::

    SqlError (api.sql.errors)
     └── MigrationError           CONFLICT (409): edited after applying, or out of order
    ValueError
     └── MigrationFileError        a bad file name, a duplicate version, an unreadable file
"""
