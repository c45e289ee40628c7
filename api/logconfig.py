"""Process logging: one line per event on stderr, as JSON or as text (`--log-format`).

Log calls carry their facts as `extra` fields (`log.info("checkpoint", extra={"lsn": 42})`);
the formatter writes every such field, the level, the logger's name, the message and the
trace id of the work in progress (`api.tracecontext`), so that a JSON line is one object a
log pipeline can index without parsing prose. What goes into a field is chosen by the code
that logs it: never a key, token, password or SQL parameter value.

    text   2026-12-07T23:01:45.123Z INFO bkgdb.request request method=GET route=/healthz ...
    json   {"ts": "2026-12-07T23:01:45.123Z", "level": "info", "logger": "bkgdb.request", ...}

Writing never blocks the code that logs: a record is handed to a bounded queue and written
by one thread. A stderr nobody reads (a full pipe) would otherwise stall the event loop at
the next request line; instead, once `MAX_QUEUED` records wait, further ones are dropped and
counted (`dropped()`), and the rest are written when the reader catches up. The thread
writes what has gathered in one go and then rests `BATCH_WAIT_S`: waking it for every
record (one line per request) cost a request more CPU than the rest of its logging, in
thread switches and in the lock the two threads then pass back and forth.
"""

from __future__ import annotations

import atexit
import copy
import json
import logging
import queue
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from logging.handlers import QueueHandler
from typing import Any, TextIO

from api.tracecontext import current_trace_id

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_QUEUED = 10_000
BATCH_WAIT_S = 0.02
"""How long the writer rests after writing a batch (the most a line waits for company)."""
STOP_WAIT_S = 2.0
"""How long `shutdown` waits for queued lines to be written (a stream nobody reads would
otherwise hold the process's exit forever)."""
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
"""The attributes every LogRecord has: anything else on a record came from `extra`."""


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """A record's structured fields: its `extra`, and the current trace id if any."""
    fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
    trace_id = current_trace_id.get()
    if trace_id is not None and "trace_id" not in fields:
        fields["trace_id"] = trace_id
    return fields


_second: tuple[int, str] = (-1, "")
"""The last whole second formatted, and its text (lines come many to a second)."""


def _timestamp(record: logging.LogRecord) -> str:
    """UTC, ISO 8601 with milliseconds."""
    global _second
    whole = int(record.created)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the fields, and exc if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(fields_of(record))
        traceback = _traceback(self, record)
        if traceback:
            line["exc"] = traceback
        return json.dumps(line, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """`ts LEVEL logger message key=value ...`, the traceback (if any) on following lines."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = " ".join(f"{k}={_text(v)}" for k, v in fields_of(record).items())
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        if pairs:
            line = f"{line} {pairs}"
        traceback = _traceback(self, record)
        return f"{line}\n{traceback}" if traceback else line


def _traceback(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    """A record's traceback: formatted by `Handoff`, or here when logged without it."""
    if record.exc_text:
        return record.exc_text
    return formatter.formatException(record.exc_info) if record.exc_info else None


_QUOTED = re.compile(r'[ ="\n]')


def _text(value: Any) -> str:
    """A field's value in a text line: quoted when it holds a space, `=` or a quote."""
    text = "-" if value is None else str(value)
    return json.dumps(text) if _QUOTED.search(text) else text


Records = queue.SimpleQueue[logging.LogRecord | None]


class Handoff(QueueHandler):
    """Hands records to the writer thread: what the record needs from the logging thread
    (its message, traceback and trace id) is taken here; a full queue drops the record."""

    def __init__(self, records: Records) -> None:
        super().__init__(records)
        self.records = records
        self.dropped = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        prepared = copy.copy(record)
        prepared.msg, prepared.args = record.getMessage(), None
        if record.exc_info:
            prepared.exc_text = logging.Formatter().formatException(record.exc_info)
            prepared.exc_info = None
        trace_id = current_trace_id.get()
        if trace_id is not None and "trace_id" not in prepared.__dict__:
            prepared.trace_id = trace_id
        return prepared

    def enqueue(self, record: logging.LogRecord) -> None:
        if self.records.qsize() >= MAX_QUEUED:
            self.dropped += 1
            return
        self.records.put(record)


class Writer(threading.Thread):
    """The one thread that writes records (a daemon: it never holds the process's exit)."""

    def __init__(self, records: Records, out: logging.StreamHandler[TextIO]):
        super().__init__(name="bkg-log-writer", daemon=True)
        self.records, self.out = records, out

    def run(self) -> None:
        while True:
            batch = [self.records.get()]
            while len(batch) < MAX_QUEUED and not self.records.empty():
                batch.append(self.records.get())
            lines = [record for record in batch if record is not None]
            if lines:
                self._write(lines)
            if len(lines) < len(batch):
                return
            time.sleep(BATCH_WAIT_S)

    def _write(self, records: list[logging.LogRecord]) -> None:
        """Format every record, then one write and one flush for them all (a record the
        formatter fails on is reported as `logging` does and skipped)."""
        out, lines = self.out, []
        for record in records:
            if out.filter(record):
                try:
                    lines.append(out.format(record) + out.terminator)
                except Exception:
                    out.handleError(record)
        if lines:
            try:
                out.stream.write("".join(lines))
                out.flush()
            except Exception:
                out.handleError(records[-1])

    def stop(self) -> None:
        """Write what is queued (waiting `STOP_WAIT_S` at most), then end."""
        self.records.put(None)
        self.join(STOP_WAIT_S)


_running: tuple[Handoff, Writer] | None = None


def configure(log_format: str = "text", level: str = "info", stream: TextIO | None = None) -> None:
    """Send every logger's records at `level` or above to `stream` (stderr) in `log_format`,
    through the writer thread, replacing a previous setup (the process's one logging setup)."""
    global _running
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format is one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    if level not in LOG_LEVELS:
        raise ValueError(f"log level is one of {', '.join(LOG_LEVELS)}, not {level!r}")
    shutdown()
    writer = logging.StreamHandler(stream or sys.stderr)
    writer.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    records: Records = queue.SimpleQueue()
    handoff, thread = Handoff(records), Writer(records, writer)
    thread.start()
    _running = (handoff, thread)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handoff)
    root.setLevel(level.upper())


@contextmanager
def configured(log_format: str, level: str) -> Iterator[None]:
    """`configure` for as long as the block runs (a server's life), then `shutdown`: a
    server run inside another process (a test) leaves no handler of its own behind."""
    configure(log_format, level)
    try:
        yield
    finally:
        shutdown()


def shutdown() -> None:
    """Write what is queued and stop the writer thread (at exit, or before reconfiguring);
    records logged afterwards go nowhere until `configure` runs again."""
    global _running
    if _running is None:
        return
    handoff, thread = _running
    _running = None
    logging.getLogger().removeHandler(handoff)
    thread.stop()


def dropped() -> int:
    """Records dropped because the writer could not keep up (0 without a setup)."""
    return _running[0].dropped if _running else 0


atexit.register(shutdown)
