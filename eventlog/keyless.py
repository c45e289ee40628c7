"""Keyless signatures of sealed artifacts with sigstore, where an OIDC identity exists.

The local Ed25519 key seals every group, manifest and audit file offline. Where the process
has an OIDC identity (a CI job, a cloud workload), a sealed artifact can additionally be
signed keyless: Fulcio certifies a short-lived key for the identity and Rekor records the
signature in its transparency log, so a verifier can check who sealed it without trusting
any key we hold. The bundle lives beside the artifact as `<artifact>.sigstore.json`. The
artifacts are the log's segment manifests (`.manifest`) and the audit trail's seals
(`.jsonl.sig`, see `projections.consumers.audit_keyless`); `sign_artifacts` and
`check_bundle` work on any file, the callers choose which.

Signing talks to the network, so it never runs in the writer thread or a consumer: it is
run by an operator or a scheduled job (`bkgdb log sign-keyless`, `bkgdb audit sign-keyless`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eventlog.errors import SigningKeyError
from eventlog.segments import list_segments, manifest_path, write_atomic

BUNDLE_SUFFIX = ".sigstore.json"


def bundle_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + BUNDLE_SUFFIX)


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


def require_identity(token: str | None = None) -> str:
    """`token`, or the environment's; a clear SigningKeyError when there is none."""
    token = token or identity_token()
    if not token:
        raise SigningKeyError(
            "keyless signing needs an OIDC identity (set BKG_SIGSTORE_ID_TOKEN or run "
            "where sigstore detects one); the local signing key still seals everything"
        )
    return token


def pending_manifests(log_dir: Path) -> list[Path]:
    """Sealed manifests that have no bundle yet, in log order."""
    manifests = [manifest_path(path) for _, path in list_segments(log_dir)]
    return [m for m in manifests if m.exists() and not bundle_path(m).exists()]


def sign_pending(log_dir: Path, token: str | None = None) -> list[Path]:
    """Sign every sealed manifest that has no bundle yet; returns the bundles written."""
    return sign_artifacts(pending_manifests(log_dir), token)


def sign_artifacts(artifacts: Sequence[Path], token: str | None = None) -> list[Path]:
    """Sign each artifact keyless and write its bundle beside it; returns the bundles.

    The identity is required (and a malformed token refused) before anything is sent, so a
    run without one fails at once and writes nothing. A failure part-way leaves the bundles
    already written, each complete (written atomically); a rerun signs the rest.
    """
    token = require_identity(token)
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken
    from sigstore.sign import SigningContext

    written: list[Path] = []
    try:
        identity = IdentityToken(token)
        if not artifacts:
            return written
        context = SigningContext.from_trust_config(ClientTrustConfig.production())
        with context.signer(identity) as signer:
            for artifact in artifacts:
                bundle = signer.sign_artifact(artifact.read_bytes())
                write_atomic(bundle_path(artifact), bundle.to_json().encode())
                written.append(bundle_path(artifact))
    except (SigstoreError, OSError) as exc:
        done = f" after {len(written)} bundle(s)" if written else ""
        raise SigningKeyError(f"keyless signing failed{done}: {exc}") from exc
    return written


@dataclass(frozen=True)
class BundleCheck:
    """`ok` False means tampering or a mismatch; `checked` False means the bundle could not
    be checked here (not a pass: `note` says why)."""

    ok: bool
    note: str = ""
    checked: bool = True


class AnySigner:
    """The sigstore policy of a check with no signer pinned: the signature, certificate
    chain and transparency log entry are verified, the certificate's identity is not.
    (sigstore's own `UnsafeNoOp` does the same, but warns on stderr on every check; the
    caller's report says "signer identity not pinned" instead.)"""

    def verify(self, cert: object) -> None:
        """Accept any signer identity."""


def check_bundle(artifact: Path, identity: str | None, issuer: str | None) -> BundleCheck:
    """Check an artifact's bundle against sigstore's trust root (offline).

    A bundle that does not parse, or whose signature does not match the artifact, fails.
    Without a usable trust root (sigstore's cache cannot be read or written here) the bundle
    cannot be checked and is reported as such rather than passed.
    """
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity

    try:
        bundle = Bundle.from_json(bundle_path(artifact).read_bytes())
    except (OSError, ValueError, SigstoreError) as exc:
        return BundleCheck(False, f"unreadable sigstore bundle: {exc}")
    try:
        verifier = Verifier.production(offline=True)
    except Exception as exc:  # TUF and trust-root loading raise many kinds
        note = f"bundle not checked: no sigstore trust root here ({exc})"
        return BundleCheck(True, note, checked=False)
    policy = Identity(identity=identity, issuer=issuer) if identity else AnySigner()
    try:
        verifier.verify_artifact(artifact.read_bytes(), bundle, policy)
    except SigstoreError as exc:
        return BundleCheck(False, f"sigstore bundle does not verify: {exc}")
    return BundleCheck(True, "" if identity else "bundle verified; signer identity not pinned")
