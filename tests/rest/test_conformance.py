"""PostgREST's own examples (tests/rest/conformance/cases.yaml) against a real `bkgdb serve`:
one server for every case; a case marked `xfail` in the data file is a known difference
(docs/rest.md), one marked `na` does not apply to plain tables and is skipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http.conftest import serving
from tests.rest.conformance import RATE_OFF, Case, Conformance, load_specs

CASES = [case for spec in load_specs() for case in spec.cases]


def _param(case: Case) -> object:
    if case.na is not None:
        return pytest.param(case, marks=pytest.mark.skip(reason=f"not applicable: {case.na}"))
    if case.xfail is not None:
        return pytest.param(case, marks=pytest.mark.xfail(reason=case.xfail, strict=False))
    return case


@pytest.fixture(scope="module")
def conformance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conformance]:
    root: Path = tmp_path_factory.mktemp("conformance") / "data"
    with serving(root, args=RATE_OFF) as served:
        runner = Conformance(served.url, served.admin_key)
        try:
            runner.load()
            yield runner
        finally:
            runner.close()


def test_the_ported_set_is_meaningful() -> None:
    assert len([c for c in CASES if c.na is None]) >= 150


@pytest.mark.parametrize("case", [_param(c) for c in CASES], ids=[c.ident for c in CASES])
def test_postgrest_example(conformance: Conformance, case: Case) -> None:
    problem = conformance.run(case)
    assert problem is None, problem
