"""Scenario discovery: every public module of ``bench.scenarios`` that defines ``SCENARIO``."""

from __future__ import annotations

import importlib
import pkgutil
import shutil

from bench import scenarios
from bench.errors import UnknownScenarioError
from bench.model import Scenario

PROGRAMS = {"wrk": "Debian's wrk package (scripts/ensure-package.sh installs it)"}
"""Needs that are programs on the PATH, found in an instant, with where to get each. Other
needs (``postgres``, ``kafka``, ``s3``) are systems a scenario starts; only starting them
tells whether they are there."""


def missing_programs(scenario: Scenario) -> str | None:
    """Why ``scenario`` cannot run on this host for want of a program it needs (None: every
    program is on the PATH; needs that are not programs are not checked here)."""
    absent = [name for name in sorted(scenario.needs & PROGRAMS.keys()) if not shutil.which(name)]
    if not absent:
        return None
    return "; ".join(f"{name} is not installed: {PROGRAMS[name]}" for name in absent)


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
