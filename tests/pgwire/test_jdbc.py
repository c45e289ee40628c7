"""pgJDBC (Debian's libpostgresql-jdbc-java, run as a single-file Java program): DDL,
prepared statements with parameters, transactions with rollback and commit, SQLSTATEs and
DatabaseMetaData.getTables."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.pgwire.conftest import Pg

JAR = Path("/usr/share/java/postgresql.jar")
SOURCE = Path(__file__).with_name("JdbcCheck.java")

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None or not JAR.exists(), reason="needs java and pgJDBC"
)


def test_pgjdbc(pg: Pg) -> None:
    url = f"jdbc:postgresql://127.0.0.1:{pg.port}/shop"
    done = subprocess.run(
        ["java", "-cp", str(JAR), str(SOURCE), url, pg.namespace_key],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "1|n1|86400000|1.5|false",
        "2|y|172800000|1.5|true",
        "3|n3|259200000|1.5|false",
        "sqlstate 42P01",
        "PostgreSQL 15.0",
        "table shop.jdbc_t",
    ]
