"""The audit trail after a crash at any byte: resumed, every record appears exactly once."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from eventlog import Entry, EventLog, SigningKey
from projections.consumers.audit import AuditOptions, AuditTrail
from projections.consumers.audit_files import audit_files, seal_path
from projections.consumers.audit_verify import log_key_ring, trail_lines, verify_trail
from projections.consumers.runner import catch_up


def change(i: int) -> dict[str, object]:
    row = {"id": i, "note": "n" * (i % 7)}
    return {
        "op": "insert",
        "table": "public.t",
        "rowid": i,
        "pk": {"id": i},
        "old": None,
        "new": row,
    }


@settings(max_examples=20, deadline=None)
@given(
    records=st.integers(min_value=1, max_value=40),
    max_bytes=st.integers(min_value=200, max_value=3000),
    cut=st.floats(min_value=0.0, max_value=1.0),
)
def test_any_torn_tail_resumes_without_loss_or_repeat(
    records: int, max_bytes: int, cut: float
) -> None:
    with (
        tempfile.TemporaryDirectory() as scratch,
        EventLog.create(Path(scratch) / "log", SigningKey.generate()) as log,
    ):
        for i in range(records):
            sql = f"INSERT INTO public.t (id, note) VALUES ({i}, 'x')"
            log.append(Entry("dml", {"statements": [{"sql": sql}], "changes": [change(i)]}))
        audit = Path(scratch) / "audit"
        options = AuditOptions(max_bytes=max_bytes)
        trail = AuditTrail(audit, lambda: log.signing_key, options)
        asyncio.run(catch_up(trail, log, trail))
        trail.close()
        active = audit_files(audit)[-1]
        if not seal_path(active).exists():
            data = active.read_bytes()
            active.write_bytes(data[: int(len(data) * cut)])  # the crash tore the open file
        trail = AuditTrail(audit, lambda: log.signing_key, options)
        asyncio.run(catch_up(trail, log, trail))
        trail.close()
        assert [line["lsn"] for line in trail_lines(audit)] == list(range(1, log.head_lsn + 1))
        verify_trail(audit, log, log_key_ring(log))
