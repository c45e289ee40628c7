"""Prometheus metrics: counters, histograms and gauges, rendered as text format 0.0.4.

A few dozen lines do what the server needs (labelled counters and histograms, gauges read at
scrape time), so no client library is pulled in. Updates take one lock per metric; the log
writer thread, worker threads and the event loop all record into the same registry.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable, Iterable

from api.stages import LOOP, STAGES, Stages

Labels = tuple[tuple[str, str], ...]

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)


class Counter:
    """A monotonically increasing count per label set."""

    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self._lock = threading.Lock()
        self._values: dict[Labels, float] = {}

    def inc(self, labels: Labels = (), amount: float = 1.0) -> None:
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, labels: Labels = ()) -> float:
        return self._values.get(labels, 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        with self._lock:
            items = sorted(self._values.items())
        for labels, value in items:
            yield f"{self.name}{_labels(labels)} {_number(value)}"


class Histogram:
    """Observations counted into cumulative buckets per label set."""

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.buckets = name, help_text, buckets
        self._lock = threading.Lock()
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, labels: Labels = ()) -> None:
        slot = bisect.bisect_left(self.buckets, value)
        with self._lock:
            counts, totals = self._series.setdefault(labels, ([0] * (len(self.buckets) + 1), [0.0]))
            counts[slot] += 1
            totals[0] += value

    def observe_all(self, observations: list[tuple[float, Labels]]) -> None:
        """Several observations under one lock (a request's stages)."""
        slots = [(bisect.bisect_left(self.buckets, value), value) for value, _ in observations]
        empty = len(self.buckets) + 1
        with self._lock:
            for (slot, value), (_, labels) in zip(slots, observations, strict=True):
                counts, totals = self._series.setdefault(labels, ([0] * empty, [0.0]))
                counts[slot] += 1
                totals[0] += value

    def count(self, labels: Labels = ()) -> int:
        series = self._series.get(labels)
        return 0 if series is None else sum(series[0])

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        with self._lock:
            items = sorted((k, (list(c), t[0])) for k, (c, t) in self._series.items())
        for labels, (counts, total) in items:
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                le = (("le", "+Inf" if bound == math.inf else _number(bound)),)
                yield f"{self.name}_bucket{_labels(labels + le)} {running}"
            yield f"{self.name}_sum{_labels(labels)} {_number(total)}"
            yield f"{self.name}_count{_labels(labels)} {running}"


class Gauge:
    """A value read when scraped (of type counter when it only grows, kept elsewhere)."""

    def __init__(
        self, name: str, help_text: str, read: Callable[[], float], kind: str = "gauge"
    ) -> None:
        self.name, self.help, self.read, self.kind = name, help_text, read, kind

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        yield f"{self.name} {_number(self.read())}"


class LabelledGauge:
    """Values read when scraped, one sample per label set (e.g. one per log consumer); of
    type counter when they only grow."""

    def __init__(
        self,
        name: str,
        help_text: str,
        read: Callable[[], dict[Labels, float]],
        kind: str = "gauge",
    ) -> None:
        self.name, self.help, self.read, self.kind = name, help_text, read, kind

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels, value in self.read().items():
            yield f"{self.name}{_labels(labels)} {_number(value)}"


Metric = Counter | Histogram | Gauge | LabelledGauge


class Metrics:
    """The server's metrics; gauges are attached once the database is open."""

    def __init__(self) -> None:
        self.requests = Counter("bkg_http_requests_total", "HTTP requests by route and status.")
        self.latency = Histogram(
            "bkg_http_request_duration_seconds",
            "HTTP request latency by route and status.",
            LATENCY_BUCKETS,
        )
        self.stages = Histogram(
            "bkg_http_request_stage_seconds",
            "Seconds of an HTTP request spent in each stage (api.stages), by route.",
            LATENCY_BUCKETS,
        )
        self.commit_latency = Histogram(
            "bkg_commit_latency_seconds",
            "Time from submitting a write to its durable acknowledgement.",
            LATENCY_BUCKETS,
        )
        self.group_write = Histogram(
            "bkg_log_group_write_seconds",
            "Time the log writer spent writing and syncing one group commit.",
            LATENCY_BUCKETS,
        )
        self.group_size = Histogram(
            "bkg_log_group_commit_records", "Records per group commit of the log.", BATCH_BUCKETS
        )
        self.rate_limited = Counter(
            "bkg_rate_limit_rejections_total",
            "Requests refused by a rate limit, by principal kind.",
        )
        self._gauges: list[Gauge | LabelledGauge] = []
        self._stage_labels: dict[Labels, dict[str, Labels]] = {}

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """Add a gauge read at scrape time."""
        self._gauges.append(Gauge(name, help_text, read))

    def counter(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """Add a counter whose total is kept elsewhere and read at scrape time."""
        self._gauges.append(Gauge(name, help_text, read, "counter"))

    def labelled_gauge(
        self,
        name: str,
        help_text: str,
        read: Callable[[], dict[Labels, float]],
        kind: str = "gauge",
    ) -> None:
        """Add a gauge (or a counter kept elsewhere) with one sample per label set, read at
        scrape time."""
        self._gauges.append(LabelledGauge(name, help_text, read, kind))

    def on_request(self, labels: Labels, seconds: float, stages: Stages) -> None:
        """A finished request's stages; what they do not account for is the loop's."""
        keyed = self._stage_labels.get(labels)
        if keyed is None:  # once per route and method (templates: a bounded set)
            keyed = {stage: (*labels, ("stage", stage)) for stage in STAGES}
            self._stage_labels[labels] = keyed
        timed = stages.seconds
        observations = [(value, keyed[stage]) for stage, value in timed.items()]
        observations.append((max(0.0, seconds - sum(timed.values())), keyed[LOOP]))
        self.stages.observe_all(observations)

    def on_group_commit(self, records: int, seconds: float) -> None:
        """The log's commit observer."""
        self.group_size.observe(records)
        self.group_write.observe(seconds)

    def render(self) -> str:
        """The whole registry in the Prometheus text format."""
        metrics: list[Metric] = [
            self.requests,
            self.latency,
            self.stages,
            self.commit_latency,
            self.group_write,
            self.group_size,
            self.rate_limited,
            *self._gauges,
        ]
        return "\n".join(line for metric in metrics for line in metric.render()) + "\n"


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))
