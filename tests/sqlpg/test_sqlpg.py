"""The differential corpus against PostgreSQL 15: each case gives PostgreSQL's answer, or is
listed in ``differences.json`` with the reason it does not yet (a listed case that now
agrees fails as an unexpected pass: remove it from the list)."""

from __future__ import annotations

import pytest

from bench.errors import PeerUnavailableError
from bench.peers.pgcluster import find_bindir
from tests.sqlpg.harness import CaseResult, expected_differences, load_corpus, run_corpus

CASES = load_corpus()


def _postgres_available() -> bool:
    try:
        find_bindir()
    except PeerUnavailableError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _postgres_available(), reason="PostgreSQL 15 not installed")


@pytest.fixture(scope="module")
def results() -> dict[str, CaseResult]:
    return {r.case.key: r for r in run_corpus()}


def test_corpus_covers_every_group() -> None:
    groups = {case.group for case in CASES}
    assert len(groups) == 13
    assert all(sum(c.group == g for c in CASES) >= 5 for g in groups)


def test_listed_differences_are_cases() -> None:
    assert set(expected_differences()) <= {case.key for case in CASES}


@pytest.mark.parametrize("key", [case.key for case in CASES])
def test_case(results: dict[str, CaseResult], key: str) -> None:
    result = results[key]
    reason = expected_differences().get(key)
    if reason is None:
        assert result.equal, result.difference
    elif result.equal:
        pytest.fail(f"{key} now gives PostgreSQL's answer: remove it from differences.json")
    else:
        pytest.xfail(reason)
