"""The writer reports each durable group to its commit observer (used by /metrics)."""

from __future__ import annotations

from pathlib import Path

from eventlog import Entry, EventLog, SigningKey


def test_observer_sees_every_record_once_in_groups(tmp_path: Path) -> None:
    seen: list[tuple[int, float]] = []
    with EventLog.create(tmp_path / "log", SigningKey.generate()) as log:
        log.commit_observer = lambda records, seconds: seen.append((records, seconds))
        pending = [log.submit(Entry("dml", {"i": i})) for i in range(50)]
        for p in pending:
            p.future.result(10)
        log.append(Entry("dml", {"last": True}))
    assert sum(records for records, _ in seen) == 51
    assert all(records >= 1 and seconds >= 0 for records, seconds in seen)
    assert seen[-1][0] == 1
