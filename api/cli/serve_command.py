"""`bkgdb serve`: the HTTP API over a data directory (one server per directory)."""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
from typing import Any

from api.cli.accounts_flags import account_settings, add_account_flags
from api.cli.command import add_command
from api.cli.output import CommandError, emit_json
from api.cli.storage_commands import add_s3_flags, retain_setting, storage_settings
from api.datadir import DataDir
from api.logs import segment_bytes_setting
from api.settings import LogSettings, PgSettings, ServerConfig, Settings
from api.telemetry.settings import TelemetrySettingError, TelemetrySettings, telemetry_settings

RATE_KINDS = ("admin", "namespace", "user", "anon")
log = logging.getLogger("bkgdb.server")
RATE_BUDGETS = (*RATE_KINDS, "sign_in_email", "sign_in_address")


def register(subparsers: Any) -> None:
    parser = add_command(subparsers, "serve", run, "serve the HTTP API")
    add_s3_flags(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    parser.add_argument(
        "--cors-origins",
        default=os.environ.get("BKG_CORS_ORIGINS", ""),
        help="comma-separated browser origins allowed to call the API from their pages, or *"
        " (default: $BKG_CORS_ORIGINS, else none)",
    )
    parser.add_argument(
        "--metrics-token",
        default=os.environ.get("BKG_METRICS_TOKEN"),
        help="require this bearer token on /metrics (default: $BKG_METRICS_TOKEN, else open)",
    )
    parser.add_argument(
        "--segment-bytes", type=int, default=None, help="rotate log segments at this size"
    )
    parser.add_argument(
        "--max-body-bytes", type=int, default=1 << 20, help="largest request body (default 1 MiB)"
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="KIND=N",
        help="requests per minute for admin, namespace or user principals, and /auth/v1"
        " sign-in attempts per email and per client address; N=off for no limit (defaults:"
        " admin=1000 namespace=100 user=50 anon=50 sign_in_email=10 sign_in_address=60)",
    )
    parser.add_argument(
        "--kafka-bootstrap",
        default=os.environ.get("BKG_KAFKA_BOOTSTRAP"),
        help="mirror the log to this Kafka cluster (default: $BKG_KAFKA_BOOTSTRAP, else off)",
    )
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get("BKG_WEBHOOK_URL"),
        help="POST signed key.rotated and user.recovery_requested events here"
        " (default: $BKG_WEBHOOK_URL)",
    )
    parser.add_argument(
        "--webhook-secret",
        default=os.environ.get("BKG_WEBHOOK_SECRET"),
        help="HMAC-SHA256 secret of the webhook signature (default: $BKG_WEBHOOK_SECRET)",
    )
    parser.add_argument(
        "--jwt-issuer",
        default=os.environ.get("BKG_JWT_ISSUER"),
        help="stamp and require this 'iss' on tokens (default: $BKG_JWT_ISSUER, none)",
    )
    parser.add_argument(
        "--jwt-audience",
        default=os.environ.get("BKG_JWT_AUDIENCE"),
        help="stamp and require this 'aud' on tokens (default: $BKG_JWT_AUDIENCE, none)",
    )
    add_cap_flags(parser)
    add_pg_flags(parser)
    add_account_flags(parser)
    parser.add_argument(
        "--rotation-grace",
        type=float,
        default=3600.0,
        help="seconds a rotated key keeps working (default 3600)",
    )
    add_governance_flags(parser)
    add_log_flags(parser)


def add_log_flags(parser: argparse.ArgumentParser) -> None:
    """`--log-format` and `--log-level` (docs/operations.md, "Logs")."""
    from api.logconfig import LOG_FORMATS, LOG_LEVELS

    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=os.environ.get("BKG_LOG_FORMAT") or "text",
        help="one line per request and event on stderr, as text or json"
        " (default: $BKG_LOG_FORMAT, else text)",
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=os.environ.get("BKG_LOG_LEVEL") or "info",
        help="the least severe level logged; debug adds one line per PostgreSQL statement"
        " (default: $BKG_LOG_LEVEL, else info)",
    )


