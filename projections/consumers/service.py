"""The consumers a server runs beside its log: the audit trail always, the Kafka mirror when
a bootstrap address is configured. Each runs on its own thread (see `runner`).

`register_gauges` hands their lag, position, throughput, errors and state to a metrics
registry that reads labelled values at scrape time (the server's `/metrics`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eventlog import EventLog
from projections.consumers.audit import AuditOptions, AuditTrail
from projections.consumers.cursor import CursorFile
from projections.consumers.kafka_mirror import KafkaMirror, MirrorConfig
from projections.consumers.runner import ConsumerRunner
from projections.consumers.stats import StatsSnapshot

Labels = tuple[tuple[str, str], ...]
GaugeSink = Callable[[str, str, Callable[[], dict[Labels, float]]], None]

_GAUGES: tuple[tuple[str, str, Callable[[StatsSnapshot], float]], ...] = (
    ("bkg_consumer_lag_records", "Durable records the consumer has not finished yet.",
     lambda s: s.lag),
    ("bkg_consumer_cursor_lsn", "Last LSN the consumer has finished.", lambda s: s.cursor_lsn),
    ("bkg_consumer_records_per_second", "Records finished per second (10 s window).",
     lambda s: s.records_per_second),
    ("bkg_consumer_errors_total", "Failed attempts of the consumer (each is retried).",
     lambda s: s.errors_total),
    ("bkg_consumer_up", "1 while the consumer runs.", lambda s: 1.0 if s.running else 0.0),
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
        """Labelled gauges `bkg_consumer_<what>{consumer="<name>"}` (e.g. the server's
        `Metrics.labelled_gauge`), one sample per consumer."""
        for name, help_text, pick in _GAUGES:
            gauge(name, help_text, self._reader(pick))

    def _reader(self, pick: Callable[[StatsSnapshot], float]) -> Callable[[], dict[Labels, float]]:
        return lambda: {(("consumer", s.name),): pick(s) for s in self.snapshots()}
