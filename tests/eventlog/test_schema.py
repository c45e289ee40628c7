"""Records as printed for scripts conform to the published envelope schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from api.cli.log_commands import record_json
from eventlog import Entry, EventLog, SigningKey

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas/event-envelope.json").read_text()
)


def test_records_conform_to_the_envelope_schema(tmp_path: Path) -> None:
    with EventLog.create(tmp_path / "log", SigningKey.generate()) as log:
        log.rotate_key(SigningKey.generate())
        log.append(
            Entry("dml", {"changes": [{"op": "insert", "new": {"b": b"\x00"}}]}, "admin", "public")
        )
        log.append(Entry("auth", {"type": "key.created"}, "system"))
        records = [record_json(r) for r in log.read()]
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    for record in records:
        validator.validate(json.loads(json.dumps(record)))
    broken = dict(records[0], kind="mystery")
    assert list(validator.iter_errors(broken))
