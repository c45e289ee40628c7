"""The `mirror` benchmark runs end to end (with smoke-sized counts) and reports its figures."""

from __future__ import annotations

import pytest

from bench.model import ratio_key
from bench.scenarios.mirror import BATCH_PEER, PEER, SCENARIO
from bench.sizing import SMOKE_ENV


def test_mirror_scenario_reports_throughputs_ratios_and_lag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SMOKE_ENV, "1")
    outcome = SCENARIO.run(True)
    figures = outcome.figures
    assert all(figures[k].value > 0 for k in ("bkgdb@1", f"{PEER}@1", f"{BATCH_PEER}@1"))
    assert 0 < figures["mirror_lag_p50_ms"].value <= figures["mirror_lag_p99_ms"].value
    assert outcome.ratios[ratio_key(PEER, 1)].goal == 0.8
    assert set(outcome.ratios) == {ratio_key(PEER, 1), ratio_key(BATCH_PEER, 1)}
