"""A throw-away PostgreSQL cluster on a free loopback port, for peers that need a server.

``temporary_postgres()`` runs ``initdb`` into a fresh temporary directory, starts the server
with ``pg_ctl`` (``synchronous_commit=on``, ``fsync=on``, TCP on 127.0.0.1 only, its Unix
socket inside that directory), yields how to connect, then stops the server and removes the
directory, whatever happened in between.

PostgreSQL refuses to run as root. When the harness runs as root, initdb and the server run
as an unprivileged account: ``$BKG_BENCH_PG_USER`` if set, else ``nobody``, else a system
account ``bkgbench`` created with ``useradd`` (no home, no login shell). The temporary
directory is handed to that account with ``chown``, and made under /tmp instead of
``$TMPDIR`` when the account could not reach the latter. Binaries come from ``$BKG_PG_BINDIR``,
else ``/usr/lib/postgresql/15/bin``, else the ``PATH``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.errors import PeerUnavailableError

DEFAULT_BINDIR = Path("/usr/lib/postgresql/15/bin")
CREATED_ACCOUNT = "bkgbench"
START_ATTEMPTS = 3
MAX_CONNECTIONS = 200
"""Room for 64 writers plus the harness's own connections, with margin."""


@dataclass(frozen=True)
class Account:
    """The operating-system account that owns the cluster's files and runs the server."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class PostgresCluster:
    """A running cluster: connect with :attr:`conninfo` (user ``postgres``, trust auth)."""

    host: str
    port: int
    user: str
    dbname: str
    data_dir: Path
    version: str

    @property
    def conninfo(self) -> str:
        """A libpq connection string for psycopg."""
        return f"host={self.host} port={self.port} user={self.user} dbname={self.dbname}"


def find_bindir() -> Path:
    """Where ``initdb``, ``pg_ctl`` and ``postgres`` are; PeerUnavailableError if nowhere."""
    configured = os.environ.get("BKG_PG_BINDIR")
    candidates = [Path(configured)] if configured else [DEFAULT_BINDIR]
    on_path = shutil.which("pg_ctl")
    if on_path and not configured:
        candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise PeerUnavailableError(
        f"PostgreSQL binaries not found in {', '.join(map(str, candidates))}; "
        "install postgresql-15 or set BKG_PG_BINDIR"
    )


def server_account() -> Account:
    """The current account, or an unprivileged one when running as root (see module doc)."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)
    wanted = os.environ.get("BKG_BENCH_PG_USER")
    for name in [wanted] if wanted else ["nobody", CREATED_ACCOUNT]:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)
    if wanted:
        raise PeerUnavailableError(f"BKG_BENCH_PG_USER={wanted}: no such account")
    return _create_account(CREATED_ACCOUNT)


def _create_account(name: str) -> Account:
    """Create a system account with no home and no login shell."""
    command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise PeerUnavailableError(f"cannot create account {name!r} for PostgreSQL") from exc
    entry = pwd.getpwnam(name)
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


@contextmanager
def temporary_postgres() -> Iterator[PostgresCluster]:
    """A running PostgreSQL cluster for the duration of the with-block, removed afterwards."""
    bindir = find_bindir()
    account = server_account()
    root = Path(tempfile.mkdtemp(prefix="bkg-bench-pg-", dir=_scratch_parent(account)))
    try:
        os.chown(root, account.uid, account.gid)
        data_dir = root / "data"
        _run(account, root, [str(bindir / "initdb"), *_initdb_args(data_dir)])
        cluster = _start(bindir, account, root, data_dir)
        try:
            yield cluster
        finally:
            _stop(bindir, account, root, data_dir)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _scratch_parent(account: Account) -> Path:
    """The temporary directory if ``account`` can reach it, else /tmp (e.g. TMPDIR under /root)."""
    preferred = Path(tempfile.gettempdir()).resolve()
    if account.uid == os.geteuid() or _world_traversable(preferred):
        return preferred
    fallback = Path("/tmp")
    if _world_traversable(fallback):
        return fallback
    raise PeerUnavailableError(f"no temporary directory that {account.name} can reach")


def _world_traversable(path: Path) -> bool:
    """Whether every directory from / down to ``path`` lets any account pass through."""
    return all(part.stat().st_mode & 0o001 for part in [path, *path.parents])


def _initdb_args(data_dir: Path) -> list[str]:
    return ["-D", str(data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-instructions"]


def _start(bindir: Path, account: Account, root: Path, data_dir: Path) -> PostgresCluster:
    """Start on a free port, retrying with another if a racing process took it."""
    version = _run(account, root, [str(bindir / "postgres"), "--version"]).strip()
    log_file = root / "server.log"
    for _ in range(START_ATTEMPTS):
        port = _free_port()
        _configure(data_dir, root, port)
        command = [str(bindir / "pg_ctl"), "-D", str(data_dir), "-l", str(log_file), "-w", "start"]
        try:
            _run(account, root, command)
        except PeerUnavailableError:
            continue
        return PostgresCluster("127.0.0.1", port, "postgres", "postgres", data_dir, version)
    tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
    raise PeerUnavailableError(f"PostgreSQL did not start after {START_ATTEMPTS} tries:\n{tail}")


def _stop(bindir: Path, account: Account, root: Path, data_dir: Path) -> None:
    """Stop the server: a fast shutdown, an immediate one if that fails."""
    pg_ctl = str(bindir / "pg_ctl")
    try:
        _run(account, root, [pg_ctl, "-D", str(data_dir), "-m", "fast", "-w", "stop"])
    except PeerUnavailableError:
        _run(account, root, [pg_ctl, "-D", str(data_dir), "-m", "immediate", "-w", "stop"])


def _configure(data_dir: Path, root: Path, port: int) -> None:
    """Write the settings the benchmarks rely on (later lines win in postgresql.conf)."""
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": f"'{root}'",
        "synchronous_commit": "on",
        "fsync": "on",
        "max_connections": str(MAX_CONNECTIONS),
    }
    with (data_dir / "postgresql.conf").open("a") as conf:
        conf.write("".join(f"{key} = {value}\n" for key, value in settings.items()))


def _free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(account: Account, home: Path, command: list[str]) -> str:
    """Run a PostgreSQL binary as ``account``; PeerUnavailableError with its output on failure."""
    as_other = account.uid != os.geteuid()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LC_ALL": "C"}
    try:
        done = subprocess.run(
            command,
            check=True,
            capture_output=True,
            text=True,
            cwd=home,
            env=env,
            user=account.uid if as_other else None,
            group=account.gid if as_other else None,
            extra_groups=[] if as_other else None,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        raise PeerUnavailableError(f"{Path(command[0]).name} failed: {exc} {detail}") from exc
    return done.stdout
