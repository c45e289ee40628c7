"""Checkpoints: signed, consistent copies of the projection at an LSN, under data/checkpoints/.

A checkpoint is two files named by its LSN, `<lsn:020d>.sqlite` (a SQLite database in
rollback-journal mode, copied with the backup API) and `<lsn:020d>.manifest` (JSON: LSN,
chain hash of the record at that LSN, SHA-256 and size of the file, signed with the log's
Ed25519 key). Both are written crash-safely and the manifest last, so a checkpoint without
a manifest is an unfinished one and is ignored. A checkpoint is trusted only if its
signature, file digest and chain hash all check out against the key ring and the log.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eventlog.keys import KeyRing, SigningKey
from eventlog.segments import file_sha256, fsync_dir, write_atomic
from projections.errors import CheckpointError, InvalidCheckpointError
from projections.fsync import publish_file
from projections.meta import read_applied_lsn
from projections.source import LogSource, record_at

logger = logging.getLogger(__name__)

CHECKPOINT_CONTEXT = b"bkg-checkpoint-v1"
FORMAT_VERSION = 1
NAME_PATTERN = re.compile(r"^(\d{20})\.(sqlite|manifest)$")


def format_checkpoint_name(lsn: int, suffix: str) -> str:
    """The file name of a checkpoint's database ("sqlite") or manifest ("manifest")."""
    return f"{lsn:020d}.{suffix}"


def parse_checkpoint_name(name: str) -> tuple[int, str] | None:
    """(lsn, suffix) of a checkpoint file name, or None for any other file."""
    match = NAME_PATTERN.match(name)
    return (int(match.group(1)), match.group(2)) if match else None


