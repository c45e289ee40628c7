"""Child process of the crash test: concurrent writers that report each acknowledged write.

Usage: python crash_child.py DATA_DIR WRITERS. Prints "<lsn> <id>" for every acknowledged
INSERT, flushed at once, until it is killed.
"""

from __future__ import annotations

import sys
import threading

from api.database import Database, DatabaseOptions
from projections.checkpoint_policy import CheckpointPolicy


def main() -> None:
    data_dir, writers = sys.argv[1], int(sys.argv[2])
    options = DatabaseOptions(checkpoint_policy=CheckpointPolicy(every_records=40, keep=2))
    db = Database.open(data_dir, options)
    lock = threading.Lock()

    def write(worker: int) -> None:
        for n in range(1_000_000):
            row_id = worker * 1_000_000 + n
            result = db.execute(
                "INSERT INTO acked (id, worker, note) VALUES ($1, $2, $3)",
                [row_id, worker, "x" * (n % 50)],
            )
            with lock:
                sys.stdout.write(f"{result.lsn} {row_id}\n")
                sys.stdout.flush()

    threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
