#!/usr/bin/env bash
# Debian's Chromium for the gallery test (tests/system/test_demo.py), installed only when missing.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
apt_install_missing chromium "test -x /usr/bin/chromium" chromium
