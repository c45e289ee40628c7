"""Signed manifests of active-segment pieces, so that a restore checks them as it checks
sealed segments: by digest and signature, without walking their frames.

A piece is bytes `offset..end` of the active segment, ending on a seal. Its manifest uses
the sealed segments' format (`eventlog.segments.Manifest`): `segment` names the piece, the
LSN range, the chain value before it and the head its last seal signs, the SHA-256 and size
of its bytes, signed by the key that sealed its last group. When the writer has moved to a
newer key since (a rotation between two passes), the piece goes without a manifest and a
restore walks it instead.
"""

from __future__ import annotations

from eventlog import Manifest, SigningKey
from projections.blobs.blobstore import Written


def piece_manifest(
    name: str,
    first_lsn: int,
    last_lsn: int,
    prev_chain: bytes,
    chain_head: bytes,
    written: Written,
    key: SigningKey,
) -> Manifest:
    """The signed manifest of one uploaded piece (`written`: what the blob store measured
    of it while it streamed)."""
    return Manifest(
        segment=name,
        first_lsn=first_lsn,
        last_lsn=last_lsn,
        count=last_lsn - first_lsn + 1,
        prev_hash=prev_chain.hex(),
        chain_head=chain_head.hex(),
        sha256=written.sha256,
        size=written.size,
        key_id=key.key_id,
    ).signed_by(key)
