"""Checking a stream of mirrored log frames as `bkgdb verify` checks the files.

A reader of `bkg.log` gets each record's frame exactly as stored and, on the last record
of each group commit, the seal frame (header `seal`). `StreamVerifier` checks every frame's
CRC and LSN order, recomputes the hash chain from the genesis, learns signing keys from
the key announcements in the stream (trust on first use, or pinned keys), and checks each
seal's signature over the chain head. Records are released only once a seal covers them,
so nothing unauthenticated reaches a replica. Redelivered LSNs (at-least-once) are skipped.
With `tolerate_gaps`, a record beyond a gap is dropped and counted instead of failing: the
mirror re-sends everything after its durable cursor, which is never past a gap it left
(a producer without idempotence can leave one when a batch expires and the next succeeds).
`seen_lsn` is the highest LSN any frame carried, dropped or not: beyond `lsn`, a gap is open.
"""

from __future__ import annotations

from eventlog.framing import (
    GENESIS_HASH,
    HEADER_SIZE,
    FrameError,
    FrameType,
    chain_next,
    decode_frame,
)
from eventlog.keys import KEY_EVENT_KIND, KeyRing, parse_seal, seal_message
from eventlog.record import Record, unpack_body
from projections.consumers.errors import StreamVerifyError


class StreamVerifier:
    """Feed frames in LSN order with `accept`; it returns the records a seal has just covered."""

    def __init__(
        self, trusted_keys: dict[str, bytes] | None = None, tolerate_gaps: bool = False
    ) -> None:
        self.ring = KeyRing(trusted_keys)
        self.tolerate_gaps = tolerate_gaps
        self.gaps = 0
        self.lsn = 0
        self.seen_lsn = 0
        self.verified_lsn = 0
        self.chain = GENESIS_HASH
        self._pending: list[Record] = []

    @classmethod
    def resume(
        cls, lsn: int, chain: bytes, keys: dict[str, bytes], tolerate_gaps: bool = False
    ) -> StreamVerifier:
        """Continue after `lsn` (sealed and verified before), with its chain value and the
        keys the stream had announced by then."""
        verifier = cls(keys or None, tolerate_gaps)
        verifier.lsn = verifier.verified_lsn = verifier.seen_lsn = lsn
        verifier.chain = chain
        return verifier

    def accept(self, frame: bytes, seal: bytes | None) -> list[Record]:
        """Check one event frame (and its group's seal, if it ends one)."""
        lsn = _frame_lsn(frame, self.lsn + 1)
        self.seen_lsn = max(self.seen_lsn, lsn)
        if lsn <= self.lsn:
            return []
        if lsn != self.lsn + 1 and self.tolerate_gaps:
            self.gaps += 1
            return []
        if lsn != self.lsn + 1:
            raise StreamVerifyError(f"expected LSN {self.lsn + 1}, got {lsn}", self.lsn + 1)
        record = self._decode(lsn, frame)
        self.lsn, self.chain = lsn, record.chain_hash
        self._pending.append(record)
        if seal is None:
            return []
        self._check_seal(seal, lsn)
        released, self._pending = self._pending, []
        self.verified_lsn = lsn
        return released

    def _decode(self, lsn: int, frame: bytes) -> Record:
        chain = chain_next(self.chain, frame)
        try:
            version, ts_us, kind, actor, namespace, payload = unpack_body(frame[HEADER_SIZE:])
        except ValueError as exc:
            raise StreamVerifyError(f"LSN {lsn}: bad envelope: {exc}", lsn) from exc
        if kind == KEY_EVENT_KIND:
            problem = self.ring.learn(payload, lsn)
            if problem:
                raise StreamVerifyError(f"LSN {lsn}: {problem}", lsn)
        return Record(lsn, ts_us, kind, actor, namespace, payload, version, chain, frame)

    def _check_seal(self, seal: bytes, lsn: int) -> None:
        first = self.verified_lsn + 1
        try:
            decoded = decode_frame(seal, 0)
            key_id, signature, head = parse_seal(decoded.body)
        except (FrameError, ValueError, TypeError) as exc:
            raise StreamVerifyError(f"seal after LSN {lsn} is unreadable: {exc}", first) from exc
        if decoded.type != FrameType.SEAL or decoded.lsn != lsn or head != self.chain:
            raise StreamVerifyError(f"seal after LSN {lsn} does not match the chain", first)
        if not self.ring.verify(key_id, signature, seal_message(lsn, head), lsn):
            raise StreamVerifyError(f"seal after LSN {lsn}: bad signature ({key_id})", first)


def _frame_lsn(frame: bytes, expected: int) -> int:
    """The LSN of an intact event frame that is nothing but that frame."""
    try:
        decoded = decode_frame(frame, 0)
    except FrameError as exc:
        raise StreamVerifyError(f"frame at LSN {expected}: {exc}", expected) from exc
    if decoded.type != FrameType.EVENT or decoded.end != len(frame):
        raise StreamVerifyError(f"frame at LSN {expected} is not one event frame", expected)
    return decoded.lsn
