"""PostgREST conformance table: upstream request/response pairs replayed against /rest/v1.

`cases.yaml` holds the cases ported from PostgREST's spec (one section per upstream spec
file), `fixture.yaml` the tables and rows they run on. `Conformance` loads the fixture
into a served data directory through `/query`, runs a case and judges its answer; the
pytest (`tests/rest/test_conformance.py`) and the report (`python -m tests.rest.conformance`)
both use it, so they cannot disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

HERE = Path(__file__).parent
METHODS = ("get", "head", "post", "patch", "put", "delete", "options")
READS = frozenset({"GET", "HEAD", "OPTIONS"})
RATE_OFF = ("--rate-limit", "admin=off", "--rate-limit", "namespace=off")
"""`bkgdb serve` flags for a conformance run: a few hundred requests in seconds are no abuse."""


@dataclass(frozen=True)
class Case:
    """One upstream example: a request, what PostgREST answers, and our status for it."""

    spec: str
    it: str
    method: str
    path: str
    send: dict[str, str] = field(default_factory=dict)
    body: Any = None
    raw: str | None = None
    expect: dict[str, Any] = field(default_factory=dict)
    then: dict[str, Any] | None = None
    xfail: str | None = None
    na: str | None = None

    @property
    def ident(self) -> str:
        return f"{self.spec}: {self.it}"


@dataclass(frozen=True)
class Spec:
    """One upstream spec file: its cases and how many examples it has upstream."""

    name: str
    upstream_its: int
    cases: list[Case]


def load_specs(path: Path = HERE / "cases.yaml") -> list[Spec]:
    """The ported cases, in file order."""
    document = yaml.safe_load(path.read_text())
    return [
        Spec(name, int(section["upstream_its"]), [_case(name, c) for c in section["cases"]])
        for name, section in document.items()
    ]


def _case(spec: str, raw: dict[str, Any]) -> Case:
    if "na" in raw:
        return Case(spec, raw["it"], "", "", na=str(raw["na"]))
    method, path = _request_line(raw)
    expect = {
        k: raw[k] for k in ("status", "json", "json_has", "text", "headers", "keys") if k in raw
    }
    return Case(
        spec=spec,
        it=raw["it"],
        method=method,
        path=path,
        send={k: str(v) for k, v in (raw.get("send") or {}).items()},
        body=raw.get("body"),
        raw=raw.get("raw"),
        expect=expect,
        then=raw.get("then"),
        xfail=raw.get("xfail"),
    )


def _request_line(raw: dict[str, Any]) -> tuple[str, str]:
    if "method" in raw:
        return str(raw["method"]).upper(), str(raw["path"])
    for method in METHODS:
        if method in raw:
            return method.upper(), str(raw[method])
    raise ValueError(f"case {raw.get('it')!r} names no request")


class Conformance:
    """A served data directory with the fixture loaded and a namespace key of its schema."""

    def __init__(self, url: str, admin_key: str) -> None:
        self.url = url
        self._admin = {"Authorization": f"Bearer {admin_key}"}
        fixture = yaml.safe_load((HERE / "fixture.yaml").read_text())
        self.namespace: str = fixture["namespace"]
        self._tables: list[dict[str, Any]] = fixture["tables"]
        self._client = httpx.Client(base_url=url, timeout=30)
        self.key = ""

    def close(self) -> None:
        self._client.close()

    def load(self) -> None:
        """Create the schema, its tables and rows, and a namespace key for the schema."""
        self._query([f"CREATE SCHEMA {self.namespace}"])
        self._query([t["create"] for t in self._tables])
        self.reset()
        body = {"scope": "namespace", "namespace": self.namespace}
        created = self._client.post("/auth/keys", json=body, headers=self._admin)
        created.raise_for_status()
        self.key = created.json()["key"]

    def reset(self) -> None:
        """Every table back to its fixture rows (upstream rolls each example back)."""
        deletes = [f"DELETE FROM {self.namespace}.{t['name']}" for t in reversed(self._tables)]
        inserts = [t["rows"] for t in self._tables if t["rows"]]
        self._query(deletes + inserts)

    def _query(self, statements: list[str]) -> None:
        body = {"statements": [{"sql": sql} for sql in statements]}
        answer = self._client.post("/query", json=body, headers=self._admin)
        if answer.status_code != 200:
            raise RuntimeError(f"fixture statement failed: {answer.text[:500]}")

    def run(self, case: Case) -> str | None:
        """Send the case; None when the answer matches, else what differed."""
        try:
            response = self._send(case.method, case.path, case.send, case.body, case.raw)
            problem = judge(case.expect, response)
            if problem is None and case.then is not None:
                method, path = _request_line(case.then)
                follow = self._send(method, path, {}, None, None)
                problem = judge(case.then, follow)
                if problem is not None:
                    problem = f"after the request, {method} {path}: {problem}"
            return problem
        finally:
            if case.method not in READS:
                self.reset()

    def _send(
        self, method: str, path: str, send: dict[str, str], body: Any, raw: str | None
    ) -> httpx.Response:
        headers = {"apikey": self.key, "Authorization": f"Bearer {self.key}", **send}
        content: bytes | None = None
        if raw is not None:
            content = raw.encode()
        elif body is not None:
            content = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        url = "/rest/v1" + path
        return self._client.request(method, url, content=content, headers=headers)


def judge(expect: dict[str, Any], response: httpx.Response) -> str | None:
    """What in `response` differs from the expectations; None when nothing does."""
    status = int(expect.get("status", 200))
    if response.status_code != status:
        return f"status {response.status_code} (wanted {status}): {response.text[:300]}"
    for name, wanted in (expect.get("headers") or {}).items():
        got = response.headers.get(name)
        if (wanted is None) != (got is None) or (wanted is not None and got != str(wanted)):
            return f"header {name}: {got!r} (wanted {wanted!r})"
    if "text" in expect and response.text != expect["text"]:
        return f"body {response.text[:300]!r} (wanted {expect['text']!r})"
    if not any(k in expect for k in ("json", "json_has", "keys")):
        return None
    try:
        document = response.json()
    except ValueError:
        return f"body is not JSON: {response.text[:300]!r}"
    return _judge_json(expect, document)


def _judge_json(expect: dict[str, Any], document: Any) -> str | None:
    if "json" in expect and _canonical(document) != _canonical(expect["json"]):
        return f"body {_canonical(document)[:400]} (wanted {_canonical(expect['json'])[:400]})"
    if "json_has" in expect:
        if not isinstance(document, dict):
            return f"body {document!r:.300} is not an object"
        for key, wanted in expect["json_has"].items():
            if _canonical(document.get(key, "<absent>")) != _canonical(wanted):
                return f"{key}: {document.get(key, '<absent>')!r} (wanted {wanted!r})"
    if "keys" in expect and (
        not isinstance(document, dict) or set(document) != set(expect["keys"])
    ):
        return f"keys of {document!r:.300} (wanted {expect['keys']})"
    return None


def _canonical(value: Any) -> str:
    """JSON text with sorted keys: 1, 1.0 and true stay different, as on the wire."""
    return json.dumps(value, sort_keys=True)
