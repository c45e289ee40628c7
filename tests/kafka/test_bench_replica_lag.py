"""The `replica_lag` benchmark runs end to end (with smoke-sized counts) and reports its
figures: every acknowledged record was seen by the replica and by the raw consumer."""

from __future__ import annotations

import pytest

from bench.scenarios.replica_lag import PEER, RATE, SCENARIO
from bench.sizing import SMOKE_ENV


def test_replica_lag_scenario_reports_percentiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SMOKE_ENV, "1")
    figures = SCENARIO.run(True).figures
    for who in ("bkgdb", PEER):
        assert 0 <= figures[f"{who}_lag_p50_ms"].value <= figures[f"{who}_lag_p99_ms"].value
    assert figures["writes_per_s"].value == RATE
    assert figures["records"].value >= RATE
