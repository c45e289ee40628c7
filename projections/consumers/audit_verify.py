"""Exporting the audit trail and checking audit files against their seals and the log.

`export_trail` writes the selected lines (JSON Lines, integer `lsn`) and seals the export
like a trail file, so that removing a line from an export shows as well. `verify_audit_file`
checks a file's seal (when it has one) and the seal's sigstore bundle (when it has one, see
`audit_keyless`), that LSNs increase (without gaps in a trail file), and that every line
equals the line the log's record at that LSN produces.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventlog.keyless import bundle_path, check_bundle
from eventlog.keys import KEY_EVENT_KIND, KeyRing, SigningKey
from eventlog.verify import KeylessPolicy
from projections.consumers.audit_files import (
    audit_files,
    check_seal,
    iter_lines,
    parse_audit_name,
    seal_file,
    seal_path,
)
from projections.consumers.audit_lines import audit_line
from projections.consumers.errors import AuditVerifyError
from projections.source import LogSource


@dataclass(frozen=True)
class AuditFilter:
    """Which lines an export keeps (None: no restriction)."""

    from_lsn: int | None = None
    to_lsn: int | None = None
    actor: str | None = None
    table: str | None = None
    kind: str | None = None

    def keeps(self, line: dict[str, Any]) -> bool:
        lsn = int(line["lsn"])
        return (
            (self.from_lsn is None or lsn >= self.from_lsn)
            and (self.to_lsn is None or lsn <= self.to_lsn)
            and (self.actor is None or line.get("actor") == self.actor)
            and (self.table is None or self.table in line.get("tables", []))
            and (self.kind is None or line.get("kind") == self.kind)
        )


@dataclass
class AuditReport:
    """What `verify_audit_file` found: lines checked, LSN range, whether it was sealed, and
    its seal's sigstore bundle: None (no bundle), "verified", or "unchecked" (the reason is
    in `notes`; not a pass)."""

    path: str
    lines: int = 0
    first_lsn: int | None = None
    last_lsn: int | None = None
    sealed: bool = False
    keyless: str | None = None
    notes: list[str] = field(default_factory=list)


def trail_lines(directory: Path) -> Iterator[dict[str, Any]]:
    """Every line of the trail, oldest first."""
    for path in audit_files(directory):
        yield from iter_lines(path)


def trail_page(
    directory: Path, selection: AuditFilter, after_lsn: int = 0, limit: int = 50
) -> list[dict[str, Any]]:
    """Up to `limit` selected lines with an LSN above `after_lsn`, oldest first: a page for
    `GET /audit` (the next page starts after the last LSN returned). Sealed files wholly
    at or below `after_lsn` are skipped without being read."""
    page: list[dict[str, Any]] = []
    for path in audit_files(directory):
        if _sealed_last_lsn(path) <= after_lsn:
            continue
        for line in iter_lines(path):
            if int(line["lsn"]) > after_lsn and selection.keeps(line):
                page.append(line)
                if len(page) >= limit:
                    return page
    return page


def _sealed_last_lsn(path: Path) -> int:
    """The last LSN a sealed file covers; unsealed (or unreadable seal): unbounded."""
    try:
        return int(json.loads(seal_path(path).read_bytes())["last_lsn"])
    except (OSError, ValueError, KeyError, TypeError):
        return 2**63


def export_trail(directory: Path, out: Path, selection: AuditFilter, key: SigningKey) -> int:
    """Write the selected lines to `out`, seal it, and return how many were written."""
    count, first, last = 0, 0, 0
    tmp = out.with_name(f".{out.name}.tmp")
    with open(tmp, "wb") as handle:
        for line in trail_lines(directory):
            if selection.keeps(line):
                handle.write(json.dumps(line, sort_keys=True).encode() + b"\n")
                first, last, count = first or int(line["lsn"]), int(line["lsn"]), count + 1
    tmp.replace(out)
    seal_file(out, key, first, last, count)
    return count


def log_key_ring(log: LogSource) -> KeyRing:
    """The signing keys the log announces (the first trusted on first use)."""
    ring = KeyRing()
    for record in log.read(1):
        if record.kind == KEY_EVENT_KIND:
            problem = ring.learn(record.payload, record.lsn)
            if problem:
                raise AuditVerifyError(f"key announcement at LSN {record.lsn}: {problem}")
    return ring


def verify_audit_file(
    path: Path, log: LogSource, ring: KeyRing, keyless: KeylessPolicy | None = None
) -> AuditReport:
    """Check `path`; raise AuditVerifyError naming the first problem. `keyless` says who must
    have signed a sigstore bundle of the seal (default: any signer)."""
    report = AuditReport(str(path))
    trail_file = parse_audit_name(path.name) is not None
    if seal_path(path).exists():
        seal = check_seal(path, ring)
        report.sealed = True
        _check_keyless(path, keyless or KeylessPolicy(), report)
    elif bundle_path(seal_path(path)).exists():
        raise AuditVerifyError(f"{path.name} has a sigstore bundle but its seal is gone")
    elif trail_file:
        seal = None
        report.notes.append("unsealed: the trail's active file")
    else:
        raise AuditVerifyError(f"{path.name} has no seal ({seal_path(path).name})")
    lines = _read_lines(path)
    _check_order(path, lines, contiguous=trail_file)
    _check_against_log(lines, log)
    if seal is not None and (seal.get("lines") != len(lines)):
        raise AuditVerifyError(f"{path.name}: {len(lines)} lines, the seal says {seal['lines']}")
    report.lines = len(lines)
    if lines:
        report.first_lsn, report.last_lsn = int(lines[0]["lsn"]), int(lines[-1]["lsn"])
    return report


def _check_keyless(path: Path, policy: KeylessPolicy, report: AuditReport) -> None:
    """Check the bundle of `path`'s seal, if it has one: the seal carries the file's digest,
    so a bundle that verifies over the seal covers the file's content too."""
    if not bundle_path(seal_path(path)).exists():
        return
    check = check_bundle(seal_path(path), policy.identity, policy.issuer)
    if not check.ok:
        raise AuditVerifyError(f"{path.name}: {check.note}")
    report.keyless = "verified" if check.checked else "unchecked"
    if check.note:
        report.notes.append(check.note)


