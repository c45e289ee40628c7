#!/usr/bin/env bash
# Make sure Debian's wrk is installed for the http_peer benchmark (bench/scenarios/http_peer.py)
# and its tests (tests/test_bench_wrk.py, the bench smoke test). Idempotent: does nothing when
# wrk is on the PATH. Installs it with apt-get when run as root; otherwise says why the
# scenario and its tests will be skipped and succeeds anyway.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-wrk: wrk is missing and this is not root with apt-get;" \
        "the http_peer benchmark and its tests will be skipped (install the 'wrk' package)." >&2
    exit 0
fi
echo "ensure-wrk: installing Debian's wrk for the http_peer benchmark..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq wrk >/dev/null
echo "ensure-wrk: $(wrk --version 2>&1 | head -n 1)" >&2
