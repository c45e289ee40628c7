"""Full verification of a log directory: every frame, the chain, every seal and manifest.

Unlike recovery, which trusts sealed segments whose manifests line up, `verify_log` reads
every byte: CRCs, LSN order, the hash chain across segments, seal signatures (following
key rotations announced in the log), manifest digests and signatures. It stops at the
first problem and names the first LSN that cannot be trusted.

Segments pruned from local disk (`eventlog.pruned`) are checked as far as what is local
allows: their manifests must link up from LSN 1 to the first local segment (and carry good
signatures where the key is known), and they are reported in `pruned_unchecked`; given a
segment source (`bkgdb verify --fetch-archived`) their bytes are fetched and checked fully.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eventlog.errors import CorruptLogError
from eventlog.framing import GENESIS_HASH, HEADER_SIZE, FrameError, decode_frame
from eventlog.keyless import bundle_path, check_bundle
from eventlog.keys import KEY_EVENT_KIND, KeyRing, seal_message
from eventlog.pruned import SegmentSource, check_pruned, pruned_manifests
from eventlog.record import unpack_body
from eventlog.segments import (
    SEGMENT_HEADER_SIZE,
    Manifest,
    decode_segment_header,
    format_segment_name,
    list_segments,
    manifest_path,
)
from eventlog.walk import ChainBreakError, Cursor, walk_events

Progress = Callable[[int, int], None]


@dataclass
class VerifyReport:
    """The outcome: `ok`, how far the log checked out, and the first bad LSN and why."""

    ok: bool = True
    records: int = 0
    segments: int = 0
    head_lsn: int = 0
    bytes: int = 0
    first_bad_lsn: int | None = None
    reason: str = ""
    path: str = ""
    offset: int = -1
    keys: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    pruned_unchecked: list[str] = field(default_factory=list)
    pruned_fetched: int = 0

    def fail(self, lsn: int, reason: str, path: Path | None = None, offset: int = -1) -> None:
        self.ok, self.first_bad_lsn, self.reason = False, lsn, reason
        self.path, self.offset = (str(path) if path else ""), offset


class _VerifyFailedError(Exception):
    def __init__(self, lsn: int, reason: str, offset: int = -1) -> None:
        super().__init__(reason)
        self.lsn, self.reason, self.offset = lsn, reason, offset


@dataclass(frozen=True)
class KeylessPolicy:
    """Who must have signed sigstore bundles beside manifests (None: any signer)."""

    identity: str | None = None
    issuer: str | None = None


def verify_log(
    log_dir: Path,
    trusted_keys: dict[str, bytes] | None = None,
    progress: Progress | None = None,
    deep: bool = False,
    keyless: KeylessPolicy | None = None,
    fetch: SegmentSource | None = None,
) -> VerifyReport:
    """Check the whole log. With `trusted_keys` the first key must be one of them;
    without, the key announced at LSN 1 is trusted on first use.

    Every seal must match the hash chain; its signature is checked for the last seal of
    each segment, which authenticates all records before it, or for every seal if `deep`.
    Sigstore bundles found beside manifests are checked too (see `eventlog.keyless`).
    Pruned segments are fetched through `fetch` and checked, or without it reported unchecked.
    """
    report = VerifyReport()
    if not Path(log_dir).is_dir():
        report.fail(1, f"{log_dir} is not a log directory (run `bkgdb init`)")
        return report
    segments = list_segments(Path(log_dir))
    if not segments:
        report.fail(1, f"{log_dir} holds no log segments")
        return report
    ring = KeyRing(trusted_keys)
    total = sum(path.stat().st_size for _, path in segments)
    cursor = Cursor.at(0, GENESIS_HASH, SEGMENT_HEADER_SIZE)
    try:
        pruned = pruned_manifests(Path(log_dir))
        check_pruned(pruned, segments[0][0])
        if pruned and fetch is None:
            cursor = _skip_pruned(pruned, ring, report)
    except (CorruptLogError, _VerifyFailedError) as exc:
        report.fail(exc.lsn, str(exc))
        return report
    items: list[tuple[int, Path | None]] = list(segments)
    if fetch is not None:
        items = [(manifest.first_lsn, None) for manifest in pruned] + items
    for position, (base, local) in enumerate(items):
        newest = position == len(items) - 1
        manifest = manifest_path(Path(log_dir) / format_segment_name(base))
        path = local or Path(log_dir) / format_segment_name(base)
        try:
            if local is None and fetch is not None:
                path = fetch(base)
                report.pruned_fetched += 1
            _verify_segment(path, manifest, base, cursor, ring, report, newest, deep)
            _check_keyless(manifest, base, keyless or KeylessPolicy(), report)
        except CorruptLogError as exc:
            report.fail(exc.lsn, str(exc), path)
            break
        except _VerifyFailedError as failure:
            report.fail(failure.lsn, failure.reason, path, failure.offset)
            break
        report.segments += 1
        if progress:
            progress(report.bytes, total)
    report.head_lsn = cursor.sealed_lsn
    report.warnings.extend(ring.restore_notes)
    report.keys = {key_id: raw.hex() for key_id, raw in ring.public_keys().items()}
    return report


def _skip_pruned(pruned: list[Manifest], ring: KeyRing, report: VerifyReport) -> Cursor:
    """Without their bytes, pruned segments are checked as a chain of manifests (already
    done) with good signatures where the key is known; the walk resumes after them."""
    for manifest in pruned:
        if manifest.key_id in ring and not manifest.verify(ring):
            raise _VerifyFailedError(
                manifest.first_lsn, f"pruned {manifest.segment}: bad manifest signature"
            )
    last = pruned[-1]
    report.pruned_unchecked = [manifest.segment for manifest in pruned]
    report.warnings.append(
        f"{len(pruned)} segment(s) holding LSNs 1..{last.last_lsn} are pruned from local disk "
        "and were not checked (their manifests link up); --fetch-archived checks them"
    )
    return Cursor.at(last.last_lsn, bytes.fromhex(last.chain_head), SEGMENT_HEADER_SIZE)


def _verify_segment(
    path: Path,
    manifest: Path,
    base: int,
    cursor: Cursor,
    ring: KeyRing,
    report: VerifyReport,
    newest: bool,
    deep: bool,
) -> None:
    data = path.read_bytes()
    try:
        header_base, prev_hash = decode_segment_header(data)
    except ValueError as exc:
        raise _VerifyFailedError(base, f"segment {path.name}: {exc}", 0) from exc
    if header_base != base or base != cursor.sealed_lsn + 1 or prev_hash != cursor.sealed_chain:
        raise _VerifyFailedError(
            cursor.sealed_lsn + 1, f"segment {path.name} does not follow its predecessor"
        )
    if cursor.sealed_lsn != cursor.lsn:
        raise _VerifyFailedError(
            cursor.sealed_lsn + 1, "records after the last seal of the previous segment"
        )
    cursor.offset = SEGMENT_HEADER_SIZE
    if base == 1:
        _trust_first_key(data, ring)
    _walk_segment(data, path, cursor, ring, report, newest, deep)
    if cursor.sealed_lsn >= base and not ring.verify(
        cursor.seal_key_id,
        cursor.seal_signature,
        seal_message(cursor.sealed_lsn, cursor.sealed_chain),
        cursor.sealed_lsn,
    ):
        raise _VerifyFailedError(base, f"{path.name}: the last seal's signature does not verify")
    report.bytes += len(data)
    if manifest.exists():
        _check_manifest(manifest, data, base, prev_hash, cursor, ring)
    elif not newest:
        raise _VerifyFailedError(
            cursor.sealed_lsn + 1, f"sealed segment {path.name} has no manifest"
        )


def _check_keyless(
    manifest: Path, first_lsn: int, policy: KeylessPolicy, report: VerifyReport
) -> None:
    if not bundle_path(manifest).exists():
        return
    check = check_bundle(manifest, policy.identity, policy.issuer)
    if not check.ok:
        raise _VerifyFailedError(first_lsn, f"{manifest.name}: {check.note}")
    if check.note:
        report.warnings.append(f"{manifest.name}: {check.note}")


def _trust_first_key(data: bytes, ring: KeyRing) -> None:
    """Learn the key that LSN 1 announces, so that the first seal can be checked."""
    try:
        frame = decode_frame(data, SEGMENT_HEADER_SIZE)
        _, _, kind, _, _, payload = unpack_body(frame.body)
    except (FrameError, ValueError) as exc:
        raise _VerifyFailedError(
            1, f"the first record is unreadable: {exc}", SEGMENT_HEADER_SIZE
        ) from exc
    problem = ring.learn(payload, 1) if kind == KEY_EVENT_KIND else "LSN 1 announces no key"
    if problem:
        raise _VerifyFailedError(1, problem, SEGMENT_HEADER_SIZE)


def _walk_segment(
    data: bytes,
    path: Path,
    cursor: Cursor,
    ring: KeyRing,
    report: VerifyReport,
    newest: bool,
    deep: bool,
) -> None:
    try:
        for lsn, _, frame, _ in walk_events(data, cursor):
            report.records += 1
            if b"key." in frame:
                _learn_key(frame[HEADER_SIZE:], lsn, ring)
            if deep and lsn == cursor.lsn:
                _check_group_seal(path, cursor, ring)
    except ChainBreakError as exc:
        raise _VerifyFailedError(exc.lsn, f"{path.name}: {exc}", exc.offset) from exc
    except FrameError as exc:
        if newest and exc.truncated:
            report.warnings.append(
                f"{path.name}: incomplete group after LSN {cursor.sealed_lsn} "
                "(being written, or torn by a crash: cut on the next open)"
            )
            return
        raise _VerifyFailedError(cursor.lsn + 1, f"{path.name}: {exc}", exc.offset) from exc
    if cursor.lsn != cursor.sealed_lsn:
        if not newest:
            raise _VerifyFailedError(
                cursor.sealed_lsn + 1, f"{path.name}: records after the last seal"
            )
        report.warnings.append(f"{path.name}: unsealed records after LSN {cursor.sealed_lsn}")


def _check_group_seal(path: Path, cursor: Cursor, ring: KeyRing) -> None:
    """`--deep`: the signature of the seal that has just released a group, checked after
    the group's key announcements are learned (a restore's `key.restored` group is sealed
    by the key it announces)."""
    message = seal_message(cursor.lsn, cursor.chain)
    if ring.verify(cursor.seal_key_id, cursor.seal_signature, message, cursor.lsn):
        return
    key_id = cursor.seal_key_id
    reason = "unknown signing key" if key_id not in ring else "bad seal signature"
    raise _VerifyFailedError(
        cursor.sealed_lsn + 1, f"{path.name}: {reason} ({key_id})", cursor.offset
    )


def _learn_key(body: bytes, lsn: int, ring: KeyRing) -> None:
    try:
        _, _, kind, _, _, payload = unpack_body(body)
    except ValueError as exc:
        raise _VerifyFailedError(lsn, f"record {lsn} is not a valid envelope: {exc}") from exc
    if kind == KEY_EVENT_KIND and lsn != 1:
        problem = ring.learn(payload, lsn)
        if problem:
            raise _VerifyFailedError(lsn, problem)


def _check_manifest(
    path: Path, data: bytes, base: int, prev_hash: bytes, cursor: Cursor, ring: KeyRing
) -> None:
    bad = cursor.sealed_lsn + 1
    where = f"{path.name} (seal of LSNs {base}..{cursor.sealed_lsn})"
    try:
        raw = path.read_bytes()
        manifest = Manifest.from_json(raw)
    except (OSError, ValueError) as exc:
        raise _VerifyFailedError(base, f"{where} is unreadable: {exc}") from exc
    expected = {
        "first_lsn": base,
        "last_lsn": cursor.sealed_lsn,
        "count": cursor.sealed_lsn - base + 1,
        "prev_hash": prev_hash.hex(),
        "chain_head": cursor.sealed_chain.hex(),
        "size": len(data),
    }
    for name, value in expected.items():
        if getattr(manifest, name) != value:
            raise _VerifyFailedError(min(bad, base), f"{where}: {name} does not match the segment")
    if manifest.sha256 != hashlib.sha256(data).hexdigest():
        raise _VerifyFailedError(base, f"{where}: file digest does not match the segment")
    if not manifest.verify(ring):
        raise _VerifyFailedError(base, f"{where}: bad manifest signature ({manifest.key_id})")
    if raw != manifest.to_json():  # same fields, other bytes: altered outside the writer
        raise _VerifyFailedError(base, f"{where}: bytes differ from the sealed form")
