"""The audit trail's files: names, seals, and the position they record.

Files sort in log order: ``audit-%020d.jsonl`` by the LSN of their first line. Closed files
are never changed again; each has a seal ``<file>.sig`` beside it (JSON): the file's
SHA-256, line count and LSN range, signed with the log's Ed25519 key, so a changed,
removed or added line shows. The newest file without a seal is the one being written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eventlog.keys import KeyRing, SigningKey
from eventlog.segments import write_atomic
from projections.consumers.errors import AuditVerifyError

AUDIT_PATTERN = re.compile(r"^audit-(\d{20})\.jsonl$")
SEAL_CONTEXT = b"bkg-audit-seal-v1"


def audit_name(first_lsn: int) -> str:
    return f"audit-{first_lsn:020d}.jsonl"


def parse_audit_name(name: str) -> int | None:
    match = AUDIT_PATTERN.match(name)
    return int(match.group(1)) if match else None


def audit_files(directory: Path) -> list[Path]:
    """Trail files in log order."""
    if not directory.is_dir():
        return []
    found = [(parse_audit_name(p.name), p) for p in directory.iterdir()]
    return [path for first, path in sorted((f, p) for f, p in found if f is not None)]


def seal_path(path: Path) -> Path:
    return path.with_name(path.name + ".sig")


def iter_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The complete JSON lines of a file (a torn last line is not complete)."""
    with open(path, "rb") as handle:
        for raw in handle:
            if raw.endswith(b"\n"):
                yield json.loads(raw)


def seal_file(path: Path, key: SigningKey, first_lsn: int, last_lsn: int, lines: int) -> None:
    """Write the seal of a closed file, crash-safely."""
    document: dict[str, Any] = {
        "file": path.name,
        "first_lsn": first_lsn,
        "last_lsn": last_lsn,
        "lines": lines,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "key_id": key.key_id,
    }
    document["signature"] = key.sign(_seal_message(document)).hex()
    write_atomic(seal_path(path), json.dumps(document, indent=2).encode() + b"\n")


def check_seal(path: Path, ring: KeyRing) -> dict[str, Any]:
    """The seal of `path` after checking digest and signature; AuditVerifyError if bad."""
    try:
        document: dict[str, Any] = json.loads(seal_path(path).read_bytes())
    except FileNotFoundError as exc:
        raise AuditVerifyError(f"{path.name} has no seal ({seal_path(path).name})") from exc
    except (OSError, ValueError) as exc:
        raise AuditVerifyError(f"the seal of {path.name} is unreadable: {exc}") from exc
    if document.get("sha256") != hashlib.sha256(path.read_bytes()).hexdigest():
        raise AuditVerifyError(f"{path.name} does not match its seal (changed since sealed)")
    try:
        signature = bytes.fromhex(str(document.get("signature", "")))
    except ValueError as exc:
        raise AuditVerifyError(f"the seal of {path.name} has a malformed signature") from exc
    if not ring.verify(str(document.get("key_id")), signature, _seal_message(document)):
        raise AuditVerifyError(f"the seal of {path.name} is not signed by a key of the log")
    return document


def _seal_message(document: dict[str, Any]) -> bytes:
    fields = {k: v for k, v in document.items() if k != "signature"}
    return SEAL_CONTEXT + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
