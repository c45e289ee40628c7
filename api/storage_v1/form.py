"""A `multipart/form-data` upload streamed into the object service.

The clients send `cacheControl` and, optionally, `metadata` (a JSON object) as fields,
then the bytes as one file field. The body is parsed as it arrives (`multipart`'s push
parser), on the worker thread that stores the object: the fields before the file are
collected (at most `MAX_FIELDS_BYTES` in all), then the file's bytes stream into the blob
store and never sit in memory whole. A body that breaks off or is malformed fails the
upload, which then records nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

from multipart import (  # type: ignore[import-untyped]
    MultipartError,
    MultipartSegment,
    PushMultipartParser,
)

from api.storage.errors import BadObjectRequestError

MAX_FIELDS_BYTES = 64 * 1024
MAX_SEGMENTS = 16
Event: TypeAlias = "MultipartSegment | bytes | None"


@dataclass
class FormUpload:
    """The fields sent before the file, the file's declared type, and its bytes."""

    fields: dict[str, str]
    content_type: str | None
    chunks: Iterator[bytes]


def boundary_of(content_type: str) -> str | None:
    """The boundary of a `multipart/form-data` Content-Type, None for any other type."""
    essence, _, params = content_type.partition(";")
    if essence.strip().lower() != "multipart/form-data":
        return None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "boundary" and value.strip():
            return value.strip().strip('"')
    raise BadObjectRequestError("multipart/form-data without a boundary")


def open_form(body: Iterable[bytes], boundary: str) -> FormUpload:
    """Read the form up to its file field (blocking: call it on a worker thread)."""
    try:
        parser = PushMultipartParser(boundary, max_segment_count=MAX_SEGMENTS)
    except MultipartError as exc:
        raise BadObjectRequestError(f"malformed multipart body: {exc}") from exc
    events = _events(parser, body)
    fields: dict[str, str] = {}
    budget = MAX_FIELDS_BYTES
    for event in events:
        if not isinstance(event, MultipartSegment):
            continue
        if event.filename is not None or event.name == "file":
            return FormUpload(fields, event.content_type, _file(events))
        value = bytearray()
        for part in events:
            if part is None:
                break
            if isinstance(part, bytes):
                budget -= len(part)
                if budget < 0:
                    raise BadObjectRequestError(f"form fields over {MAX_FIELDS_BYTES} bytes")
                value += part
        fields[event.name or ""] = value.decode("utf-8", "replace")
    raise BadObjectRequestError("the form has no file field")


def _events(parser: PushMultipartParser, body: Iterable[bytes]) -> Iterator[Event]:
    try:
        for chunk in body:
            if chunk:
                yield from parser.parse(chunk)
            if parser.closed:
                return  # the closing boundary: whatever follows is not read
        yield from parser.parse(b"")  # the end of input: an incomplete form fails
    except MultipartError as exc:
        raise BadObjectRequestError(f"malformed multipart body: {exc}") from exc


def _file(events: Iterator[Event]) -> Iterator[bytes]:
    """The file's bytes; then the rest of the form is read (at most `MAX_FIELDS_BYTES` of
    it), so that a body which breaks off after the file still fails the upload."""
    for event in events:
        if event is None:
            break
        if isinstance(event, bytes):
            yield event
    budget = MAX_FIELDS_BYTES
    for event in events:
        budget -= len(event) if isinstance(event, bytes) else 0
        if budget < 0:
            raise BadObjectRequestError(f"more than {MAX_FIELDS_BYTES} bytes after the file")
