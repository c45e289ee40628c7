"""``verify``: records/s of a full verification of a log (``eventlog.verify.verify_log``).

A log of 200-byte dml records is written with the default options, then verified end to end
against its public key: CRC of every frame, the SHA-256 chain, every group's seal against
the chain, the signature of each segment's last seal (which authenticates every record
before it) and sealed segments' manifests. ``bkgdb_deep`` also checks the signature of every
group's seal (``deep=True``). Best of a few passes over a warm page cache; a pass that does
not find the log intact and complete fails the scenario: a fast wrong answer is no figure.
Goal: at least 300k records/s for the default verification. There is no peer: none of them
can verify.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.errors import PeerFailedError
from bench.model import Figure, Outcome, Scenario
from bench.scenarios._eventlog import SUBJECT, fill_log
from bench.sizing import scaled
from eventlog.verify import verify_log

FULL_RECORDS = 500_000
PASSES = 3
GOAL = 300_000.0
UNIT = "records/s"


def best_rate(log_dir: Path, trusted: dict[str, bytes], records: int, *, deep: bool) -> float:
    """Records/s of the fastest of ``PASSES`` verifications, each required to pass."""
    best = 0.0
    for _ in range(PASSES):
        began = time.perf_counter()
        report = verify_log(log_dir, trusted_keys=trusted, deep=deep)
        elapsed = time.perf_counter() - began
        if not report.ok or report.records < records:
            raise PeerFailedError(f"verify found {report.records} records: {report.reason}")
        best = max(best, report.records / elapsed)
    return best


def run(quick: bool) -> Outcome:
    """Fill a log, then time full verifications of it with its public key trusted."""
    records = scaled(FULL_RECORDS, quick=quick, minimum=100)
    with tempfile.TemporaryDirectory(prefix="bkg-bench-") as scratch:
        log_dir = Path(scratch) / "log"
        key = fill_log(log_dir, records)
        trusted = {key.key_id: key.public_bytes}
        default = best_rate(log_dir, trusted, records, deep=False)
        deep = best_rate(log_dir, trusted, records, deep=True)
    figures = {SUBJECT: Figure(default, UNIT, GOAL), f"{SUBJECT}_deep": Figure(deep, UNIT)}
    return Outcome(figures=figures)


SCENARIO = Scenario(
    name="verify",
    peers=(),
    run=run,
    description=(
        "Full verification of a log of 200-byte records (CRCs, hash chain, seals, signatures, "
        "manifests), records/s; also with every group's signature checked (deep)."
    ),
)
