"""A child process for crash and fault tests: many concurrent appenders on one log.

Prints `ack <lsn> <payload>` for every acknowledged append (flushed at once), and
`fail <message>` for appends that failed, so the parent knows exactly what was promised.
Usage: python -m tests.eventlog.appender_child LOG_DIR KEY_FILE THREADS COUNT [FSIZE_LIMIT]
"""

from __future__ import annotations

import resource
import signal
import sys
import threading
from pathlib import Path

from eventlog import AppendError, Entry, EventLog, LogOptions, SigningKey


def main() -> None:
    log_dir, key_file = Path(sys.argv[1]), Path(sys.argv[2])
    threads, count = int(sys.argv[3]), int(sys.argv[4])
    if len(sys.argv) > 5:
        # Writes past this size fail with EFBIG: a real disk-full stand-in.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = int(sys.argv[5])
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    key = SigningKey.load(key_file)
    options = LogOptions(segment_bytes=256 * 1024)
    log = EventLog.open(log_dir, key, options) if any(log_dir.glob("*.seg")) else None
    log = log or EventLog.create(log_dir, key, options)
    out = threading.Lock()

    def work(worker: int) -> None:
        for i in range(count):
            payload = f"w{worker}-{i}-" + "x" * (i % 50)
            try:
                lsn = log.append(Entry("dml", payload))
            except AppendError as exc:
                line = f"fail {exc}"
            else:
                line = f"ack {lsn} {payload}"
            with out:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print("done", flush=True)
    log.close()


if __name__ == "__main__":
    main()
