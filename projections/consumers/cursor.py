"""Durable consumer positions: one small file per consumer under data/consumers/.

A cursor names the last LSN whose effects the consumer has finished; a restart resumes at
cursor + 1. Written crash-safely (temp file, fsync, rename, fsync of the directory), so
after a crash it holds either the old or the new position, never a torn one. Consumers
whose effects live in a file of their own (the audit trail) keep their position there
instead and implement the same `Position` protocol.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Protocol

from eventlog.segments import write_atomic
from projections.consumers.errors import CursorError

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class Position(Protocol):
    """Where a consumer stands: `load` the last finished LSN (0 if none), `save` a new one."""

    def load(self) -> int: ...

    def save(self, lsn: int) -> None: ...


class CursorFile:
    """A consumer's cursor as `<name>.cursor` JSON in the consumers directory."""

    def __init__(self, directory: Path, name: str) -> None:
        if not NAME_PATTERN.match(name):
            raise CursorError(f"consumer name {name!r} must match {NAME_PATTERN.pattern}")
        self.path = Path(directory) / f"{name}.cursor"
        self.name = name

    def load(self) -> int:
        """The saved LSN, or 0 when the consumer has never saved one."""
        try:
            data = json.loads(self.path.read_bytes())
            return int(data["lsn"])
        except FileNotFoundError:
            return 0
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CursorError(f"cursor {self.path} is unreadable: {exc}") from exc

    def save(self, lsn: int) -> None:
        """Replace the position durably."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"consumer": self.name, "lsn": lsn}).encode() + b"\n"
        write_atomic(self.path, body)
