"""Building trust in a release: SBOM, SLSA provenance, signatures, the API snapshot.

Each `make` target of the supply chain is one `python -m release COMMAND` (docs/operations.md,
"Releases"); the logic lives here so that it is tested:

    runtime     the locked runtime dependencies (the lock's closure of `[project] dependencies`)
    sbom        a CycloneDX JSON SBOM of them, with purls (`cyclonedx-py requirements`)
    dsse        DSSE envelopes (PAE, Ed25519) made and checked
    keys        the signing key: `BKG_SIGNING_KEY`, else a throwaway one (and says so)
    provenance  an in-toto Statement v1 with an SLSA v1 provenance predicate
    signing     the signed manifest of the release files, and its verification
    openapi     the served OpenAPI document, validated and compared with `schemas/`

Nothing here is on a request's path: the server never imports it.
"""
