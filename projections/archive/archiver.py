"""The archive consumer: keeps an object store (S3) a faithful copy of the log.

Every `interval` seconds (and on `sync_now`) one pass (the first of a process starts by
checking that the archive under the prefix is this log's history, see
`_check_same_history`):

1. uploads each sealed segment not yet archived, then its manifest, then drops the pieces
   of it that were uploaded while it was active;
2. uploads the durable prefix of the active segment that grew since the last pass, as one
   piece `active/<base>/<offset>` and its signed manifest (`pieces`): every acknowledged
   record is in the archive within one interval, not only when its segment fills;
3. uploads checkpoints newer than the last one archived (database first, manifest last).

With an `attachments` function (`projections.archive.attachments`), the files the records
of a piece or segment name are uploaded before it: the cursor passing a record means its
files are archived too. A file gone locally by then is counted in `attachments_missing`,
logged and skipped.

Progress (segment, offset, LSN, checkpoint) is a crash-safe cursor file under
data/consumers/, saved after each upload, so a restart resumes where it stopped and an
upload is at worst repeated, never skipped. A failing pass (S3 down) is retried on the next
tick with a growing pause; the log never waits for the archive, only its lag grows. A
clean stop runs one last pass, unless the last one failed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from eventlog import (
    Manifest,
    SigningKey,
    Span,
    format_segment_name,
    last_seal,
    manifest_path,
    records_in,
    write_atomic,
)
from projections.archive import layout
from projections.archive.attachments import Attachments, upload_file
from projections.archive.errors import ArchiveError
from projections.archive.pieces import piece_manifest
from projections.blobs.blobstore import BlobStore, exists, file_chunks, list_all
from projections.checkpoints import parse_checkpoint_name
from projections.tracing import root_span

logger = logging.getLogger(__name__)

CURSOR_FILE = "archive.cursor"
RETRY_MAX_S = 30.0


class ArchivedLog(Protocol):
    """What the archiver reads of the log (`eventlog.EventLog`)."""

    @property
    def head_lsn(self) -> int: ...

    @property
    def signing_key(self) -> SigningKey: ...

    def spans(self) -> list[Span]: ...


@dataclass
class ArchiveCursor:
    """How far the archive reaches: segments before `segment` are archived whole, `offset`
    bytes of segment `segment`, which hold every record up to `lsn` (chain value `chain`)."""

    segment: int = 1
    offset: int = 0
    lsn: int = 0
    checkpoint_lsn: int = 0
    chain: str = ""

    @classmethod
    def load(cls, path: Path) -> ArchiveCursor:
        try:
            return cls(**json.loads(path.read_bytes()))
        except FileNotFoundError:
            return cls()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(asdict(self)).encode() + b"\n")


class Archiver:
    """Copies one log directory's segments and checkpoints to `remote`."""

    def __init__(
        self,
        log: ArchivedLog,
        log_dir: Path,
        checkpoints_dir: Path,
        consumers_dir: Path,
        remote: BlobStore,
        interval_s: float = 1.0,
        attachments: Attachments | None = None,
    ) -> None:
        self.log = log
        self.log_dir = log_dir
        self.checkpoints_dir = checkpoints_dir
        self.remote = remote
        self.interval_s = interval_s
        self.attachments = attachments
        self.attachments_missing = 0
        self.cursor_path = consumers_dir / CURSOR_FILE
        self.cursor = ArchiveCursor.load(self.cursor_path)
        self.errors_total = 0
        self.last_error: str | None = None
        # Run at the end of each successful pass, under the pass's lock (retention).
        self.after_pass: Callable[[], None] | None = None
        self._lock = threading.Lock()
        self._checked = False
        self._fresh: set[int] = set()
        self._missing: set[str] = set()
        self._stop = threading.Event()
        self._failing = False
        self._thread: threading.Thread | None = None

    @property
    def lag_records(self) -> int:
        """Acknowledged records not yet in the archive."""
        return max(self.log.head_lsn - self.cursor.lsn, 0)

    def start(self) -> None:
        """Run passes on a daemon thread until `stop`."""
        self._thread = threading.Thread(target=self._run, name="bkg-archiver", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the passes, then run one more unless the last one failed (S3 is likely
        still away, and trying would only delay the stop): a clean stop leaves what was
        acknowledged before it archived, with the files its records name, which may not
        outlive the process (replaced blobs are removed when the server stops)."""
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join(timeout)
        if not self._failing:
            try:
                self.sync_now()
            except Exception as exc:
                logger.warning(
                    "last archive pass before stopping failed: %s",
                    exc,
                    extra={"event": "consumer_error", "consumer": "archive"},
                )

    def _run(self) -> None:
        pause = self.interval_s
        while not self._stop.wait(pause):
            try:
                self.sync_now()
                pause, self._failing = self.interval_s, False
            except Exception as exc:
                self.errors_total += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning(
                    "archive pass failed, retrying: %s",
                    exc,
                    extra={"event": "consumer_error", "consumer": "archive"},
                )
                pause = min(max(pause * 2, self.interval_s), RETRY_MAX_S)
                self._failing = True

    def sync_now(self) -> int:
        """One pass; returns the LSN the archive now reaches."""
        with self._lock, root_span("archive.pass"):
            if not self._checked:
                self._check_same_history()
                self._checked = True
            self._upload_config()
            spans = self.log.spans()
            for position, span in enumerate(spans):
                self._archive_span(span, sealed=position < len(spans) - 1)
            self._archive_checkpoints()
            if self.after_pass is not None:
                self.after_pass()
            return self.cursor.lsn

    def _check_same_history(self) -> None:
        """Refuse to write into an archive of another history (a restored copy pointed at
        the prefix it came from, another server's archive): its newest sealed segment must
        be one this log has sealed too, with the same chain head."""
        manifests = [k for k in list_all(self.remote, layout.LOG) if k.endswith(".manifest")]
        if manifests:
            base = int(manifests[-1].removeprefix(layout.LOG).split(".")[0])
            remote = Manifest.from_json(b"".join(self.remote.get(manifests[-1])))
            local = manifest_path(self.log_dir / format_segment_name(base))
            if not local.exists() or Manifest.from_json(local.read_bytes()) != remote:
                raise ArchiveError(
                    f"the archive holds another history than this log (segment {base});"
                    " archive to a new prefix"
                )

    def _drop_stale_pieces(self, base: int, start: int) -> None:
        """Before this process writes its first piece of segment `base`, drop pieces of it
        from `start` on that an earlier run left (uploaded after its last saved cursor, or
        of a restored copy's former history): the pieces this run writes replace them."""
        if base in self._fresh:
            return
        for key in list_all(self.remote, f"{layout.ACTIVE}{base:020d}/"):
            piece = layout.parse_part_key(key.removesuffix(".manifest"))
            if piece is not None and piece[1] >= start:
                self.remote.delete(key)
        self._fresh.add(base)

    def _upload_config(self) -> None:
        if self.cursor.lsn == 0 and (self.log_dir / "config.json").exists():
            self.remote.put(layout.CONFIG, file_chunks(self.log_dir / "config.json"))

    def _archive_span(self, span: Span, sealed: bool) -> None:
        """A segment the writer has moved past is sealed (its manifest exists); the last
        one is active, even if a manifest appeared for it a moment ago, and waits for its
        first record (a piece is uploaded only once it ends on a seal)."""
        cursor = self.cursor
        if span.base_lsn < cursor.segment or span.end is None or span.last_lsn is None:
            return
        if sealed:
            self._archive_sealed(span, manifest_path(span.path))
        elif span.end > cursor.offset and span.last_lsn >= span.base_lsn:
            self._archive_piece(span, span.end, span.last_lsn)

    def _archive_piece(self, span: Span, end: int, last_lsn: int) -> None:
        """Bytes `cursor.offset..end` of the active segment, then their signed manifest."""
        cursor = self.cursor
        start, first_lsn = cursor.offset, cursor.lsn + 1
        prev_chain = span.prev_chain if start == 0 else bytes.fromhex(cursor.chain)
        self._drop_stale_pieces(span.base_lsn, start)
        self._archive_attachments(span.path, start, end, cursor.lsn)
        name = layout.part_key(span.base_lsn, start)
        written = self.remote.put(name, file_chunks(span.path, start, end))
        seal = last_seal(span.path, start, end)
        key = self.log.signing_key
        if seal is not None and seal[0] == key.key_id:
            manifest = piece_manifest(name, first_lsn, last_lsn, prev_chain, seal[1], written, key)
            self.remote.put(layout.part_manifest_key(span.base_lsn, start), [manifest.to_json()])
        cursor.offset, cursor.lsn = end, last_lsn
        cursor.chain = seal[1].hex() if seal is not None else ""
        cursor.save(self.cursor_path)

    def _archive_sealed(self, span: Span, manifest: Path) -> None:
        """Segment first, manifest last (a manifest in the archive means the segment is
        whole), then the pieces uploaded while it was active are dropped."""
        assert span.end is not None and span.last_lsn is not None
        cursor = self.cursor
        if not span.path.exists():
            self._pruned_segment_archived(span)
        else:
            resumed = cursor.segment == span.base_lsn  # its first pieces are archived
            start, after = (cursor.offset, cursor.lsn) if resumed else (0, span.base_lsn - 1)
            self._archive_attachments(span.path, start, span.end, after)
            self.remote.put(
                layout.segment_key(span.base_lsn, "seg"), file_chunks(span.path), span.end
            )
        self.remote.put(layout.segment_key(span.base_lsn, "manifest"), file_chunks(manifest))
        for key in list_all(self.remote, f"{layout.ACTIVE}{span.base_lsn:020d}/"):
            self.remote.delete(key)
        cursor.segment, cursor.offset, cursor.lsn = span.last_lsn + 1, 0, span.last_lsn
        cursor.save(self.cursor_path)

    def _archive_attachments(self, path: Path, start: int, end: int, after_lsn: int) -> None:
        """Upload the files named by the records in bytes `start..end` of a segment."""
        if self.attachments is None:
            return
        for record in records_in(path, start, end, after_lsn):
            for name, local in self.attachments(record):
                if not upload_file(self.remote, name, local) and name not in self._missing:
                    self._missing.add(name)
                    self.attachments_missing += 1
                    logger.warning(
                        "not archived: %s, named by LSN %d, is no longer on local disk",
                        local, record.lsn,
                    )  # fmt: skip

    def _pruned_segment_archived(self, span: Span) -> None:
        """A segment pruned from local disk (retention) was archived before it went; with
        the cursor lost, confirm that this archive holds it rather than upload it."""
        key = layout.segment_key(span.base_lsn, "manifest")
        if not exists(self.remote, key):
            raise ArchiveError(
                f"segment {span.base_lsn} was pruned from local disk and is not in this archive"
            )

    def _archive_checkpoints(self) -> None:
        if not self.checkpoints_dir.is_dir():
            return
        found = sorted(
            parsed[0]
            for entry in self.checkpoints_dir.iterdir()
            if (parsed := parse_checkpoint_name(entry.name)) and parsed[1] == "manifest"
        )
        for lsn in (lsn for lsn in found if lsn > self.cursor.checkpoint_lsn):
            for suffix in ("sqlite", "manifest"):
                path = self.checkpoints_dir / f"{lsn:020d}.{suffix}"
                self.remote.put(layout.checkpoint_key(lsn, suffix), file_chunks(path))
            self.cursor.checkpoint_lsn = lsn
            self.cursor.save(self.cursor_path)


def wait_for(archiver: Archiver, lsn: int, timeout_s: float) -> bool:
    """Poll until the archive reaches `lsn` (for tests and the CLI)."""
    deadline = time.monotonic() + timeout_s
    while archiver.cursor.lsn < lsn:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
