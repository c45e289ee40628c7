"""Segment files and what sits beside them: names, headers, manifests and sparse indexes.

Names sort in log order: ``%020d.seg`` by base LSN, with ``.manifest`` (the seal of a
sealed segment, JSON) and ``.idx`` (a derived sparse index) beside it. Each name format
has one format function, one parse function and one pattern.

A segment starts with a 64-byte header ``magic | base LSN | previous chain head | pad |
CRC-32``, so every segment can be checked against its predecessor on its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import zlib
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eventlog.keys import MANIFEST_CONTEXT, KeyRing, SigningKey

SEGMENT_MAGIC = b"BKGLOG\x00\x01"
SEGMENT_HEADER = struct.Struct(">8sQ32s12x")
SEGMENT_HEADER_SIZE = SEGMENT_HEADER.size + 4
SEGMENT_PATTERN = re.compile(r"^(\d{20})\.seg$")
INDEX_MAGIC = b"BKGIDX01"
INDEX_ENTRY = struct.Struct(">QQ32s")


def format_segment_name(base_lsn: int) -> str:
    return f"{base_lsn:020d}.seg"


def parse_segment_name(name: str) -> int | None:
    """The base LSN a segment file name encodes, or None for any other file."""
    match = SEGMENT_PATTERN.match(name)
    return int(match.group(1)) if match else None


def manifest_path(segment: Path) -> Path:
    return segment.with_suffix(".manifest")


def index_path(segment: Path) -> Path:
    return segment.with_suffix(".idx")


def list_segments(log_dir: Path) -> list[tuple[int, Path]]:
    """Every segment in the directory as (base LSN, path), in log order."""
    found = []
    for entry in os.scandir(log_dir):
        base = parse_segment_name(entry.name)
        if base is not None:
            found.append((base, Path(entry.path)))
    return sorted(found)


def encode_segment_header(base_lsn: int, prev_hash: bytes) -> bytes:
    head = SEGMENT_HEADER.pack(SEGMENT_MAGIC, base_lsn, prev_hash)
    return head + struct.pack(">I", zlib.crc32(head))


def decode_segment_header(data: bytes) -> tuple[int, bytes]:
    """Return (base LSN, previous chain head); ValueError if the header is not intact."""
    if len(data) < SEGMENT_HEADER_SIZE:
        raise ValueError("segment header cut short")
    head, (crc,) = data[: SEGMENT_HEADER.size], struct.unpack_from(">I", data, SEGMENT_HEADER.size)
    if zlib.crc32(head) != crc:
        raise ValueError("segment header CRC mismatch")
    magic, base_lsn, prev_hash = SEGMENT_HEADER.unpack(head)
    if magic != SEGMENT_MAGIC:
        raise ValueError("not a bkg-db segment (bad magic)")
    return base_lsn, prev_hash


def fsync_dir(path: Path) -> None:
    """Make a directory entry change (create, rename) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Crash-safe replace: temp file, fsync, rename, fsync the directory."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Manifest:
    """The seal of a closed segment: its range, chain ends, file digest and a signature."""

    segment: str
    first_lsn: int
    last_lsn: int
    count: int
    prev_hash: str
    chain_head: str
    sha256: str
    size: int
    key_id: str
    signature: str = ""

    def signed_fields(self) -> bytes:
        fields = asdict(self)
        fields.pop("signature")
        return MANIFEST_CONTEXT + json.dumps(fields, sort_keys=True).encode()

    def signed_by(self, key: SigningKey) -> Manifest:
        unsigned = Manifest(**{**asdict(self), "key_id": key.key_id, "signature": ""})
        signature = key.sign(unsigned.signed_fields()).hex()
        return Manifest(**{**asdict(unsigned), "signature": signature})

    def verify(self, ring: KeyRing) -> bool:
        signature = bytes.fromhex(self.signature)
        return ring.verify(self.key_id, signature, self.signed_fields(), self.last_lsn)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """The manifest in `data`; ValueError for anything else -- bad JSON, another
        shape, a field of the wrong type, hex that does not decode to its length -- so
        that a damaged file is a finding and never an error further on."""
        try:
            fields = json.loads(data)
        except RecursionError as exc:
            raise ValueError("not a manifest: nested JSON") from exc
        if not isinstance(fields, dict):
            raise ValueError("not a manifest: not a JSON object")
        missing = _MANIFEST_TYPES.keys() - fields.keys() - {"signature"}
        unknown = fields.keys() - _MANIFEST_TYPES.keys()
        if missing or unknown:
            raise ValueError(f"not a manifest: fields {sorted(missing | unknown)}")
        for name, value in fields.items():
            _check_manifest_field(name, value)
        return cls(**fields)


# Each manifest field's type, and for hex fields the byte length they decode to.
_MANIFEST_TYPES: dict[str, tuple[type, int | None]] = {
    "segment": (str, None),
    "first_lsn": (int, None),
    "last_lsn": (int, None),
    "count": (int, None),
    "prev_hash": (str, 32),
    "chain_head": (str, 32),
    "sha256": (str, 32),
    "size": (int, None),
    "key_id": (str, None),
    "signature": (str, 64),
}


def _check_manifest_field(name: str, value: Any) -> None:
    kind, hex_bytes = _MANIFEST_TYPES[name]
    if type(value) is not kind or (isinstance(value, int) and value < 0):
        raise ValueError(f"manifest field {name} is not a {kind.__name__}")
    if not isinstance(value, str) or hex_bytes is None or (name == "signature" and not value):
        return
    try:
        decoded = bytes.fromhex(value)
    except ValueError as exc:
        raise ValueError(f"manifest field {name} is not hex") from exc
    if len(decoded) != hex_bytes:
        raise ValueError(f"manifest field {name} is not {hex_bytes} bytes")


class SparseIndex:
    """Every Nth record's (LSN, offset, chain value before it): a seek is a bisect plus a
    short scan, and the chain can be checked onward from any indexed point."""

    def __init__(self, entries: Iterable[tuple[int, int, bytes]] = ()) -> None:
        self.lsns: list[int] = []
        self.points: list[tuple[int, bytes]] = []
        for lsn, offset, chain_before in entries:
            self.add(lsn, offset, chain_before)

    def add(self, lsn: int, offset: int, chain_before: bytes) -> None:
        self.lsns.append(lsn)
        self.points.append((offset, chain_before))

    def copy(self) -> SparseIndex:
        copied = SparseIndex()
        copied.lsns, copied.points = list(self.lsns), list(self.points)
        return copied

    def floor(self, lsn: int) -> tuple[int, int, bytes] | None:
        """The last indexed (LSN, offset, chain before) at or before `lsn`, if any."""
        at = bisect_right(self.lsns, lsn) - 1
        if at < 0:
            return None
        offset, chain = self.points[at]
        return self.lsns[at], offset, chain

    def to_bytes(self) -> bytes:
        body = b"".join(
            INDEX_ENTRY.pack(lsn, offset, chain)
            for lsn, (offset, chain) in zip(self.lsns, self.points, strict=True)
        )
        return INDEX_MAGIC + body + struct.pack(">I", zlib.crc32(body))

    @classmethod
    def from_bytes(cls, data: bytes) -> SparseIndex:
        if data[:8] != INDEX_MAGIC or len(data) < 12 or (len(data) - 12) % INDEX_ENTRY.size:
            raise ValueError("not a sparse index")
        body = data[8:-4]
        if zlib.crc32(body) != struct.unpack(">I", data[-4:])[0]:
            raise ValueError("sparse index CRC mismatch")
        return cls(INDEX_ENTRY.iter_unpack(body))
