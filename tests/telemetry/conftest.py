"""A served directory traced in-process into the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.http import create_app
from api.telemetry.asgi import TracedApp
from api.telemetry.provider import build_provider, start, stop
from api.telemetry.settings import TelemetrySettings
from tests.http.conftest import UNLIMITED, Api, make_data_dir, open_backend

UNUSED_ENDPOINT = "http://127.0.0.1:9/v1/traces"


@dataclass
class Traced:
    api: Api
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name == name]

    def server_span(self) -> ReadableSpan:
        (server,) = [s for s in self.spans() if s.parent is None or s.parent.is_remote]
        return server


def traced_api(root: Path, settings: TelemetrySettings, **config: Any) -> Iterator[Traced]:
    """Serve `root` in-process with tracing as `settings` say, spans kept in memory."""
    admin_key = (root / "admin_key").read_text()
    backend = open_backend(root, **{"rate_limits": UNLIMITED, **config})
    exporter = InMemorySpanExporter()
    provider = build_provider(settings, SimpleSpanProcessor(exporter))
    start(provider)
    try:
        app = TracedApp(create_app(backend), provider, settings)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Traced(Api(client, backend, admin_key), exporter)
    finally:
        stop(provider)
        backend.close()


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[Traced]:
    yield from traced_api(make_data_dir(tmp_path), TelemetrySettings(UNUSED_ENDPOINT))
