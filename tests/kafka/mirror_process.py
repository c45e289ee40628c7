"""A bkg-db process that writes and mirrors until it is killed (for the kill -9 test).

Usage: python -m tests.kafka.mirror_process DATA_DIR BOOTSTRAP
"""

from __future__ import annotations

import sys
from pathlib import Path

from api.database import Database
from projections.consumers.cursor import CursorFile
from projections.consumers.kafka_mirror import MIRROR_NAME, KafkaMirror, MirrorConfig
from projections.consumers.runner import ConsumerRunner


def main(data_dir: Path, bootstrap: str) -> None:
    db = Database.open(data_dir)
    cursor = CursorFile(db.data.consumers, MIRROR_NAME)
    runner = ConsumerRunner(KafkaMirror(MirrorConfig(bootstrap)), db.log, cursor, max_batch=8)
    runner.start()
    row = 0
    while True:
        row += 1
        db.execute("INSERT INTO items (id, name) VALUES ($1, 'from the child')", [10_000 + row])


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
