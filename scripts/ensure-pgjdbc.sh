#!/usr/bin/env bash
# Make sure Debian's pgJDBC driver and a headless JRE are installed for the wire-protocol
# tests of tests/pgwire/test_jdbc.py. Idempotent: does nothing when both are there. Installs
# them with apt-get when run as root; otherwise says why those tests will be skipped.
set -euo pipefail

JAR=/usr/share/java/postgresql.jar

if [ -f "$JAR" ] && command -v java >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-pgjdbc: $JAR or java is missing and this is not root with apt-get;" \
        "tests/pgwire/test_jdbc.py will be skipped (install libpostgresql-jdbc-java" \
        "and default-jre-headless)." >&2
    exit 0
fi
echo "ensure-pgjdbc: installing Debian's pgJDBC and a headless JRE..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq libpostgresql-jdbc-java default-jre-headless >/dev/null
