#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the dashboard's browser tests (tests/web).
# Idempotent: does nothing when /usr/bin/chromium exists. Installs it with apt-get when run
# as root; otherwise says why the browser tests will be skipped and succeeds anyway.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: $CHROMIUM is missing and this is not root with apt-get;" \
        "the browser tests in tests/web will be skipped (install the 'chromium' package)." >&2
    exit 0
fi
echo "ensure-chromium: installing Debian's chromium for the browser tests..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
echo "ensure-chromium: $("$CHROMIUM" --version)" >&2
