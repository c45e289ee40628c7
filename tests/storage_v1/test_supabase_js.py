"""The official JavaScript client's storage API (`@supabase/supabase-js`, the version pinned
in tests/rest/js, installed by that test's fixture) against a real `bkgdb serve`: uploads as
Blob (multipart) and Buffer (raw), downloads, listing, info, signed and public URLs fetched
with plain `fetch`, signed uploads, move, copy, removal, bucket limits, and a user under an
object policy. The scenario runs once (`js/storage.mjs`); each test asserts a group of
steps."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.http.conftest import serving
from tests.rest.test_supabase_js import client_dir
from tests.storage_v1.conftest import OWN_FOLDER, admin_post

__all__ = ["client_dir"]
SCRIPT = Path(__file__).parent / "js" / "storage.mjs"


@pytest.fixture(scope="module")
def steps(client_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    shutil.copyfile(SCRIPT, client_dir / "storage.mjs")
    with serving(tmp_path_factory.mktemp("storage-js") / "data") as served:
        admin_post(served, "/policy", OWN_FOLDER)
        config = {
            "url": served.url,
            "service_key": admin_post(
                served, "/auth/keys", {"scope": "namespace", "namespace": "public"}
            )["key"],
            "anon_key": admin_post(served, "/auth/keys", {"scope": "anon", "namespace": "public"})[
                "key"
            ],
            "alice_token": admin_post(served, "/auth/token", {"sub": "alice", "ns": "public"})[
                "access_token"
            ],
        }
        command = ["node", "--experimental-websocket", "storage.mjs", json.dumps(config)]
        ran = subprocess.run(
            command, cwd=client_dir, capture_output=True, text=True, timeout=120, check=False
        )
        assert ran.returncode == 0, ran.stderr[-3000:]
        yield json.loads(ran.stdout.strip().splitlines()[-1])


def ok(steps: dict[str, Any], name: str) -> Any:
    assert steps[name]["error"] is None, (name, steps[name])
    return steps[name]["data"]


def failed(steps: dict[str, Any], name: str, status: str) -> str:
    error = steps[name]["error"]
    assert error is not None and error["status"] == status, (name, steps[name])
    return str(error["message"])


def test_buckets(steps: dict[str, Any]) -> None:
    assert ok(steps, "create") == {"name": "jsb"}
    bucket = ok(steps, "getBucket")
    assert (bucket["public"], bucket["file_size_limit"]) == (True, 1000)
    assert bucket["allowed_mime_types"] == ["text/plain", "image/png"]
    assert ok(steps, "updateBucket") == {"message": "Successfully updated"}
    assert steps["publicAfter"]["status"] == 404
    assert ok(steps, "empty") == {"message": "Successfully emptied"}
    assert ok(steps, "deleteBucket") == {"message": "Successfully deleted"}


def test_uploads_downloads_and_listing(steps: dict[str, Any]) -> None:
    assert ok(steps, "uploadBlob")["fullPath"] == "jsb/f/a.txt"
    assert ok(steps, "uploadBuffer")["fullPath"] == "jsb/f/b.txt"
    failed(steps, "duplicate", "409")
    assert ok(steps, "upsert")["path"] == "f/a.txt"
    assert steps["download"] == {"data": "HELLO", "error": None}
    listed = ok(steps, "list")
    assert [e["name"] for e in listed] == ["a.txt", "b.txt"]
    assert listed[0]["metadata"]["size"] == 5
    info = ok(steps, "info")
    assert (info["size"], info["metadata"]) == (5, {"k": "b"})
    assert ok(steps, "exists") is True
    assert steps["existsNot"]["data"] is False


def test_signed_and_public_urls(steps: dict[str, Any]) -> None:
    assert steps["signedFetch"] == {"status": 200, "body": "HELLO"}
    many = ok(steps, "signedMany")
    assert [m["error"] is None for m in many] == [True, False]
    assert steps["publicFetch"] == {"status": 200, "body": "bravo"}
    assert ok(steps, "signUpload")["token"]
    assert ok(steps, "toSigned")["fullPath"] == "jsb/f/up.txt"


def test_move_copy_update_remove_and_limits(steps: dict[str, Any]) -> None:
    assert ok(steps, "move") == {"message": "Successfully moved"}
    assert ok(steps, "copy")["path"] == "jsb/g/c.txt"
    assert ok(steps, "update")["path"] == "g/c.txt"
    assert sorted(r["name"] for r in ok(steps, "remove")) == ["g/b.txt", "g/c.txt"]
    assert "image/gif" in failed(steps, "mime", "415")
    failed(steps, "tooBig", "413")


def test_user_under_an_object_policy(steps: dict[str, Any]) -> None:
    assert ok(steps, "aliceOwn")["fullPath"] == "jsb/alice/mine.txt"
    failed(steps, "aliceForeign", "403")
    assert [e["name"] for e in ok(steps, "aliceList")] == ["alice"]
    failed(steps, "aliceCreatesBucket", "403")
