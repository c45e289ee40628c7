"""Process logging: one line per event on stderr, as JSON or as text (`--log-format`).

Log calls carry their facts as `extra` fields (`log.info("checkpoint", extra={"lsn": 42})`);
the formatter writes every such field, the level, the logger's name, the message and the
trace id of the work in progress (`api.tracecontext`), so that a JSON line is one object a
log pipeline can index without parsing prose. What goes into a field is chosen by the code
that logs it: never a key, token, password or SQL parameter value.

    text   2026-12-07T23:01:45.123Z INFO bkgdb.request request method=GET route=/healthz ...
    json   {"ts": "2026-12-07T23:01:45.123Z", "level": "info", "logger": "bkgdb.request", ...}
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

from api.tracecontext import current_trace_id

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
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


def _timestamp(record: logging.LogRecord) -> str:
    """UTC, ISO 8601 with milliseconds."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


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
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """`ts LEVEL logger message key=value ...`, the traceback (if any) on following lines."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = " ".join(f"{k}={_text(v)}" for k, v in fields_of(record).items())
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        if pairs:
            line = f"{line} {pairs}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def _text(value: Any) -> str:
    """A field's value in a text line: quoted when it holds a space, `=` or a quote."""
    text = "-" if value is None else str(value)
    return json.dumps(text) if any(c in text for c in ' ="\n') else text


def configure(log_format: str = "text", level: str = "info", stream: TextIO | None = None) -> None:
    """Send every logger's records at `level` or above to `stream` (stderr) in `log_format`,
    replacing handlers a previous call installed (the process's one logging setup)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format is one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    if level not in LOG_LEVELS:
        raise ValueError(f"log level is one of {', '.join(LOG_LEVELS)}, not {level!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
