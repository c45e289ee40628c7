"""sqllogictest scripts through SqlEngine: our own cases and a bounded public subset.

The full public corpus runs with ``python -m tests.sqllogictest.report`` (see docs/sql.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sqllogictest.report import OWN, PUBLIC
from tests.sqllogictest.runner import run_file

OWN_SCRIPTS = sorted(OWN.glob("*.test"))
PUBLIC_SUBSET = [PUBLIC / f"select{i}.test" for i in (1, 2, 3)] + sorted(
    (PUBLIC / "evidence").glob("*.test")
)
# SQLite raises "integer overflow" for sum() over the script's huge integers; the script
# expects the query to succeed with no rows.
KNOWN_FAILURES = {"slt_lang_aggfunc.test": ["line 480"]}


def test_own_scripts_exist() -> None:
    assert {p.name for p in OWN_SCRIPTS} >= {"ddl.test", "dml.test", "query.test", "functions.test"}


@pytest.mark.parametrize("script", OWN_SCRIPTS, ids=lambda p: p.name)
def test_own_script_passes_completely(script: Path) -> None:
    result = run_file(script)
    assert result.failures == []
    assert result.skipped == 0
    assert result.passed > 10


@pytest.mark.skipif(not PUBLIC.is_dir(), reason="public sqllogictest corpus not present")
@pytest.mark.parametrize("script", PUBLIC_SUBSET, ids=lambda p: p.name)
def test_public_script(script: Path) -> None:
    result = run_file(script)
    failed_lines = [f.split(":")[0] for f in result.failures]
    assert failed_lines == KNOWN_FAILURES.get(script.name, [])
    assert result.passed > 0


def test_runner_detects_a_wrong_expectation(tmp_path: Path) -> None:
    script = tmp_path / "wrong.test"
    script.write_text(
        "statement ok\nCREATE TABLE t (a int)\n\nstatement ok\nINSERT INTO t VALUES (1), (2)\n\n"
        "query I rowsort\nSELECT a FROM t\n----\n1\n3\n\n"
        "query I nosort\nSELECT sum(a) FROM t\n----\n1 values hashing to "
        "6d7fce9fee471194aa8b5b6e47267f03\n\nstatement error\nSELECT nosuch FROM t\n"
    )
    result = run_file(script)
    assert (result.passed, result.failed) == (4, 1)
