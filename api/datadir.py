"""The data directory: where each part of bkg-db keeps its files, and its keys.

Only `log/` and `keys/` are precious; everything else is derived from the log and may be
deleted. Settings fixed at `init` (segment size) live in `log/config.json` so that they
travel with the log. Nothing here reads the environment or builds a client: what a process
adds (flags, `BKG_*`) is read in `api.settings` and `api.logs`.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from eventlog import EventLog, LogOptions, LogReader, SigningKey
from eventlog.keys import KEY_EVENT_KIND
from eventlog.pruned import SegmentSource
from eventlog.reader import read_spans
from eventlog.segments import fsync_dir, write_atomic

SIGNING_KEY_FILE = "log_signing.key"
JWT_SECRET_FILE = "jwt_secret"
CONFIG_FILE = "config.json"
DERIVED = ("checkpoints", "projections", "consumers", "audit", "objects")


class SettingsError(ValueError):
    """A setting (flag or environment variable) that cannot be used as given."""


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def projections(self) -> Path:
        return self.root / "projections"

    @property
    def consumers(self) -> Path:
        return self.root / "consumers"

    @property
    def audit(self) -> Path:
        return self.root / "audit"

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def signing_key_path(self) -> Path:
        return self.keys / SIGNING_KEY_FILE

    @property
    def jwt_secret_path(self) -> Path:
        return self.keys / JWT_SECRET_FILE

    def is_initialised(self) -> bool:
        return (self.log / CONFIG_FILE).exists()

    def create_layout(self) -> None:
        """Make every directory; `keys/` is readable by its owner only."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.log.mkdir(exist_ok=True)
        self.keys.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.keys, 0o700)
        for name in DERIVED:
            (self.root / name).mkdir(exist_ok=True)

    def create_secrets(self) -> SigningKey:
        """A fresh log signing key and JWT secret, written with mode 0600 from the start."""
        key = SigningKey.generate()
        key.save(self.signing_key_path)
        fd = os.open(self.jwt_secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        return key

    @property
    def next_signing_key_path(self) -> Path:
        return self.keys / (SIGNING_KEY_FILE + ".next")

    def signing_key(self) -> SigningKey:
        """The current log signing key, finishing a rotation a crash interrupted."""
        if self.next_signing_key_path.exists():
            self._settle_rotation()
        return SigningKey.load(self.signing_key_path)

    def rotate_signing_key(self, log: EventLog) -> SigningKey:
        """Switch the log to a fresh key: saved first as `.next`, announced in the log
        (endorsed by the old key), then moved into place. A crash in between is settled
        on the next open by looking for the announcement in the newest segment."""
        new = SigningKey.generate()
        self.next_signing_key_path.unlink(missing_ok=True)
        new.save(self.next_signing_key_path)
        log.rotate_key(new)
        self._promote_next(SigningKey.load(self.signing_key_path))
        return new

    def _settle_rotation(self) -> None:
        pending = SigningKey.load(self.next_signing_key_path)
        newest = LogReader(self.log).spans()[-1:]
        announced = any(
            record.kind == KEY_EVENT_KIND
            and isinstance(record.payload, dict)
            and record.payload.get("key_id") == pending.key_id
            for record in read_spans(newest, newest[0].base_lsn if newest else 1)
        )
        if announced:
            self._promote_next(SigningKey.load(self.signing_key_path))
        else:
            self.next_signing_key_path.unlink()

    def _promote_next(self, old: SigningKey) -> None:
        """Keep the retired key (owner-only) for audits, then make `.next` current."""
        retired = self.keys / f"retired-{old.key_id}.key"
        if not retired.exists():
            os.link(self.signing_key_path, retired)
        os.replace(self.next_signing_key_path, self.signing_key_path)
        fsync_dir(self.keys)

    def write_config(self, segment_bytes: int) -> None:
        config = {"format": 1, "segment_bytes": segment_bytes}
        write_atomic(self.log / CONFIG_FILE, json.dumps(config, indent=2).encode() + b"\n")

    def config(self) -> dict[str, int]:
        data: dict[str, int] = json.loads((self.log / CONFIG_FILE).read_text())
        return data

    def log_options(self, segment_bytes: int | None = None) -> LogOptions:
        """Segment size: `segment_bytes` when given, else what `init` recorded."""
        chosen = segment_bytes or self.config()["segment_bytes"]
        try:
            return LogOptions(segment_bytes=chosen)
        except ValueError as exc:
            raise SettingsError(f"segment size {chosen}: {exc}") from exc

    def open_log(
        self, options: LogOptions | None = None, segment_source: SegmentSource | None = None
    ) -> EventLog:
        """Open the log for writing (one writer per directory: a second gets
        LogLockedError); reads of pruned segments fetch them from `segment_source`."""
        chosen = options or self.log_options()
        return EventLog.open(self.log, self.signing_key(), chosen, segment_source)

    @property
    def log_cache(self) -> Path:
        """Local copies of pruned segments fetched from the archive (derived, deletable)."""
        return self.root / "log-cache"
