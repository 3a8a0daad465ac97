#!/usr/bin/env bash
# Debian's Chromium for the gallery test (tests/system/test_demo.py), installed only when missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "setup-chromium: /usr/bin/chromium is missing; run as root or: apt-get install -y chromium" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
