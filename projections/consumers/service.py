"""The consumers a server runs beside its log: the audit trail always, the Kafka mirror when
a bootstrap address is configured. Each runs on its own thread (see `runner`).

`register_gauges` hands their lag, position, throughput and errors to a metrics registry
whose `gauge(name, help, read)` reads values at scrape time (the server's `/metrics`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from eventlog import EventLog
from projections.consumers.audit import AuditOptions, AuditTrail
from projections.consumers.cursor import CursorFile
from projections.consumers.kafka_mirror import KafkaMirror, MirrorConfig
from projections.consumers.runner import ConsumerRunner
from projections.consumers.stats import ConsumerStats, StatsSnapshot

GaugeSink = Callable[[str, str, Callable[[], float]], None]

_GAUGES: tuple[tuple[str, str, Callable[[StatsSnapshot], float]], ...] = (
    ("lag_records", "Durable records the consumer has not finished yet.", lambda s: s.lag),
    ("cursor_lsn", "Last LSN the consumer has finished.", lambda s: s.cursor_lsn),
    ("records_per_second", "Records finished per second (10 s window).",
     lambda s: s.records_per_second),
    ("errors_total", "Failed attempts of the consumer (each is retried).",
     lambda s: s.errors_total),
)  # fmt: skip


class ConsumerService:
    """Starts, stops and reports the server's consumers."""

    def __init__(self, runners: list[ConsumerRunner], closers: list[Callable[[], None]]) -> None:
        self.runners = runners
        self._closers = closers

    @classmethod
    def for_log(
        cls,
        log: EventLog,
        consumers_dir: Path,
        audit_dir: Path,
        mirror: MirrorConfig | None = None,
        audit_options: AuditOptions | None = None,
    ) -> ConsumerService:
        """The audit trail, plus the Kafka mirror when `mirror` is given."""
        trail = AuditTrail(audit_dir, lambda: log.signing_key, audit_options)
        runners = [ConsumerRunner(trail, log, trail)]
        if mirror is not None:
            cursor = CursorFile(consumers_dir, KafkaMirror.name)
            runners.append(ConsumerRunner(KafkaMirror(mirror), log, cursor))
        return cls(runners, [trail.close])

    def start(self) -> None:
        for runner in self.runners:
            runner.start()

    def stop(self) -> None:
        for runner in self.runners:
            runner.stop()
        for close in self._closers:
            close()

    def snapshots(self) -> list[StatsSnapshot]:
        return [runner.stats.snapshot() for runner in self.runners]

    def register_gauges(self, gauge: GaugeSink) -> None:
        """Gauges `bkg_consumer_<name>_<what>` for every consumer."""
        for runner in self.runners:
            prefix = "bkg_consumer_" + re.sub(r"[^a-z0-9_]", "_", runner.consumer.name)
            for suffix, help_text, pick in _GAUGES:
                gauge(f"{prefix}_{suffix}", help_text, _reader(runner.stats, pick))


def _reader(stats: ConsumerStats, pick: Callable[[StatsSnapshot], float]) -> Callable[[], float]:
    return lambda: pick(stats.snapshot())
