#!/usr/bin/env bash
# Debian's Chromium for the gallery test (tests/system/test_demo.py) and the Credits page test
# (tests/airflow/test_credits_page.py, through Playwright), installed only when missing.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
apt_install_missing chromium "test -x /usr/bin/chromium" chromium
