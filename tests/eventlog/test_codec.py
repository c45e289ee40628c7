"""Round trips of the envelope and the framing, for arbitrary payloads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventlog.framing import (
    GENESIS_HASH,
    FrameError,
    FrameType,
    chain_next,
    decode_frame,
    encode_frame,
)
from eventlog.record import Entry, pack_body, pack_payload, unpack_body

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
)
payloads = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)
names = st.text(min_size=1, max_size=20)


@given(payloads, names, names, st.none() | names, st.integers(0, 2**62))
def test_envelope_round_trip(
    payload: object, kind: str, actor: str, ns: str | None, ts: int
) -> None:
    entry = Entry(kind, payload, actor, ns)
    body = pack_body(entry, ts, pack_payload(payload))
    assert unpack_body(body) == (1, ts, kind, actor, ns, payload)


@given(st.binary(max_size=2000), st.integers(1, 2**63), st.sampled_from(list(FrameType)))
def test_frame_round_trip(body: bytes, lsn: int, frame_type: FrameType) -> None:
    frame = encode_frame(frame_type, lsn, body)
    decoded = decode_frame(b"junk" + frame, 4)
    assert (decoded.type, decoded.lsn, decoded.body, decoded.end) == (
        frame_type,
        lsn,
        body,
        4 + len(frame),
    )


@settings(max_examples=300)
@given(st.binary(min_size=1, max_size=300), st.data())
def test_any_single_byte_change_is_detected(body: bytes, data: st.DataObject) -> None:
    frame = bytearray(encode_frame(FrameType.EVENT, 7, body))
    position = data.draw(st.integers(0, len(frame) - 1))
    frame[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(FrameError):
        decode_frame(bytes(frame), 0)


@given(st.lists(st.binary(max_size=50), min_size=2, max_size=6))
def test_chain_commits_to_order(bodies: list[bytes]) -> None:
    frames = [encode_frame(FrameType.EVENT, i + 1, b) for i, b in enumerate(bodies)]
    swapped = [frames[1], frames[0], *frames[2:]]

    def head(sequence: list[bytes]) -> bytes:
        value = GENESIS_HASH
        for frame in sequence:
            value = chain_next(value, frame)
        return value

    assert head(frames) != head(swapped)


def test_truncated_frame_is_reported_as_truncated() -> None:
    frame = encode_frame(FrameType.EVENT, 1, b"x" * 100)
    with pytest.raises(FrameError) as caught:
        decode_frame(frame[:-1], 0)
    assert caught.value.truncated
