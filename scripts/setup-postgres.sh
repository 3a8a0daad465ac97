#!/usr/bin/env bash
# Debian's PostgreSQL 15 binaries for the webhook store tests (tests/airflow/test_webhook_scale.py and
# test_webhook_migrations.py, marker "postgres"), installed only when missing. The tests run initdb/pg_ctl
# themselves (as the postgres user) in a temporary folder, on a free loopback port, stopped by pid.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
apt_install_missing postgres "test -x ${MEDIAGEN_PG_BIN:-/usr/lib/postgresql/15/bin}/initdb" postgresql-15