def log_settings(args: argparse.Namespace) -> LogSettings:
    """The logging flags (an unknown value from the environment is a one-line error)."""
    from api.logconfig import LOG_FORMATS, LOG_LEVELS

    if args.log_format not in LOG_FORMATS:
        raise CommandError(f"--log-format / BKG_LOG_FORMAT takes {' or '.join(LOG_FORMATS)}")
    if args.log_level not in LOG_LEVELS:
        raise CommandError(f"--log-level / BKG_LOG_LEVEL takes {', '.join(LOG_LEVELS)}")
    return LogSettings(args.log_format, args.log_level)


def add_governance_flags(parser: argparse.ArgumentParser) -> None:
    """Statement deadlines, result limits and the reader pool (each with an env variable;
    an empty one means the default)."""

    def env(name: str, default: str | None = None) -> str | None:
        return os.environ.get(name) or default

    parser.add_argument(
        "--statement-timeout",
        action="append",
        default=[],
        metavar="[KIND=]SECONDS",
        help="deadline of every statement, 0 for none (default: $BKG_STATEMENT_TIMEOUT, else 30);"
        " KIND=SECONDS lowers it for admin, namespace or user principals"
        " (defaults: namespace=15 user=8)",
    )
    parser.add_argument(
        "--max-result-rows",
        type=int,
        default=env("BKG_MAX_RESULT_ROWS", "100000"),
        help="most rows one statement may return, 0 for no limit"
        " (default: $BKG_MAX_RESULT_ROWS, else 100000)",
    )
    parser.add_argument(
        "--max-result-bytes",
        type=int,
        default=env("BKG_MAX_RESULT_BYTES", str(64 << 20)),
        help="most bytes (approximately) one statement may return, 0 for no limit"
        " (default: $BKG_MAX_RESULT_BYTES, else 64 MiB)",
    )
    parser.add_argument(
        "--readers",
        type=int,
        default=env("BKG_READERS", "8"),
        help="threads that parse and read statements (default: $BKG_READERS, else 8)",
    )
    parser.add_argument(
        "--reader-queue",
        type=int,
        default=env("BKG_READER_QUEUE", "128"),
        help="requests that may wait for a reader before 503"
        " (default: $BKG_READER_QUEUE, else 128)",
    )
    parser.add_argument(
        "--readers-per-namespace",
        type=int,
        default=env("BKG_READERS_PER_NAMESPACE"),
        help="readers one namespace may hold at once"
        " (default: $BKG_READERS_PER_NAMESPACE, else half of --readers)",
    )


def add_pg_flags(parser: argparse.ArgumentParser) -> None:
    """The PostgreSQL protocol listener's flags (docs/pgwire.md)."""
    parser.add_argument(
        "--pg-port",
        type=int,
        default=int(os.environ.get("BKG_PG_PORT") or "0"),
        help="also serve the PostgreSQL protocol on this port (default: $BKG_PG_PORT, else 0: off)",
    )
    parser.add_argument(
        "--pg-host", default=None, help="address of the PostgreSQL listener (default: --host)"
    )
    parser.add_argument(
        "--pg-tls-cert",
        default=os.environ.get("BKG_PG_TLS_CERT") or None,
        help="PEM certificate offered to PostgreSQL clients (default: $BKG_PG_TLS_CERT)",
    )
    parser.add_argument(
        "--pg-tls-key",
        default=os.environ.get("BKG_PG_TLS_KEY") or None,
        help="its private key (default: $BKG_PG_TLS_KEY)",
    )
    parser.add_argument(
        "--pg-max-connections",
        type=int,
        default=512,
        help="PostgreSQL sessions served at once; more are refused (default 512)",
    )


