"""Scenario discovery: every public module of ``bench.scenarios`` that defines ``SCENARIO``."""

from __future__ import annotations

import importlib
import pkgutil

from bench import scenarios
from bench.errors import UnknownScenarioError
from bench.model import Scenario


def all_scenarios() -> dict[str, Scenario]:
    """Registered scenarios by name, in module-name order; ``_``-prefixed modules are helpers."""
    found: dict[str, Scenario] = {}
    for info in sorted(pkgutil.iter_modules(scenarios.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{scenarios.__name__}.{info.name}")
        scenario = getattr(module, "SCENARIO", None)
        if isinstance(scenario, Scenario):
            found[scenario.name] = scenario
    return found


def select(names: list[str]) -> list[Scenario]:
    """The scenarios named (all of them when ``names`` is empty), in the order asked."""
    registered = all_scenarios()
    if not names:
        return list(registered.values())
    unknown = [name for name in names if name not in registered]
    if unknown:
        known = ", ".join(registered) or "none"
        raise UnknownScenarioError(f"unknown scenario(s): {', '.join(unknown)} (known: {known})")
    return [registered[name] for name in names]
