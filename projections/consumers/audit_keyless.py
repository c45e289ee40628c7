"""Keyless (sigstore) bundles of the audit trail's closed files.

What is signed is a closed file's seal, `audit-<first LSN>.jsonl.sig`: it carries the file's
SHA-256, line count and LSN range, so a bundle over the seal covers the file's content, and
`audit verify` checks both links (bundle to seal, seal to file). The bundle is written beside
the seal as `audit-<first LSN>.jsonl.sig.sigstore.json` (`eventlog.keyless.bundle_path`).

Signing talks to Fulcio and Rekor, so it never runs in the audit consumer: an operator or a
scheduled job runs `bkgdb audit sign-keyless` where an OIDC identity exists. Bundles are made
at signing time and are not rebuilt from the log: deleting `audit/` loses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eventlog.keyless import bundle_path, require_identity, sign_artifacts
from eventlog.keys import KeyRing
from projections.consumers.audit_files import audit_files, seal_path
from projections.consumers.audit_verify import verify_audit_file
from projections.source import LogSource


def pending_files(target: Path) -> list[Path]:
    """Sealed audit files whose seal has no bundle yet, in log order: those of a trail
    directory, or `target` itself when it is one file (an export). The active file of a
    trail has no seal and is never pending."""
    files = audit_files(target) if target.is_dir() else [target]
    return [p for p in files if seal_path(p).exists() and not bundle_path(seal_path(p)).exists()]


def sign_files(
    files: Sequence[Path], log: LogSource, ring: KeyRing, token: str | None = None
) -> list[Path]:
    """Verify every file (seal, and each line against the log), then sign their seals
    keyless; returns the bundles written. Nothing is signed if any file fails (an
    AuditVerifyError names it): a keyless signature must not vouch for a trail that does
    not verify. Without an OIDC identity this fails before reading anything."""
    token = require_identity(token)
    for path in files:
        verify_audit_file(path, log, ring)
    return sign_artifacts([seal_path(path) for path in files], token)
