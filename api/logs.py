"""Opening a data directory's log with this process's settings.

`DataDir` knows paths and keys only; what a process adds to them comes from its flags and
environment: the segment size (`--segment-bytes`, else `BKG_SEGMENT_BYTES`, else what
`init` recorded) and where reads of pruned segments fetch them (the S3 archive, when
`BKG_S3_*` or the `--s3-*` flags configure one). The server reads these once into its
`api.settings.Settings`; the CLI's one-shot commands and the embedded `Database.open` ask
here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from api.datadir import DataDir, SettingsError
from api.storage.settings import StorageSettings
from eventlog import EventLog, LogOptions
from eventlog.pruned import SegmentSource
from projections.archive.fetch import ArchiveFetcher
from projections.blobs.s3 import S3BlobStore

SEGMENT_BYTES_ENV = "BKG_SEGMENT_BYTES"


def segment_bytes_setting(env: Mapping[str, str] | None = None) -> int | None:
    """`BKG_SEGMENT_BYTES` as a number of bytes, or None when it is unset or empty."""
    text = (os.environ if env is None else env).get(SEGMENT_BYTES_ENV)
    if not text:
        return None
    if not text.isdigit():
        raise SettingsError(f"{SEGMENT_BYTES_ENV} must be a number of bytes, not {text!r}")
    return int(text)


def log_options(
    data: DataDir, segment_bytes: int | None = None, env: Mapping[str, str] | None = None
) -> LogOptions:
    """Segment size: the flag, else `BKG_SEGMENT_BYTES`, else what `init` recorded."""
    return data.log_options(segment_bytes or segment_bytes_setting(env))


def segment_source(data: DataDir, storage: StorageSettings | None = None) -> SegmentSource | None:
    """Where reads of pruned segments fetch them: the S3 archive `storage` (by default the
    environment's) names, else nowhere (such reads fail, naming the segment)."""
    location = (storage or StorageSettings.from_env()).archive_location()
    if location is None:
        return None
    return ArchiveFetcher(S3BlobStore(location), data.log, data.log_cache)


def open_log(data: DataDir, storage: StorageSettings | None = None) -> EventLog:
    """Open the log for writing with the environment's settings (one writer per directory:
    a second gets LogLockedError)."""
    source, options = segment_source(data, storage), log_options(data)
    return data.open_log(options, source)
