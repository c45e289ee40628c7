"""Checking segments that arrive from elsewhere (a restore's downloads), one by one in log
order, before any of them is trusted.

A sealed segment is authenticated by its signed manifest: the file's SHA-256 (computed
while it streamed in) and size, its first and last LSN, and the chain values before and
after it, which must join the previous segment's; the manifest's signature must verify with
a key the log has announced by then and not rotated out. Since the manifest signs the
digest of every byte, the segment's frames need no second walk, except where it announces
keys (they are learned from a full walk, as `bkgdb verify` does). The pieces of the active
segment (bytes `offset..` of it, each ending on a seal) are checked the same way by their
own signed manifests, one after the other; where one is missing or keys are announced, the
active segment is walked frame by frame (CRCs, LSN order, the hash chain) and its last
seal's signature checked. Either way every record restored is covered by a verified
signature. A failure is a `CorruptLogError` naming the first LSN that cannot be trusted.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from eventlog.errors import CorruptLogError
from eventlog.framing import GENESIS_HASH, HEADER, HEADER_SIZE, FrameError, decode_frame
from eventlog.keys import KEY_EVENT_KIND, KeyRing, seal_message
from eventlog.record import unpack_body
from eventlog.segments import SEGMENT_HEADER_SIZE, Manifest, decode_segment_header
from eventlog.walk import ChainBreakError, Cursor, walk_events

KEY_MARK = b"key."


class MarkScanner:
    """Finds the last `key.` in a byte stream as it passes (key announcements make a
    segment need a full walk), so no second pass over the file is needed."""

    def __init__(self) -> None:
        self.last = -1
        self._seen = 0
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        window = self._tail + chunk
        found = window.rfind(KEY_MARK)
        if found >= 0:
            self.last = self._seen - len(self._tail) + found
        self._seen += len(chunk)
        self._tail = window[-(len(KEY_MARK) - 1) :]


@dataclass(frozen=True)
class Piece:
    """A received piece of the active segment: where it starts, its size and SHA-256 as
    measured while it streamed in, and its manifest if it came with one."""

    key: str
    offset: int
    size: int
    sha256: str
    manifest: Manifest | None


class SegmentChecker:
    """Checks segments handed over in log order; `head_lsn` is how far they verified."""

    def __init__(self, trusted: dict[str, bytes] | None = None) -> None:
        self.ring = KeyRing(trusted)
        self.head_lsn = 0
        self.chain = GENESIS_HASH
        self.warnings: list[str] = []
        self.last_piece: tuple[int, bytes, int] | None = None

    def sealed(
        self, path: Path, manifest: Manifest, sha256: str, size: int, last_mark: int
    ) -> None:
        """A received sealed segment, with the digest, size and last `key.` offset
        measured while it streamed in."""
        base = self._check_header(path)
        expected = {
            "first_lsn": base,
            "prev_hash": self.chain.hex(),
            "size": size,
            "sha256": sha256,
            "count": manifest.last_lsn - base + 1,
        }
        for name, value in expected.items():
            if getattr(manifest, name) != value:
                self._fail(base, f"segment {base} does not match its manifest ({name})")
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ) as data:
            start = self._first_key(data) if base == 1 else SEGMENT_HEADER_SIZE
            if last_mark >= start:
                cursor = self._walk(path, data, base)
                if cursor.sealed_chain.hex() != manifest.chain_head:
                    self._fail(base, f"{path.name}: chain head does not match its manifest")
        if not manifest.verify(self.ring):
            self._fail(base, f"{path.name}: bad manifest signature ({manifest.key_id})")
        self.head_lsn, self.chain = manifest.last_lsn, bytes.fromhex(manifest.chain_head)

    def active(self, path: Path, pieces: list[Piece], last_mark: int) -> None:
        """The active segment, rebuilt from its pieces: each checked by its signed manifest
        when all have one and none announces keys; otherwise walked, last seal checked."""
        base = self._check_header(path)
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ) as data:
            start = self._first_key(data) if base == 1 else SEGMENT_HEADER_SIZE
            if all(p.manifest for p in pieces) and last_mark < start:
                for piece in pieces:
                    self._piece(piece)
                return
            cursor = self._walk(path, data, base)
        if cursor.sealed_lsn >= base and not self.ring.verify(
            cursor.seal_key_id,
            cursor.seal_signature,
            seal_message(cursor.sealed_lsn, cursor.sealed_chain),
            cursor.sealed_lsn,
        ):
            self._fail(base, f"{path.name}: the last seal's signature does not verify")
        self.head_lsn, self.chain = cursor.sealed_lsn, cursor.sealed_chain
        self.warnings.extend(self.ring.restore_notes)

    def _piece(self, piece: Piece) -> None:
        manifest = piece.manifest
        assert manifest is not None
        expected = {
            "segment": piece.key,
            "first_lsn": self.head_lsn + 1,
            "prev_hash": self.chain.hex(),
            "size": piece.size,
            "sha256": piece.sha256,
            "count": manifest.last_lsn - self.head_lsn,
        }
        for name, value in expected.items():
            if getattr(manifest, name) != value:
                self._fail(
                    self.head_lsn + 1, f"piece {piece.key} does not match its manifest ({name})"
                )
        if not manifest.verify(self.ring):
            self._fail(self.head_lsn + 1, f"piece {piece.key}: bad manifest signature")
        start = max(piece.offset, SEGMENT_HEADER_SIZE)
        self.last_piece = (start, self.chain, self.head_lsn + 1)
        self.head_lsn, self.chain = manifest.last_lsn, bytes.fromhex(manifest.chain_head)

    def _check_header(self, path: Path) -> int:
        with open(path, "rb") as handle:
            head = handle.read(SEGMENT_HEADER_SIZE)
        try:
            base, prev = decode_segment_header(head)
        except ValueError as exc:
            self._fail(self.head_lsn + 1, f"{path.name}: {exc}")
        if base != self.head_lsn + 1 or prev != self.chain:
            self._fail(self.head_lsn + 1, f"{path.name} does not follow its predecessor")
        return base

    def _first_key(self, data: mmap.mmap) -> int:
        """Trust the key LSN 1 announces (or check it against pinned keys); returns the
        offset after that first record."""
        try:
            length = HEADER.unpack_from(data, SEGMENT_HEADER_SIZE)[0]
            frame = decode_frame(
                data[: SEGMENT_HEADER_SIZE + HEADER_SIZE + length], SEGMENT_HEADER_SIZE
            )
            _, _, kind, _, _, payload = unpack_body(frame.body)
        except (FrameError, ValueError) as exc:
            self._fail(1, f"the first record is unreadable: {exc}")
        problem = self.ring.learn(payload, 1) if kind == KEY_EVENT_KIND else "no key at LSN 1"
        if problem:
            self._fail(1, problem)
        return frame.end

    def _walk(self, path: Path, data: mmap.mmap, base: int) -> Cursor:
        """Every frame of a segment: CRC, order, chain, seals; keys learned on the way."""
        cursor = Cursor.at(base - 1, self.chain, SEGMENT_HEADER_SIZE)
        try:
            for lsn, _, frame, _ in walk_events(data, cursor):
                if KEY_MARK in frame and lsn != 1:
                    self._learn(frame, lsn)
        except ChainBreakError as exc:
            self._fail(exc.lsn, f"{path.name}: {exc}")
        except FrameError as exc:
            if not exc.truncated:
                self._fail(cursor.lsn + 1, f"{path.name}: {exc}")
            self.warnings.append(f"{path.name}: incomplete group after LSN {cursor.sealed_lsn}")
        return cursor

    def _learn(self, frame: bytes, lsn: int) -> None:
        _, _, kind, _, _, payload = unpack_body(frame[HEADER_SIZE:])
        if kind == KEY_EVENT_KIND:
            problem = self.ring.learn(payload, lsn)
            if problem:
                self._fail(lsn, problem)

    def _fail(self, lsn: int, reason: str) -> NoReturn:
        raise CorruptLogError(reason, lsn=lsn)
