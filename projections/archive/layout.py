"""Names inside the archive. Fixed-width LSNs and offsets, so names sort in log order.

log/<base:020d>.seg                 a sealed segment, byte for byte
log/<base:020d>.manifest            its signed manifest (uploaded after the segment)
active/<base:020d>/<offset:020d>    bytes offset.. of the active segment's durable
                                    prefix (each ends on a seal); removed once the
                                    segment is sealed and uploaded whole
checkpoints/<lsn:020d>.sqlite       a checkpoint, and its signed manifest after it
checkpoints/<lsn:020d>.manifest
config.json                         the log's settings (segment size)

Any other name is a file a record names (`attachments`), under the name its `Attachments`
function gives, e.g. `archive/objects/...` for object bytes; the archive never removes them.
"""

from __future__ import annotations

import re

LOG = "log/"
ACTIVE = "active/"
CHECKPOINTS = "checkpoints/"
CONFIG = "config.json"
_SEGMENT = re.compile(r"^log/(\d{20})\.(seg|manifest)$")
_PART = re.compile(r"^active/(\d{20})/(\d{20})$")
_CHECKPOINT = re.compile(r"^checkpoints/(\d{20})\.(sqlite|manifest)$")


def segment_key(base: int, suffix: str) -> str:
    """`log/<base>.seg` or `log/<base>.manifest`."""
    return f"{LOG}{base:020d}.{suffix}"


def parse_segment_key(key: str) -> tuple[int, str] | None:
    match = _SEGMENT.match(key)
    return (int(match.group(1)), match.group(2)) if match else None


def part_key(base: int, offset: int) -> str:
    """The piece of active segment `base` that starts at byte `offset`."""
    return f"{ACTIVE}{base:020d}/{offset:020d}"


def part_manifest_key(base: int, offset: int) -> str:
    """The signed manifest of a piece (same fields as a segment's)."""
    return part_key(base, offset) + ".manifest"


def parse_part_key(key: str) -> tuple[int, int] | None:
    match = _PART.match(key)
    return (int(match.group(1)), int(match.group(2))) if match else None


def checkpoint_key(lsn: int, suffix: str) -> str:
    return f"{CHECKPOINTS}{lsn:020d}.{suffix}"


def parse_checkpoint_key(key: str) -> tuple[int, str] | None:
    match = _CHECKPOINT.match(key)
    return (int(match.group(1)), match.group(2)) if match else None