def pg_settings(args: argparse.Namespace) -> PgSettings | None:
    """The PostgreSQL listener the flags ask for (None for --pg-port 0)."""
    from api.pgwire.server import tls_context

    if args.pg_port == 0:
        return None
    if not 0 < args.pg_port < 65536 or args.pg_max_connections < 1:
        raise CommandError("--pg-port takes 1-65535 (0: off), --pg-max-connections >= 1")
    if bool(args.pg_tls_cert) != bool(args.pg_tls_key):
        raise CommandError("--pg-tls-cert and --pg-tls-key go together")
    try:
        tls = tls_context(args.pg_tls_cert, args.pg_tls_key) if args.pg_tls_cert else None
    except (OSError, ssl.SSLError) as exc:
        raise CommandError(f"--pg-tls-cert/--pg-tls-key: {exc}") from exc
    return PgSettings(
        tls=tls,
        host=args.pg_host or args.host,
        port=args.pg_port,
        max_connections=args.pg_max_connections,
        max_message_bytes=max(args.max_body_bytes, 1 << 20),
    )


def serve_settings(args: argparse.Namespace, data_dir: DataDir) -> Settings:
    """The server's settings: every flag, each defaulting to its `BKG_*` variable, read
    once here (nothing of the running server reads the environment)."""
    if args.webhook_url and not args.webhook_secret:
        raise CommandError("--webhook-url needs --webhook-secret (or BKG_WEBHOOK_SECRET)")
    server = ServerConfig(
        data_dir=data_dir.root,
        segment_bytes=args.segment_bytes or segment_bytes_setting(),
        metrics_token=args.metrics_token or None,
        max_body_bytes=args.max_body_bytes,
        rate_limits=rate_limits(args.rate_limit),
        rotation_grace_s=args.rotation_grace,
        max_streams_per_principal=args.max_streams_per_principal,
        max_keys_per_namespace=args.max_keys_per_namespace,
        max_keys=args.max_keys,
        webhook_url=args.webhook_url or None,
        jwt_issuer=args.jwt_issuer or None,
        jwt_audience=args.jwt_audience or None,
        webhook_secret=args.webhook_secret.encode() if args.webhook_secret else None,
        accounts=account_settings(args),
        cors_origins=tuple(o.strip() for o in args.cors_origins.split(",") if o.strip()),
        **governance(args),
    )
    return Settings(
        server=server,
        storage=storage_settings(args),
        pg=pg_settings(args),
        kafka=args.kafka_bootstrap or None,
        retain_local_segments=retain_setting(args),
        log=log_settings(args),
        telemetry=telemetry(),
    )


def telemetry() -> TelemetrySettings | None:
    """Tracing from the standard OTEL_* variables and CAVE_OTEL_SAMPLING_RATE."""
    try:
        return telemetry_settings(os.environ)
    except TelemetrySettingError as exc:
        raise CommandError(str(exc)) from exc


def run(args: argparse.Namespace, data_dir: DataDir) -> int:
    from api.database import NotInitialisedError
    from api.http.server import serve
    from api.logconfig import configured
    from api.wiring import build_server
    from projections.consumers.errors import ConsumerError
    from projections.errors import ProjectionError

    if not data_dir.is_initialised():
        raise CommandError(f"{data_dir.root} is not initialised (run bkgdb init)")
    settings = serve_settings(args, data_dir)
    with configured(settings.log.format, settings.log.level):
        try:
            server = build_server(settings)
        except (NotInitialisedError, ProjectionError, ConsumerError) as exc:
            raise CommandError(str(exc)) from exc
        backend = server.backend
        server.start()
        try:
            _announce(args, settings, data_dir, backend.db.log.head_lsn)
            serve(backend, server.app, args.host, args.port, server.listeners)
        finally:
            server.close()
            log.info("stopped", extra={"event": "stop", "head_lsn": backend.db.log.head_lsn})
        return 0


def _announce(args: argparse.Namespace, settings: Settings, data_dir: DataDir, head: int) -> None:
    """Say where the server listens: a line each (or one JSON object) on stdout, and the
    `start` event in the log."""
    address = f"http://{args.host}:{args.port}"
    pg = settings.pg
    pg_url = f"postgresql://{pg.host}:{pg.port}/" if pg else None
    if args.json:
        emit_json({"url": address, "pg_url": pg_url, "head_lsn": head, "pid": os.getpid()})
    else:
        print(f"bkg-db serving {data_dir.root} on {address} (head LSN {head})")
        if pg_url:
            print(f"PostgreSQL protocol on {pg_url} (password: an API key or a JWT)")
    sys.stdout.flush()
    started = {"url": address, "pg_url": pg_url, "head_lsn": head}
    log.info("started", extra={"event": "start", **started, "pid": os.getpid()})


