"""The SeaweedFS fixture itself: it serves S3, isolates tests by prefix."""

from __future__ import annotations

import io

from tests.s3.conftest import S3Area


def test_round_trip_under_a_random_prefix(s3_area: S3Area) -> None:
    client = s3_area.server.client()
    key = f"{s3_area.prefix}/hello.txt"
    client.put_object(s3_area.bucket, key, io.BytesIO(b"hello"), 5)
    assert client.get_object(s3_area.bucket, key).read() == b"hello"
    names = [o.object_name for o in client.list_objects(s3_area.bucket, prefix=s3_area.prefix)]
    assert names == [f"{s3_area.prefix}/"]
