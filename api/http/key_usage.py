"""When each API key last authenticated a request to this server.

Recording a use is a dictionary store on the request path: nothing is appended to the log
(a write per request would make reads durable writes). The record is derived, best-effort
data: it lives under `consumers/`, is saved when the server stops cleanly and read back
when it starts; a crash forgets the uses since the last clean stop.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from api.auth.principal import Principal
from eventlog.segments import write_atomic

KEY_ACTOR_PREFIX = "key:"


class KeyUsage:
    """Last-use times of API keys, by key id."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: dict[str, float] = {}
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = {}
        if isinstance(saved, dict):
            self._last = {str(k): float(v) for k, v in saved.items()}

    def record(self, principal: Principal) -> None:
        """Note a request authenticated by an API key (JWT principals are not keys)."""
        if principal.id.startswith(KEY_ACTOR_PREFIX):
            self._last[principal.id[len(KEY_ACTOR_PREFIX) :]] = time.time()

    def last_used(self, key_id: str) -> float | None:
        return self._last.get(key_id)

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self._last).encode())
