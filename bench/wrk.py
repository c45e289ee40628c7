"""HTTP load from ``wrk`` (Debian's package): a C load generator that is not the bottleneck.

The Python load driver (`bench.load`) costs as much CPU per request as a fast server does,
so on a small machine it measures itself as much as the server. ``wrk`` drives keep-alive
connections from a few epoll threads in C; a LuaJIT script (written to a temporary file by
:func:`run`) builds each request, so every request can carry its own id:

- ``{n}`` in the path or body is replaced per request (formatted with the load's
  ``id_format``, a Lua format such as ``%d`` or ``%015d``): for a read, one of the ``rows``
  existing ids, each thread starting at its own offset; for a create (``unique=True``) a
  number no other request of any run or thread used (``base`` is per run, each thread
  counts in its own block of ``THREAD_BLOCK`` ids).
- Every response's status is checked against the one expected; any other status, socket
  error or timeout fails the measurement (``PeerFailedError``), as does wrk's own count of
  "Non-2xx or 3xx responses".

The script's ``done`` prints one machine-readable line: completed requests, the timed
duration, error counts and wrk's latency percentiles (every request's latency is recorded).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.errors import PeerFailedError, PeerUnavailableError

NAME = "wrk"
THREADS = 2
THREAD_BLOCK = 1_000_000_000
"""Ids each thread may use in one run (a run of this many requests would take days)."""
RESULT_MARK = "bench-wrk-result "
BAD_MARK = "bench-wrk-bad "

LUA = """
local base, rows, unique, expect = {base}, {rows}, {unique}, {expect}
local method, path_tpl, body_tpl, id_format = {method}, {path}, {body}, {id_format}
local header_list = {headers}
local threads = {{}}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter, bad, first_bad = 0, 0, ""
  headers = {{}}
  for k, v in pairs(header_list) do headers[k] = v end
end

local function id()
  counter = counter + 1
  if unique then
    return string.format(id_format, base + index * {block} + counter)
  end
  return string.format(id_format, (index * 389 + counter) % rows + 1)
end

function request()
  local n = id()
  local path = string.gsub(path_tpl, "{{n}}", n)
  local body = nil
  if body_tpl ~= nil then body = string.gsub(body_tpl, "{{n}}", n) end
  return wrk.format(method, path, headers, body)
end

function response(status, hdrs, body)
  if status ~= expect then
    bad = bad + 1
    if bad == 1 then first_bad = status .. " " .. string.sub(body or "", 1, 200) end
  end
end

function done(summary, latency, requests)
  local failed, sample = 0, ""
  for _, t in ipairs(threads) do
    failed = failed + (t:get("bad") or 0)
    local seen = t:get("first_bad") or ""
    if sample == "" then sample = seen end
  end
  local e = summary.errors
  io.write(string.format(
    '{mark}{{"requests": %d, "duration_us": %d, "non_2xx_3xx": %d, "unexpected": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}}\\n',
    summary.requests, summary.duration, e.status, failed, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50.0), latency:percentile(99.0)))
  if sample ~= "" then io.write("{bad_mark}" .. sample .. "\\n") end
end
"""


@dataclass(frozen=True)
class Load:
    """One kind of request: method, path and body templates (``{n}`` is the id), headers,
    the status every answer must have, and whether ids must be fresh (creates)."""

    method: str
    path: str
    expect: int
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    unique: bool = False
    id_format: str = "%d"


@dataclass(frozen=True)
class WrkResult:
    """What wrk measured: completed requests over the timed duration, and latencies."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        """Requests per second over the run."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def binary() -> Path:
    """The wrk executable (``/usr/bin/wrk`` from Debian's ``wrk``, else on the PATH)."""
    found = shutil.which(NAME)
    if found is None:
        raise PeerUnavailableError("wrk not found: apt-get install wrk (scripts/ensure-package.sh)")
    return Path(found)


def run(
    port: int, load: Load, *, connections: int, seconds: int, rows: int = 1, base: int = 0
) -> WrkResult:
    """Drive ``127.0.0.1:port`` with ``load`` from ``connections`` keep-alive connections
    for ``seconds``; fails with ``PeerFailedError`` unless every answer was as expected."""
    with tempfile.TemporaryDirectory(prefix="bkg-bench-wrk-") as scratch:
        script = Path(scratch) / "load.lua"
        script.write_text(lua_script(load, rows=rows, base=base))
        command = [
            str(binary()),
            f"--threads={min(THREADS, connections)}",
            f"--connections={connections}",
            f"--duration={seconds}s",
            "--timeout=10s",
            "--latency",
            f"--script={script}",
            f"http://127.0.0.1:{port}",
        ]
        done = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=seconds + 60
        )
    return parse(done.stdout, done.stderr, f"{load.method} {load.path}")


def lua_script(load: Load, *, rows: int, base: int) -> str:
    """The LuaJIT script of one run (see the module docstring)."""
    return LUA.format(
        base=base,
        rows=max(1, rows),
        unique="true" if load.unique else "false",
        expect=load.expect,
        method=_lua_string(load.method),
        path=_lua_string(load.path),
        body="nil" if load.body is None else _lua_string(load.body),
        id_format=_lua_string(load.id_format),
        headers="{"
        + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in load.headers)
        + "}",
        block=THREAD_BLOCK,
        mark=RESULT_MARK,
        bad_mark=BAD_MARK,
    )


def parse(stdout: str, stderr: str, what: str) -> WrkResult:
    """The result line of a run; ``PeerFailedError`` for a failed run or any bad answer."""
    lines = stdout.splitlines()
    found = [line[len(RESULT_MARK) :] for line in lines if line.startswith(RESULT_MARK)]
    if not found:
        raise PeerFailedError(f"wrk {what} gave no result: {(stderr or stdout)[-500:]!r}")
    data = json.loads(found[-1])
    errors = {k: data[k] for k in ("non_2xx_3xx", "unexpected", "connect", "read", "write")}
    errors["timeout"] = data["timeout"]
    if any(errors.values()) or data["requests"] == 0:
        sample = [line[len(BAD_MARK) :] for line in lines if line.startswith(BAD_MARK)]
        raise PeerFailedError(
            f"wrk {what}: {data['requests']} requests, errors {errors}, first bad answer "
            f"{sample[0] if sample else None!r}"
        )
    return WrkResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def _lua_string(text: str) -> str:
    """A Lua string literal of ``text`` (JSON's escapes are valid Lua escapes for ASCII)."""
    return json.dumps(text)
