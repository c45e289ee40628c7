"""bkg-db's top floor: what clients touch.

Embedded use is `Database.open(path)`, then `execute` like sqlite3 (a missing directory is
created and initialised, as `sqlite3.connect` creates its file)::

    from api import Database

    with Database.open("data") as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")

A server is put together in one place, `api.wiring`, from `api.settings.Settings`.
"""

from api.database import Database, DatabaseOptions, Result

__all__ = ["Database", "DatabaseOptions", "Result"]
