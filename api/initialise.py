"""A new data directory: its layout, keys and log, and the first admin API key.

Used by `bkgdb init` and by `Database.open` on a directory that does not exist yet.
"""

from __future__ import annotations

import time
from typing import Any

from api.auth.apikeys import new_api_key
from api.datadir import DataDir
from eventlog import Entry, EventLog, LogOptions

DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024


def initialise(data_dir: DataDir, segment_bytes: int) -> dict[str, Any]:
    """Lay out the directory, create secrets, start the log and record the admin key."""
    data_dir.create_layout()
    key = data_dir.create_secrets()
    options = LogOptions(segment_bytes=segment_bytes)
    with EventLog.create(data_dir.log, key, options) as log:
        plaintext, record = new_api_key("admin", None, "initial admin key", None, time.time())
        log.append(Entry("auth", record.to_event_payload(), actor="system"))
        head = log.head_lsn
    data_dir.write_config(segment_bytes)
    return {
        "data_dir": str(data_dir.root),
        "created": True,
        "admin_key": plaintext,
        "admin_key_id": record.id,
        "signing_key_id": key.key_id,
        "head_lsn": head,
    }
