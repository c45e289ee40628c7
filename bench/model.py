"""What a scenario is and what it returns: plain frozen dataclasses with one JSON mapping.

A scenario reports absolute ``figures`` (throughput of ours and of each peer, records/s, ...)
and ``ratios`` (ours divided by a peer's at one concurrency). Either may carry a goal, a
minimum the value must reach; the report marks each as pass or fail from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One absolute measurement, e.g. 41000.0 appends/s, with an optional minimum goal."""

    value: float
    unit: str
    goal: float | None = None

    @property
    def passed(self) -> bool | None:
        """True/False against the goal; None when there is no goal."""
        return None if self.goal is None else self.value >= self.goal

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in the results file."""
        return {"value": self.value, "unit": self.unit, "goal": self.goal, "pass": self.passed}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        """Inverse of :meth:`to_json` (``pass`` is recomputed, not trusted)."""
        return cls(value=float(data["value"]), unit=str(data["unit"]), goal=_goal(data))


@dataclass(frozen=True)
class Ratio:
    """Ours divided by a peer's figure, with an optional minimum goal (e.g. 3.0 for >= 3x)."""

    value: float
    goal: float | None = None

    @property
    def passed(self) -> bool | None:
        """True/False against the goal; None when there is no goal."""
        return None if self.goal is None else self.value >= self.goal

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in the results file."""
        return {"value": self.value, "goal": self.goal, "pass": self.passed}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ratio:
        """Inverse of :meth:`to_json` (``pass`` is recomputed, not trusted)."""
        return cls(value=float(data["value"]), goal=_goal(data))


def _goal(data: dict[str, Any]) -> float | None:
    goal = data.get("goal")
    return None if goal is None else float(goal)


def ratio_key(peer: str, concurrency: int) -> str:
    """The DESIGN.md ratio key: ``vs_<peer>@<concurrency>``."""
    return f"vs_{peer}@{concurrency}"


def figure_key(subject: str, concurrency: int) -> str:
    """The figure key of a subject (``bkgdb`` or a peer) at one concurrency."""
    return f"{subject}@{concurrency}"


@dataclass(frozen=True)
class Outcome:
    """What ``Scenario.run`` returns: figures and ratios keyed as in DESIGN.md."""

    figures: dict[str, Figure] = field(default_factory=dict)
    ratios: dict[str, Ratio] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A registered benchmark: a module in ``bench/scenarios/`` defines one as ``SCENARIO``.

    ``run(quick)`` measures ours and every peer named in ``peers`` in the same process run.
    ``needs`` names external systems the scenario starts (``"postgres"``), so that callers
    such as the smoke test can skip it where that system is absent.
    """

    name: str
    peers: tuple[str, ...]
    run: Callable[[bool], Outcome]
    description: str
    needs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Result:
    """One scenario's results file: ``{"scenario", "machine", "figures", "ratios"}``."""

    scenario: str
    machine: dict[str, Any]
    outcome: Outcome

    def to_json(self) -> dict[str, Any]:
        """The JSON document written to ``bench/results/<scenario>.json``."""
        return {
            "scenario": self.scenario,
            "machine": self.machine,
            "figures": {k: v.to_json() for k, v in self.outcome.figures.items()},
            "ratios": {k: v.to_json() for k, v in self.outcome.ratios.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        """Inverse of :meth:`to_json`."""
        outcome = Outcome(
            figures={k: Figure.from_json(v) for k, v in data["figures"].items()},
            ratios={k: Ratio.from_json(v) for k, v in data["ratios"].items()},
        )
        return cls(scenario=str(data["scenario"]), machine=dict(data["machine"]), outcome=outcome)
