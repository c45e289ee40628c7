"""The locked runtime dependencies: what `pip install bkg-db` pulls in, at the lock's pins.

The lock (`requirements.lock`) pins the runtime and the dev dependencies together. The
runtime set is the closure of `[project] dependencies` and of the `otel` extra (what a
traced deployment installs, `bkg-db[otel]`), with their extras, over the
requirements of the installed distributions, each at its locked version; markers are
evaluated for this interpreter. Offline: it reads only the lock, `pyproject.toml` and the
installed metadata.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

RUNTIME_EXTRAS = ("otel",)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", re.MULTILINE)


class LockError(ValueError):
    """The lock and the environment disagree (a dependency is not locked or not installed)."""


def locked_pins(lock: Path) -> dict[str, str]:
    """Every `name==version` of the lock, by canonical name."""
    return {canonicalize_name(m[1]): m[2] for m in PIN.finditer(lock.read_text())}


def _applies(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    environment: dict[str, str] = {str(k): str(v) for k, v in default_environment().items()}
    return any(
        requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras or {""}
    )


def runtime_pins(pyproject: Path, lock: Path) -> dict[str, str]:
    """The runtime closure as `{name: version}` (see the module docstring)."""
    pins = locked_pins(lock)
    project = tomllib.loads(pyproject.read_text())["project"]
    roots = [*project["dependencies"]]
    for extra in RUNTIME_EXTRAS:
        roots += project.get("optional-dependencies", {}).get(extra, [])
    todo = [Requirement(text) for text in roots]
    extras_of: dict[str, set[str]] = {}
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        wanted = {canonicalize_name(e) for e in requirement.extras}
        if name in extras_of and wanted <= extras_of[name]:
            continue
        if name not in pins:
            raise LockError(f"{name} is a runtime dependency but not in {lock.name}")
        extras_of[name] = extras_of.get(name, set()) | wanted
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError as exc:
            raise LockError(f"{name} is locked but not installed (make installs it)") from exc
        for text in requires:
            dependency = Requirement(text)
            if _applies(dependency, {""} | extras_of[name]):
                todo.append(dependency)
    return {name: pins[name] for name in sorted(extras_of)}


def requirements_text(pins: dict[str, str]) -> str:
    """The pins as a requirements file (what `cyclonedx-py requirements` reads)."""
    return "".join(f"{name}=={version}\n" for name, version in pins.items())
