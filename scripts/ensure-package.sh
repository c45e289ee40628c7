#!/usr/bin/env bash
# Make sure a Debian package a test or benchmark needs is installed:
#   ensure-package.sh PACKAGE COMMAND WHAT
# COMMAND is the program (a name on the PATH or an absolute path) whose presence says the
# package is there; WHAT names what needs it, for the messages. Idempotent: does nothing when
# COMMAND is found. Installs PACKAGE with apt-get when run as root; otherwise says what will
# be skipped and succeeds anyway.
set -euo pipefail

PACKAGE=$1
COMMAND=$2
WHAT=$3

if command -v "$COMMAND" >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-package: $COMMAND is missing and this is not root with apt-get;" \
        "$WHAT will be skipped (install the '$PACKAGE' package)." >&2
    exit 0
fi
echo "ensure-package: installing Debian's $PACKAGE for $WHAT..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "$PACKAGE" >/dev/null
echo "ensure-package: $("$COMMAND" --version 2>&1 | head -n 1)" >&2
