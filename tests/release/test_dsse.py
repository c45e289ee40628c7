"""DSSE envelopes: the PAE, signatures that verify, and every way one must not."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from release import dsse

KEY = Ed25519PrivateKey.generate()


def test_pae_is_the_dsse_v1_encoding() -> None:
    # The example of the DSSE protocol document.
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert dsse.pae("", b"") == b"DSSEv1 0  0 "


def test_a_signed_envelope_verifies_and_gives_back_its_payload() -> None:
    envelope = dsse.sign(b'{"a": 1}', dsse.IN_TOTO, KEY)
    assert envelope["signatures"][0]["keyid"] == dsse.key_id(KEY.public_key())
    raw = base64.b64decode(envelope["signatures"][0]["sig"])
    KEY.public_key().verify(raw, dsse.pae(dsse.IN_TOTO, b'{"a": 1}'))  # over the PAE
    roundtrip = json.loads(json.dumps(envelope))
    assert dsse.verify(roundtrip, KEY.public_key(), dsse.IN_TOTO) == b'{"a": 1}'


def test_another_key_does_not_verify() -> None:
    envelope = dsse.sign(b"x", dsse.IN_TOTO, KEY)
    with pytest.raises(dsse.EnvelopeError):
        dsse.verify(envelope, Ed25519PrivateKey.generate().public_key(), dsse.IN_TOTO)


def test_a_signature_does_not_carry_over_to_another_payload_type() -> None:
    envelope = dsse.sign(b"x", "application/vnd.other", KEY)
    with pytest.raises(dsse.EnvelopeError):
        dsse.verify(envelope, KEY.public_key(), dsse.IN_TOTO)
    envelope["payloadType"] = dsse.IN_TOTO
    with pytest.raises(dsse.EnvelopeError):
        dsse.verify(envelope, KEY.public_key(), dsse.IN_TOTO)


@pytest.mark.parametrize(
    "broken",
    [
        {"payload": None},
        {"payload": "not base64!"},
        {"signatures": None},
        {"signatures": [{"sig": "%%"}]},
        {"signatures": []},
    ],
)
def test_malformed_envelopes_are_refused(broken: dict[str, object]) -> None:
    envelope = {**dsse.sign(b"x", dsse.IN_TOTO, KEY), **broken}
    with pytest.raises(dsse.EnvelopeError):
        dsse.verify(envelope, KEY.public_key(), dsse.IN_TOTO)


@given(payload=st.binary(min_size=1, max_size=200), data=st.data())
def test_any_flipped_bit_of_payload_or_signature_fails(payload: bytes, data: st.DataObject) -> None:
    envelope = dsse.sign(payload, dsse.IN_TOTO, KEY)
    field = data.draw(st.sampled_from(["payload", "sig"]))
    raw = bytearray(
        payload if field == "payload" else base64.b64decode(envelope["signatures"][0]["sig"])
    )
    position = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[position // 8] ^= 1 << (position % 8)
    tampered = copy.deepcopy(envelope)
    if field == "payload":
        tampered["payload"] = base64.b64encode(bytes(raw)).decode()
    else:
        tampered["signatures"][0]["sig"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(dsse.EnvelopeError):
        dsse.verify(tampered, KEY.public_key(), dsse.IN_TOTO)
