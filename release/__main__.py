"""`python -m release COMMAND`: what the supply-chain `make` targets run (see `release`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from release.keys import PUBLIC_KEY_FILE, SIGNING_ENV, SigningKey, public_pem, signing_key
from release.provenance import write_provenance
from release.signing import ReleaseError, artefacts, sign_release, verify_release


def _key(dist: Path) -> SigningKey:
    """The release key; a throwaway one is announced on stderr."""
    key = signing_key()
    if key.throwaway:
        print(
            f"{SIGNING_ENV} is not set: signing with a throwaway key made for this run and"
            f" kept nowhere; its public half is {dist / PUBLIC_KEY_FILE}. Set {SIGNING_ENV}"
            " (an Ed25519 private key, PEM or a file) to sign a release.",
            file=sys.stderr,
        )
    return key


def _sbom(args: argparse.Namespace) -> int:
    from release.sbom import write_sbom

    document = write_sbom(Path("."), args.dist / "sbom.cdx.json")
    print(f"{args.dist / 'sbom.cdx.json'}: {len(document['components'])} components")
    return 0


def _slsa(args: argparse.Namespace) -> int:
    key = _key(args.dist)
    path = write_provenance(artefacts(args.dist), Path("."), args.dist, key.key)
    (args.dist / PUBLIC_KEY_FILE).write_bytes(public_pem(key.key.public_key()))
    print(f"{path}: SLSA v1 provenance of {', '.join(p.name for p in artefacts(args.dist))}")
    return 0


def _sign(args: argparse.Namespace) -> int:
    manifest = sign_release(Path("."), args.dist, _key(args.dist))
    print(f"{manifest}: signed the wheel, the sdist, the SBOM and the provenance")
    return 0


def _verify(args: argparse.Namespace) -> int:
    verified = verify_release(args.dist)
    for line in verified.checked:
        print(f"ok  {line}")
    print(f"verified with {verified.key_source}")
    return 0


def _api(args: argparse.Namespace) -> int:
    from release.openapi import SNAPSHOT, render, served_document, snapshot_diff, validate

    document = served_document()
    try:
        validate(document)
    except Exception as exc:  # the validator's errors share no base class of ours
        print(f"the served OpenAPI document is not valid OpenAPI: {exc}", file=sys.stderr)
        return 1
    if args.command == "api-snapshot":
        SNAPSHOT.write_text(render(document))
        print(f"{SNAPSHOT}: rewritten from the served document (review the diff)")
        return 0
    diff = snapshot_diff(document, SNAPSHOT)
    if diff:
        sys.stdout.writelines(diff[:200])
        print(
            f"\nthe served OpenAPI document differs from {SNAPSHOT}: review, then make api-snapshot"
        )
        return 1
    print(f"the served OpenAPI document is valid and equals {SNAPSHOT}")
    return 0


COMMANDS = {
    "sbom": _sbom,
    "slsa": _slsa,
    "sign": _sign,
    "verify": _verify,
    "api-validate": _api,
    "api-snapshot": _api,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m release")
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--dist", type=Path, default=Path("dist"), help="release directory")
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ReleaseError, ValueError, OSError) as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
