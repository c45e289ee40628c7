"""Keyless signatures of sealed manifests with sigstore, where an OIDC identity exists.

The local Ed25519 key seals every group and manifest offline. Where the process has an
OIDC identity (a CI job, a cloud workload), each sealed manifest can additionally be
signed keyless: Fulcio certifies a short-lived key for the identity and Rekor records the
signature in its transparency log, so a verifier can check who sealed a segment without
trusting any key we hold. The bundle lives beside the manifest as `.manifest.sigstore.json`.

Signing talks to the network, so it never runs in the writer thread: `sign_pending` is
run by an operator or a scheduled job (`bkgdb log sign-keyless`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eventlog.errors import SigningKeyError
from eventlog.segments import list_segments, manifest_path, write_atomic

BUNDLE_SUFFIX = ".sigstore.json"


def bundle_path(manifest: Path) -> Path:
    return manifest.with_name(manifest.name + BUNDLE_SUFFIX)


def identity_token() -> str | None:
    """An OIDC token from `BKG_SIGSTORE_ID_TOKEN`, else one the environment offers."""
    token = os.environ.get("BKG_SIGSTORE_ID_TOKEN")
    if token:
        return token
    from sigstore.oidc import detect_credential

    try:
        return detect_credential()
    except Exception as exc:  # sigstore raises its own error types per provider
        raise SigningKeyError(f"no usable OIDC identity: {exc}") from exc


def sign_pending(log_dir: Path, token: str | None = None) -> list[Path]:
    """Sign every sealed manifest that has no bundle yet; returns the bundles written."""
    token = token or identity_token()
    if not token:
        raise SigningKeyError(
            "keyless signing needs an OIDC identity (set BKG_SIGSTORE_ID_TOKEN or run "
            "where sigstore detects one); the local signing key still seals the log"
        )
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken
    from sigstore.sign import SigningContext

    pending = [
        manifest_path(path)
        for _, path in list_segments(log_dir)
        if manifest_path(path).exists() and not bundle_path(manifest_path(path)).exists()
    ]
    if not pending:
        return []
    context = SigningContext.from_trust_config(ClientTrustConfig.production())
    written = []
    with context.signer(IdentityToken(token)) as signer:
        for manifest in pending:
            bundle = signer.sign_artifact(manifest.read_bytes())
            write_atomic(bundle_path(manifest), bundle.to_json().encode())
            written.append(bundle_path(manifest))
    return written


@dataclass(frozen=True)
class BundleCheck:
    """`ok` False means tampering or a mismatch; `note` explains an unchecked bundle."""

    ok: bool
    note: str = ""


def check_bundle(manifest: Path, identity: str | None, issuer: str | None) -> BundleCheck:
    """Check a manifest's bundle against sigstore's trust root (cached, offline).

    A bundle that does not parse, or whose signature does not match the manifest, fails.
    Without a cached trust root (a machine that never reached sigstore) the bundle cannot
    be checked and is reported as such rather than passed.
    """
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity, UnsafeNoOp

    try:
        bundle = Bundle.from_json(bundle_path(manifest).read_bytes())
    except (OSError, ValueError, SigstoreError) as exc:
        return BundleCheck(False, f"unreadable sigstore bundle: {exc}")
    try:
        verifier = Verifier.production(offline=True)
    except Exception as exc:  # TUF and trust-root loading raise many kinds
        return BundleCheck(True, f"bundle not checked: no sigstore trust root here ({exc})")
    policy = Identity(identity=identity, issuer=issuer) if identity else UnsafeNoOp()
    try:
        verifier.verify_artifact(manifest.read_bytes(), bundle, policy)
    except SigstoreError as exc:
        return BundleCheck(False, f"sigstore bundle does not verify: {exc}")
    return BundleCheck(True, "" if identity else "bundle verified; signer identity not pinned")
