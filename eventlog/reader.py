"""Reading records back: from the writer's own process, or from any other process.

A read walks segment files through `mmap`, starting from the sparse index entry at or
before the wanted LSN, and checks CRCs, order and the hash chain as it goes. Inside the
writer's process a read stops at the durable end the writer reports; another process
(the CLI while a server runs) sees exactly the records some seal covers.

Segments pruned from local disk (`eventlog.pruned`) appear as spans too; their bytes come
from the `segment_source` the reader was given, checked by the same walk.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple, TypeVar

from eventlog.errors import CorruptLogError
from eventlog.framing import HEADER_SIZE, FrameError
from eventlog.pruned import SegmentSource, check_pruned, pruned_manifests, unavailable
from eventlog.record import Record, unpack_body
from eventlog.segments import (
    SEGMENT_HEADER_SIZE,
    Manifest,
    SparseIndex,
    decode_segment_header,
    format_segment_name,
    index_path,
    list_segments,
    manifest_path,
)
from eventlog.walk import ChainBreakError, Cursor, walk_events

T = TypeVar("T")


class SealedRecord(NamedTuple):
    """A record and, if it is the last of its group commit, the seal frame as stored.

    Shipping seals with records lets a reader elsewhere (a replica fed from Kafka) check
    the signatures without access to the segment files.
    """

    record: Record
    seal: bytes | None


@dataclass(frozen=True)
class Span:
    """A readable stretch of one segment: up to `end` bytes, or to EOF while unsealed.

    `fetch` supplies a local copy of a sealed segment whose file is not (or no longer) at
    `path` because it was pruned.
    """

    base_lsn: int
    path: Path
    prev_chain: bytes
    last_lsn: int | None
    end: int | None
    index: SparseIndex | None
    live: bool = False
    fetch: SegmentSource | None = None


def pruned_span(log_dir: Path, manifest: Manifest, source: SegmentSource | None) -> Span:
    """The span of a pruned segment, read through `source`."""
    path = log_dir / format_segment_name(manifest.first_lsn)
    prev = bytes.fromhex(manifest.prev_hash)
    return Span(
        manifest.first_lsn, path, prev, manifest.last_lsn, manifest.size, None, False,
        source or unavailable,
    )  # fmt: skip


def read_spans(
    spans: list[Span], from_lsn: int, to_lsn: int | None = None, with_chain: bool = True
) -> Iterator[Record]:
    """Records `from_lsn..to_lsn` of the spans, checked as they are read."""

    def walk(span: Span, mapped: mmap.mmap) -> Iterator[Record]:
        return _records(span, mapped, from_lsn, to_lsn, with_chain)

    return _each_span(spans, from_lsn, to_lsn, walk)


def read_sealed(
    spans: list[Span], from_lsn: int, to_lsn: int | None = None
) -> Iterator[SealedRecord]:
    """Records with the stored seal frame attached to the last record of each group."""

    def walk(span: Span, mapped: mmap.mmap) -> Iterator[SealedRecord]:
        cursor = _start(span, from_lsn)
        # While a group's events are yielded the cursor stands on the seal covering them.
        for record in _records(span, mapped, from_lsn, to_lsn, True, cursor):
            yield SealedRecord(record, cursor.seal_frame if record.lsn == cursor.lsn else None)

    return _each_span(spans, from_lsn, to_lsn, walk)


def _each_span(
    spans: list[Span],
    from_lsn: int,
    to_lsn: int | None,
    walk: Callable[[Span, mmap.mmap], Iterator[T]],
) -> Iterator[T]:
    """Map each span that overlaps the range and walk it."""
    for span in spans:
        if span.last_lsn is not None and span.last_lsn < from_lsn:
            continue
        if to_lsn is not None and span.base_lsn > to_lsn:
            return
        with _open_span(span) as handle:
            size = os.fstat(handle.fileno()).st_size
            end = size if span.end is None else min(span.end, size)
            if end <= SEGMENT_HEADER_SIZE:
                continue
            with mmap.mmap(handle.fileno(), end, prot=mmap.PROT_READ) as mapped:
                yield from walk(span, mapped)


def _open_span(span: Span) -> BinaryIO:
    try:
        return open(span.path, "rb")
    except FileNotFoundError:
        if span.fetch is None:
            raise
        return open(span.fetch(span.base_lsn), "rb")


def _start(span: Span, from_lsn: int) -> Cursor:
    point = span.index.floor(from_lsn) if span.index else None
    if point is None:
        return Cursor.at(span.base_lsn - 1, span.prev_chain, SEGMENT_HEADER_SIZE)
    lsn, offset, chain_before = point
    return Cursor.at(lsn - 1, chain_before, offset)


def _records(
    span: Span,
    mapped: mmap.mmap,
    from_lsn: int,
    to_lsn: int | None,
    with_chain: bool,
    cursor: Cursor | None = None,
) -> Iterator[Record]:
    """Decode the checked events of one mapped segment (the hot loop of every read)."""
    cursor = cursor or _start(span, from_lsn)
    last = to_lsn if to_lsn is not None else 2**64
    unpack = unpack_body
    with _damage_reported(span, cursor):
        for lsn, _, frame, chain in walk_events(mapped, cursor, chain=with_chain):
            if lsn < from_lsn:
                continue
            if lsn > last:
                return
            version, ts_us, kind, actor, namespace, payload = unpack(frame[HEADER_SIZE:])
            yield Record(lsn, ts_us, kind, actor, namespace, payload, version, chain, frame)


@contextmanager
def _damage_reported(span: Span, cursor: Cursor) -> Iterator[None]:
    """Turn a bad frame into CorruptLogError naming its LSN -- except at the end of the
    newest segment of a log another process writes, where a group is being written."""
    try:
        yield
    except FrameError as exc:
        if not span.live:
            raise CorruptLogError(
                f"segment {span.path.name}: {exc} at offset {exc.offset}",
                lsn=cursor.lsn + 1,
                path=str(span.path),
                offset=exc.offset,
            ) from exc
    except ChainBreakError as exc:
        raise CorruptLogError(
            f"segment {span.path.name}: {exc}", lsn=exc.lsn, path=str(span.path), offset=exc.offset
        ) from exc


def load_index(segment: Path) -> SparseIndex | None:
    """A sealed segment's index, or None when it is missing or damaged (it is derived)."""
    try:
        return SparseIndex.from_bytes(index_path(segment).read_bytes())
    except (OSError, ValueError):
        return None


