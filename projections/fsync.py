"""Publishing whole files crash-safely (temp file, fsync, rename, fsync of the directory)."""

from __future__ import annotations

import os
from pathlib import Path

from eventlog.segments import fsync_dir


def fsync_path(path: Path) -> None:
    """Flush a file's contents to stable storage."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_file(tmp: Path, path: Path) -> None:
    """Make a fully written temporary file durable and rename it into place, so a crash leaves
    either no file or the complete one at `path`."""
    fsync_path(tmp)
    os.replace(tmp, path)
    fsync_dir(path.parent)
