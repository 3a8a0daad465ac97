#!/usr/bin/env bash
# Debian's redis-server for the shared rate budget tests (tests/client/test_shared_budget.py), installed only
# when missing. The tests start their own server on a free loopback port (--save ""), stopped by pid.
set -euo pipefail
if command -v redis-server >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "setup-redis: redis-server is missing; run as root or: apt-get install -y redis-server" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# Debian starts a service on 6379 after the install where it can; the tests never use it.
redis-server --version
