#!/usr/bin/env bash
# Debian's redis-server for the shared rate budget tests (tests/client/test_shared_budget.py) and benchmark,
# installed only when missing. They start their own server on a free loopback port (--save ""), stopped by pid
# (Debian may start a service on 6379 after the install; nothing here uses it).
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
apt_install_missing redis "command -v redis-server" redis-server