class LogReader:
    """Read-only access to a log directory, safe while a writer in another process runs.

    `segment_source` supplies pruned segments (see `eventlog.pruned`)."""

    def __init__(self, log_dir: Path, segment_source: SegmentSource | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.segment_source = segment_source
        if not self.log_dir.is_dir():
            raise CorruptLogError(f"{self.log_dir} is not a log directory", lsn=1)

    def spans(self) -> list[Span]:
        segments = list_segments(self.log_dir)
        pruned = pruned_manifests(self.log_dir)
        _, prev_chain = check_pruned(pruned, segments[0][0] if segments else None)
        source = self.segment_source
        spans = [pruned_span(self.log_dir, manifest, source) for manifest in pruned]
        for position, (base, path) in enumerate(segments):
            manifest = _manifest(path)
            if manifest is not None:
                index = load_index(path)
                last, size = manifest.last_lsn, manifest.size
                spans.append(Span(base, path, prev_chain, last, size, index, False, source))
                prev_chain = bytes.fromhex(manifest.chain_head)
                continue
            live = position == len(segments) - 1
            try:
                _, prev_chain = decode_segment_header(path.read_bytes()[:SEGMENT_HEADER_SIZE])
            except ValueError as exc:
                if live:
                    break
                raise CorruptLogError(f"segment {path.name}: {exc}", lsn=base) from exc
            spans.append(Span(base, path, prev_chain, None, None, None, live=live))
        return spans

    def read(
        self, from_lsn: int = 1, to_lsn: int | None = None, with_chain: bool = True
    ) -> Iterator[Record]:
        """Sealed records in LSN order; see `EventLog.read` for `with_chain`."""
        return read_spans(self.spans(), max(from_lsn, 1), to_lsn, with_chain)

    def read_sealed(self, from_lsn: int = 1, to_lsn: int | None = None) -> Iterator[SealedRecord]:
        return read_sealed(self.spans(), max(from_lsn, 1), to_lsn)

    @property
    def head_lsn(self) -> int:
        """The last sealed LSN: a scan of the newest segment only."""
        spans = self.spans()
        if not spans:
            return 0
        last = spans[-1]
        head = last.base_lsn - 1
        for record in read_spans([last], last.base_lsn):
            head = record.lsn
        return head


def _manifest(path: Path) -> Manifest | None:
    try:
        return Manifest.from_json(manifest_path(path).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise CorruptLogError(f"manifest of {path.name} is unreadable: {exc}", lsn=0) from exc


def records_in(path: Path, start: int, end: int, after_lsn: int) -> Iterator[Record]:
    """The records in bytes `start..end` of a segment, whose first event is `after_lsn + 1`
    (the bytes are the writer's own, durable and sealed: CRCs and order are checked, the
    hash chain is not recomputed)."""
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), end, prot=mmap.PROT_READ) as data:
        cursor = Cursor.at(after_lsn, b"", max(start, SEGMENT_HEADER_SIZE))
        for lsn, _, frame, _ in walk_events(data, cursor, chain=False):
            version, ts_us, kind, actor, namespace, payload = unpack_body(frame[HEADER_SIZE:])
            yield Record(lsn, ts_us, kind, actor, namespace, payload, version, b"", frame)
