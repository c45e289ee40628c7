"""A description of the host, stored with every result: figures mean nothing without it."""

from __future__ import annotations

import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FSYNC_SAMPLES = 50


def load_average() -> float | None:
    """The one-minute load average: other work competing with a measurement."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def describe(*, quick: bool) -> dict[str, Any]:
    """Cores, memory, CPU model, Python, kernel and the disk benchmarks write to.

    Taken just before a scenario runs: ``quick``, ``measured_at`` and ``load_before`` (the
    load average then) say how, when and amid what the figures beside it were taken.
    """
    scratch = Path(tempfile.gettempdir())
    return {
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": f"{platform.system()} {platform.release()}",
        "disk": _disk(scratch),
        "quick": quick,
        "load_before": load_average(),
        "measured_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }


def _memory_gib() -> float | None:
    """Total memory from /proc/meminfo (Linux); None elsewhere."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / (1024 * 1024), 1)
    except OSError:
        return None
    return None


def _cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, falling back to the platform's guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _disk(path: Path) -> dict[str, Any]:
    """Device, filesystem and rotational flag of the filesystem holding ``path``."""
    device, fstype, mountpoint = _mount_of(path)
    return {
        "path": str(path),
        "device": device,
        "filesystem": fstype,
        "mountpoint": mountpoint,
        "rotational": _rotational(device),
        "fsync_ms_median": _fsync_ms(path),
    }


def _fsync_ms(directory: Path, samples: int = FSYNC_SAMPLES) -> float | None:
    """Median time of a 200-byte ``write`` + ``fsync`` there: the price of one durable write."""
    timings = []
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix="bkg-bench-fsync-") as probe:
            for _ in range(samples):
                began = time.perf_counter()
                probe.write(b"x" * 200)
                probe.flush()
                os.fsync(probe.fileno())
                timings.append(time.perf_counter() - began)
    except OSError:
        return None
    return round(sorted(timings)[samples // 2] * 1000, 3)


def _mount_of(path: Path) -> tuple[str, str, str]:
    """The longest mount point of /proc/mounts that contains ``path``."""
    best = ("unknown", "unknown", "/")
    resolved = str(path.resolve())
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return best
    for line in lines:
        device, mountpoint, fstype, *_ = line.split()
        inside = resolved == mountpoint or resolved.startswith(mountpoint.rstrip("/") + "/")
        if inside and len(mountpoint) >= len(best[2]):
            best = (device, fstype, mountpoint)
    return best


def _rotational(device: str) -> bool | None:
    """Whether the block device spins (from sysfs); None when it cannot be told."""
    name = Path(device).name
    for candidate in (name, name.rstrip("0123456789")):
        flag = Path("/sys/block") / candidate / "queue" / "rotational"
        if flag.exists():
            return flag.read_text().strip() == "1"
    return None