@dataclass(frozen=True)
class CheckpointManifest:
    """What a checkpoint claims, and the signature that vouches for it."""

    lsn: int
    chain_hash: str
    sha256: str
    size: int
    created_us: int
    key_id: str
    format: int = FORMAT_VERSION
    signature: str = ""

    def signed_fields(self) -> bytes:
        fields = asdict(self)
        fields.pop("signature")
        return CHECKPOINT_CONTEXT + json.dumps(fields, sort_keys=True).encode()

    def signed_by(self, key: SigningKey) -> CheckpointManifest:
        unsigned = CheckpointManifest(**{**asdict(self), "key_id": key.key_id, "signature": ""})
        signature = key.sign(unsigned.signed_fields()).hex()
        return CheckpointManifest(**{**asdict(unsigned), "signature": signature})

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> CheckpointManifest:
        fields: dict[str, Any] = json.loads(data)
        return cls(**fields)


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint on disk: its manifest and the path of its database file."""

    manifest: CheckpointManifest
    path: Path

    @property
    def lsn(self) -> int:
        return self.manifest.lsn


class CheckpointStore:
    """The checkpoints directory: write, list, validate and retire checkpoints."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._validated: set[tuple[int, str, int, int]] = set()

    def take(self, source_path: Path, log: LogSource, key: SigningKey) -> Checkpoint:
        """Copy the database at `source_path` consistently and publish it as a checkpoint at
        the LSN the copy has applied.

        The copy is one backup step, which holds a read transaction on the source for its
        duration, so concurrent commits do not tear it.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".checkpoint-{time.time_ns()}.tmp"
        try:
            lsn = _copy_database(source_path, tmp)
            record = record_at(log, lsn) if lsn > 0 else None
            if record is None:
                raise CheckpointError(f"the log holds no record at LSN {lsn} to checkpoint")
            path = self.directory / format_checkpoint_name(lsn, "sqlite")
            publish_file(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        manifest = CheckpointManifest(
            lsn=lsn,
            chain_hash=record.chain_hash.hex(),
            sha256=file_sha256(path),
            size=path.stat().st_size,
            created_us=time.time_ns() // 1000,
            key_id=key.key_id,
        ).signed_by(key)
        write_atomic(self.directory / format_checkpoint_name(lsn, "manifest"), manifest.to_json())
        return Checkpoint(manifest, path)

    def scan(self) -> list[Checkpoint]:
        """Every checkpoint with a readable manifest, newest first (not yet validated)."""
        found: list[Checkpoint] = []
        if not self.directory.is_dir():
            return found
        for entry in self.directory.iterdir():
            parsed = parse_checkpoint_name(entry.name)
            if parsed is None or parsed[1] != "manifest":
                continue
            try:
                manifest = CheckpointManifest.from_json(entry.read_bytes())
            except (OSError, ValueError, TypeError) as exc:
                logger.warning("skipping checkpoint manifest %s: unreadable (%s)", entry, exc)
                continue
            found.append(Checkpoint(manifest, entry.with_suffix(".sqlite")))
        return sorted(found, key=lambda cp: cp.lsn, reverse=True)

    def newest_valid(
        self, log: LogSource, ring: KeyRing, max_lsn: int | None = None
    ) -> Checkpoint | None:
        """The newest checkpoint at or below `max_lsn` that validates; invalid ones are
        skipped with a warning."""
        for checkpoint in self.scan():
            if max_lsn is not None and checkpoint.lsn > max_lsn:
                continue
            try:
                self._validate_once(checkpoint, log, ring)
            except InvalidCheckpointError as exc:
                logger.warning("skipping checkpoint at LSN %d: %s", checkpoint.lsn, exc)
                continue
            return checkpoint
        return None

    def _validate_once(self, checkpoint: Checkpoint, log: LogSource, ring: KeyRing) -> None:
        """Validate a checkpoint unless this process already did and its file is unchanged."""
        try:
            stat = checkpoint.path.stat()
        except OSError as exc:
            raise InvalidCheckpointError(f"database file is unreadable: {exc}") from exc
        seen = (checkpoint.lsn, checkpoint.manifest.signature, stat.st_size, stat.st_mtime_ns)
        if seen not in self._validated:
            validate(checkpoint, log, ring)
            self._validated.add(seen)

    def retire(self, keep: int) -> list[int]:
        """Delete all but the newest `keep` checkpoints, and what a crash mid-checkpoint left
        (temp files, copies without a manifest); return the LSNs deleted. Call it from the
        thread that takes checkpoints, never while one is being written."""
        doomed = self.scan()[keep:]
        for checkpoint in doomed:
            checkpoint.path.with_suffix(".manifest").unlink(missing_ok=True)
            checkpoint.path.unlink(missing_ok=True)
        for entry in self.directory.glob(".checkpoint-*.tmp"):
            entry.unlink(missing_ok=True)
        for entry in self.directory.glob("*.sqlite"):
            if not entry.with_suffix(".manifest").exists():
                entry.unlink()
        if doomed:
            fsync_dir(self.directory)
        return [checkpoint.lsn for checkpoint in doomed]


def validate(checkpoint: Checkpoint, log: LogSource, ring: KeyRing) -> None:
    """Raise InvalidCheckpointError unless the checkpoint's signature, file and chain hash
    are all what the manifest and the log say."""
    manifest = checkpoint.manifest
    if manifest.format != FORMAT_VERSION:
        raise InvalidCheckpointError(f"unknown checkpoint format {manifest.format}")
    try:
        signature = bytes.fromhex(manifest.signature)
    except ValueError as exc:
        raise InvalidCheckpointError("manifest signature is not hex") from exc
    if not ring.verify(manifest.key_id, signature, manifest.signed_fields()):
        raise InvalidCheckpointError(f"bad signature or unknown key {manifest.key_id}")
    if not checkpoint.path.is_file():
        raise InvalidCheckpointError(f"database file {checkpoint.path.name} is missing")
    if file_sha256(checkpoint.path) != manifest.sha256:
        raise InvalidCheckpointError("database file does not match the manifest's SHA-256")
    record = record_at(log, manifest.lsn)
    if record is None:
        raise InvalidCheckpointError(f"the log has no record at LSN {manifest.lsn}")
    if record.chain_hash.hex() != manifest.chain_hash:
        raise InvalidCheckpointError(f"chain hash differs from the log at LSN {manifest.lsn}")


def _copy_database(source_path: Path, target: Path) -> int:
    """Back up the database at `source_path` into `target` (rollback-journal mode, so the copy
    is one self-contained file) and return the LSN the copy has applied."""
    source = sqlite3.connect(str(source_path), isolation_level=None)
    dest = sqlite3.connect(str(target), isolation_level=None)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode=DELETE")
        return read_applied_lsn(dest)
    finally:
        dest.close()
        source.close()
