"""`@supabase/supabase-js` (the pin and install of tests/rest/test_supabase_js.py, under the
machine's Node with its built-in WebSocket, realtime-js speaking vsn 2.0.0) against a real
`bkgdb serve`: each user receives its own rows and never the other's, with eventType, new
and old as the client presents them; broadcast with ack and presence between two clients."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.realtime_v1.conftest import Project
from tests.realtime_v1.test_supabase_client import next_id
from tests.rest.test_supabase_js import _run, client_dir

__all__ = ["client_dir"]
SCRIPT = Path(__file__).parent / "js" / "realtime.mjs"


def test_supabase_js_realtime(project: Project, client_dir: Path) -> None:
    shutil.copyfile(SCRIPT, client_dir / "realtime_v1.mjs")
    ids = [next_id(), next_id()]
    config: dict[str, Any] = {
        "url": project.url, "admin_key": project.served.admin_key, "anon_key": project.anon,
        "alice": project.alice, "bob": project.bob, "ids": ids,
    }  # fmt: skip
    command = ["node", "--experimental-websocket", "realtime_v1.mjs", json.dumps(config)]
    ran = _run(command, client_dir, 120)
    assert ran.returncode == 0, ran.stderr[-3000:]
    out = json.loads(ran.stdout.strip().splitlines()[-1])
    assert set(out["states"].values()) == {"SUBSCRIBED"}, out
    assert out["rows"] == {"alice": [ids[0], ids[0]], "bob": [ids[1]]}
    assert out["first_ms"] < 1000
    insert, update = (p for p in out["payloads"] if p["who"] == "alice")
    assert insert["eventType"] == "INSERT" and insert["new"]["title"] == "js"
    assert insert["schema"] == "public" and insert["table"] == "todos"
    assert update["eventType"] == "UPDATE" and update["new"]["done"] is True
    assert update["old"]["done"] is False
    assert out["ack"] == "ok"
    assert out["broadcast"] == [{"n": 1}]
    assert any("alice" in keys for keys in out["presence"])
