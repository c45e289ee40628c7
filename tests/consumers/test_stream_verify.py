"""The stream verifier catches what `bkgdb verify` catches, on mirrored frames."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgpack
import pytest

from eventlog import Entry, EventLog, SealedRecord, SigningKey
from eventlog.framing import FrameType, decode_frame, encode_frame
from eventlog.keys import parse_seal, seal_message
from projections.consumers.errors import StreamVerifyError
from projections.consumers.stream_verify import StreamVerifier


@pytest.fixture
def stream(tmp_path: Path) -> Iterator[list[SealedRecord]]:
    with EventLog.create(tmp_path / "log", SigningKey.generate()) as log:
        for group in range(5):
            pending = [log.submit(Entry("dml", {"n": group * 10 + i})) for i in range(4)]
            pending[-1].future.result()
        log.rotate_key(SigningKey.generate())
        log.append(Entry("dml", {"after": "rotation"}))
        yield list(log.read_sealed(1, log.head_lsn))


def feed(items: list[SealedRecord], verifier: StreamVerifier | None = None) -> list[int]:
    verifier = verifier or StreamVerifier()
    return [r.lsn for item in items for r in verifier.accept(item.record.frame, item.seal)]


def test_intact_stream_with_redeliveries_is_released_once(stream: list[SealedRecord]) -> None:
    assert any(item.seal for item in stream[:-1])  # several groups, several seals
    assert feed(stream + stream[3:]) == list(range(1, len(stream) + 1))


def test_seal_frames_are_the_stored_ones(tmp_path: Path, stream: list[SealedRecord]) -> None:
    data = b"".join(p.read_bytes() for p in sorted((tmp_path / "log").glob("*.seg")))
    for item in stream:
        if item.seal is not None:
            assert item.record.frame + item.seal in data


def test_flipped_byte_is_caught(stream: list[SealedRecord]) -> None:
    target = stream[6]
    frame = bytearray(target.record.frame)
    frame[-1] ^= 0x01
    stream[6] = SealedRecord(target.record._replace(frame=bytes(frame)), target.seal)
    with pytest.raises(StreamVerifyError) as caught:
        feed(stream)
    assert caught.value.lsn == 7


def test_gap_is_caught(stream: list[SealedRecord]) -> None:
    with pytest.raises(StreamVerifyError, match="expected LSN 5"):
        feed(stream[:4] + stream[5:])


def test_forged_seal_is_caught(stream: list[SealedRecord]) -> None:
    position = next(i for i, item in enumerate(stream) if item.seal and i > 3)
    seal = stream[position].seal
    assert seal is not None
    decoded = decode_frame(seal, 0)
    key_id, _, head = parse_seal(decoded.body)
    forged = SigningKey.generate().sign(seal_message(decoded.lsn, head))
    body = msgpack.packb([key_id, forged, head], use_bin_type=True)
    stream[position] = stream[position]._replace(
        seal=encode_frame(FrameType.SEAL, decoded.lsn, body)
    )
    with pytest.raises(StreamVerifyError, match="bad signature"):
        feed(stream)


def test_unsealed_records_are_held_back(stream: list[SealedRecord]) -> None:
    last_seal = max(i for i, item in enumerate(stream[:-1]) if item.seal)
    released = feed(
        [item._replace(seal=None) if i > last_seal else item for i, item in enumerate(stream)]
    )
    assert released == list(range(1, last_seal + 2))


def test_a_gap_filled_by_redelivery_is_tolerated_when_asked(stream: list[SealedRecord]) -> None:
    verifier = StreamVerifier(tolerate_gaps=True)
    assert feed(stream[:4] + stream[6:9] + stream[4:], verifier) == list(range(1, len(stream) + 1))
    assert verifier.gaps == 3
