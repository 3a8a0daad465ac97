#!/usr/bin/env bash
# Sourced by the scripts/setup-*.sh: apt_install_missing NAME CHECK PACKAGE installs Debian's PACKAGE only when
# the command CHECK fails (the runtime is missing), as root; otherwise it says how and fails.
apt_install_missing() {
    local name=$1 check=$2 package=$3
    if eval "$check" >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "setup-$name: missing ($check failed); run as root or: apt-get install -y $package" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$package" >/dev/null
}
