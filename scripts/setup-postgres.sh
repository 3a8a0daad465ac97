#!/usr/bin/env bash
# Debian's PostgreSQL 15 binaries for the webhook store tests (tests/airflow/test_webhook_scale.py, marker
# "postgres"), installed only when missing. The tests run initdb/pg_ctl themselves (as the postgres user) in a
# temporary folder, on a free loopback port, stopped by pid; no cluster of the package is used.
set -euo pipefail
BIN=${MEDIAGEN_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ -x "$BIN/initdb" ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "setup-postgres: $BIN/initdb is missing; run as root or: apt-get install -y postgresql-15" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
"$BIN/initdb" --version
