"""PostgREST's own examples (tests/rest/conformance/cases.yaml) against a real `bkgdb serve`:
one server for every case; a case marked `xfail` in the data file is a known difference
(docs/rest.md), one marked `na` does not apply to plain tables and is skipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.http.conftest import serving
from tests.rest.conformance import RATE_OFF, Case, Conformance, judge, load_specs

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


def _answer(status: int, body: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=body.encode(), headers=headers)


def test_the_judge_tells_a_wrong_answer() -> None:
    wanted = {"json": [{"done": True}], "headers": {"Content-Range": "0-0/*"}}
    assert judge(wanted, _answer(200, '[{"done":true}]', **{"Content-Range": "0-0/*"})) is None
    assert judge(wanted, _answer(200, '[{"done":1}]', **{"Content-Range": "0-0/*"}))
    assert judge(wanted, _answer(200, '[{"done":true}]', **{"Content-Range": "0-0/1"}))
    assert judge(wanted, _answer(201, '[{"done":true}]', **{"Content-Range": "0-0/*"}))
    assert judge({"json_has": {"code": "PGRST100"}}, _answer(200, '{"code":"PGRST101"}'))
    assert judge({"headers": {"Location": None}}, _answer(200, "", Location="/x"))
    assert judge({"keys": ["code", "message"]}, _answer(200, '{"code":1}'))