def verify_trail(
    directory: Path, log: LogSource, ring: KeyRing, keyless: KeylessPolicy | None = None
) -> list[AuditReport]:
    """Check every file of a trail and that they join up from LSN 1 without a gap, so that
    a removed file shows as well as a removed line; only the newest file may be unsealed,
    so a removed seal shows too."""
    reports, expected = [], 1
    files = audit_files(directory)
    for path in files:
        if parse_audit_name(path.name) != expected:
            raise AuditVerifyError(f"{path.name}: the trail should continue at LSN {expected}")
        if path != files[-1] and not seal_path(path).exists():
            raise AuditVerifyError(f"{path.name} is closed (a newer file follows) but unsealed")
        report = verify_audit_file(path, log, ring, keyless)
        expected = (report.last_lsn or expected - 1) + 1
        reports.append(report)
    if not reports:
        raise AuditVerifyError(f"{directory} holds no audit files")
    return reports


def _read_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                line = json.loads(raw)
                int(line["lsn"])
            except (ValueError, KeyError, TypeError) as exc:
                raise AuditVerifyError(f"{path.name} line {number} is not an audit line") from exc
            lines.append(line)
    return lines


def _check_order(path: Path, lines: list[dict[str, Any]], contiguous: bool) -> None:
    previous = (parse_audit_name(path.name) or 1) - 1 if contiguous else 0
    for line in lines:
        lsn = int(line["lsn"])
        if lsn <= previous or (contiguous and lsn != previous + 1):
            expected = f"LSN {previous + 1}" if contiguous else f"an LSN above {previous}"
            raise AuditVerifyError(f"{path.name}: LSN {lsn} where {expected} belongs")
        previous = lsn


def _check_against_log(lines: list[dict[str, Any]], log: LogSource) -> None:
    if not lines:
        return
    wanted = {int(line["lsn"]): line for line in lines}
    first, last = min(wanted), max(wanted)
    if last > log.head_lsn:
        raise AuditVerifyError(f"LSN {last} is beyond the log's head {log.head_lsn}")
    for record in log.read(first, last):
        line = wanted.get(record.lsn)
        if line is not None and line != audit_line(record):
            raise AuditVerifyError(f"the line of LSN {record.lsn} does not match the log")
