"""Reading sqllogictest scripts (sqlite.org/sqllogictest) into records.

A script is a sequence of records separated by blank lines: ``statement ok|error``,
``query <types> <sort> [label]`` followed by SQL, ``----`` and the expected values,
``hash-threshold N`` and ``halt``; ``skipif``/``onlyif <engine>`` lines before a record
scope it to engines, ``#`` starts a comment line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HASH_LINE = re.compile(r"^(\d+) values hashing to ([0-9a-f]{32})$")


@dataclass
class Record:
    """One record; ``kind`` is statement, query, hash-threshold or halt."""

    kind: str
    line: int
    sql: str = ""
    expect_ok: bool = True
    types: str = ""
    sort: str = "nosort"
    label: str | None = None
    expected: list[str] = field(default_factory=list)
    skipif: list[str] = field(default_factory=list)
    onlyif: list[str] = field(default_factory=list)
    threshold: int = 0

    def applies_to(self, engine: str) -> bool:
        """False when skipif/onlyif exclude ``engine``."""
        if engine in self.skipif:
            return False
        return not self.onlyif or engine in self.onlyif


def read_records(path: Path) -> Iterator[Record]:
    """The records of a script, in order."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    block: list[tuple[int, str]] = []
    for number, text in enumerate([*lines, ""], start=1):
        if text.strip():
            if not text.startswith("#"):
                block.append((number, text.rstrip("\n")))
            continue
        if block:
            record = _record(block)
            if record is not None:
                yield record
            block = []


def _record(block: list[tuple[int, str]]) -> Record | None:
    """Build one record from its non-comment lines."""
    skipif: list[str] = []
    onlyif: list[str] = []
    while block and block[0][1].split()[0] in ("skipif", "onlyif"):
        words = block.pop(0)[1].split()
        (skipif if words[0] == "skipif" else onlyif).append(words[1] if len(words) > 1 else "")
    if not block:
        return None
    line, head = block[0]
    words = head.split()
    body = [text for _, text in block[1:]]
    if words[0] == "statement":
        sql = "\n".join(body)
        record = Record("statement", line, sql, expect_ok=words[1] == "ok")
    elif words[0] == "query":
        record = _query(line, words, body)
    elif words[0] == "hash-threshold":
        record = Record("hash-threshold", line, threshold=int(words[1]))
    elif words[0] == "halt":
        record = Record("halt", line)
    else:
        return None
    record.skipif, record.onlyif = skipif, onlyif
    return record


def _query(line: int, words: list[str], body: list[str]) -> Record:
    """A query record: SQL up to ``----``, expected values after it."""
    if "----" in body:
        split = body.index("----")
        sql_lines, expected = body[:split], body[split + 1 :]
    else:
        sql_lines, expected = body, []
    return Record(
        "query",
        line,
        "\n".join(sql_lines),
        types=words[1] if len(words) > 1 else "",
        sort=words[2] if len(words) > 2 else "nosort",
        label=words[3] if len(words) > 3 else None,
        expected=[e.strip() for e in expected],
    )