CAPS = (
    ("--max-streams-per-principal", "BKG_MAX_STREAMS_PER_PRINCIPAL", 32,
     "open /realtime streams one namespace key or user may hold"),
    ("--max-keys-per-namespace", "BKG_MAX_KEYS_PER_NAMESPACE", 100,
     "active API keys of one namespace"),
    ("--max-keys", "BKG_MAX_KEYS", 1000, "active API keys in all"),
)  # fmt: skip


def add_cap_flags(parser: argparse.ArgumentParser) -> None:
    """Per-principal caps: each takes its default from the environment; 0 means no cap."""
    for flag, env, default, what in CAPS:
        parser.add_argument(
            flag,
            type=_cap,
            default=os.environ.get(env) or str(default),
            help=f"most {what}; 0 for no cap (default: ${env}, else {default})",
        )


def _cap(text: str) -> int:
    """A cap's value: a whole number, 0 or more (argparse also applies it to the default
    taken from the environment, so a bad variable is a one-line usage error too)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, not {text!r}")
    return value


def governance(args: argparse.Namespace) -> dict[str, Any]:
    """The `ServerConfig` fields of the governance flags (see `add_governance_flags`)."""
    from api.readers import PoolSettings
    from api.settings import DEFAULT_KIND_TIMEOUTS_S, DEFAULT_STATEMENT_TIMEOUT_S
    from api.sql.bounded import ResultLimits

    from_env = os.environ.get("BKG_STATEMENT_TIMEOUT") or None
    default = DEFAULT_STATEMENT_TIMEOUT_S if from_env is None else _seconds(from_env, from_env)
    kinds = dict(DEFAULT_KIND_TIMEOUTS_S)
    for spec in args.statement_timeout:
        kind, _, value = spec.rpartition("=")
        seconds = _seconds(spec, value)
        if not kind:
            default = seconds
        elif kind in RATE_KINDS and seconds is not None:
            kinds[kind] = seconds
        else:
            raise CommandError(f"--statement-timeout takes SECONDS or KIND=SECONDS, not {spec!r}")
    for name in ("readers", "reader_queue", "max_result_rows", "max_result_bytes"):
        if getattr(args, name) < (1 if name.startswith("reader") else 0):
            raise CommandError(f"--{name.replace('_', '-')} is out of range")
    if args.readers_per_namespace is not None and args.readers_per_namespace < 1:
        raise CommandError("--readers-per-namespace must be at least 1")
    return {
        "statement_timeout_s": default if default else None,
        "kind_timeouts_s": kinds,
        "result_limits": ResultLimits(args.max_result_rows or None, args.max_result_bytes or None),
        "readers": PoolSettings(args.readers, args.reader_queue, args.readers_per_namespace),
    }


def _seconds(spec: str, value: str) -> float | None:
    """A --statement-timeout value: positive seconds, or 0 for none."""
    try:
        seconds = float(value)
    except ValueError as exc:
        raise CommandError(f"--statement-timeout {spec}: not a number of seconds") from exc
    if seconds < 0:
        raise CommandError(f"--statement-timeout {spec}: must not be negative")
    return seconds or None


def rate_limits(specs: list[str]) -> dict[str, float]:
    """`KIND=N` overrides over the defaults; `off` removes the limit of a kind."""
    from api.auth.ratelimit import DEFAULT_PER_MINUTE

    limits = dict(DEFAULT_PER_MINUTE)
    for spec in specs:
        kind, _, value = spec.partition("=")
        if kind not in RATE_BUDGETS or not value:
            raise CommandError(f"--rate-limit takes KIND=N with KIND in {', '.join(RATE_BUDGETS)}")
        if value == "off":
            limits.pop(kind, None)
            continue
        try:
            limits[kind] = float(value)
        except ValueError as exc:
            raise CommandError(f"--rate-limit {spec}: N must be a number or 'off'") from exc
        if limits[kind] <= 0:
            raise CommandError(f"--rate-limit {spec}: N must be positive")
    return limits
