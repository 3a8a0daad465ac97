#!/usr/bin/env bash
# The project's two commands, each doing all of its own setup on a fresh machine
# (Python 3.10+, pip, Node 20, npm), and the set-up alone:
#   ./dev.sh demo    run the whole product on real Airflow against the local simulator
#   ./dev.sh test    run the whole test suite (extra args go to pytest)
#   ./dev.sh setup   install only: the virtualenv, the project with [sim,test], the test runtimes
#   ./dev.sh offline CMD...   run CMD as demo and test run once installed (below)
#
# Once the installs are done, the demo and the tests run in a private network namespace whose only
# interface is loopback: nothing they start can reach another host, whatever a future test does. That needs
# root or unprivileged user namespaces, and iproute2; elsewhere it says so once and runs as it is.
# MEDIAGEN_NETNS=off runs with the normal network.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
VENV=${MEDIAGEN_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3}

setup_python() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PY" -m venv "$VENV"
    fi
    # Reinstall only when the dependency list changed.
    local stamp="$VENV/.mediagen-deps" want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        "$VENV/bin/pip" install -q --disable-pip-version-check -e ".[sim,test]"
        echo "$want" > "$stamp"
    fi
}

setup_runtimes() {
    for script in scripts/setup-*.sh; do
        [ -e "$script" ] && bash "$script"
    done
}

# Run "$@" with no network but loopback (a new network namespace, lo up), or as it is where that is
# not possible or MEDIAGEN_NETNS=off.
offline() {
    local userns=()
    [ "$(id -u)" = 0 ] || userns=(--map-root-user)
    if [ "${MEDIAGEN_NETNS:-on}" != off ] && command -v unshare >/dev/null && command -v ip >/dev/null \
        && unshare --net "${userns[@]}" -- ip link set lo up 2>/dev/null; then
        MEDIAGEN_NETNS=private unshare --net "${userns[@]}" -- bash -c 'ip link set lo up && exec "$@"' offline "$@"
    else
        if [ "${MEDIAGEN_NETNS:-on}" = off ]; then
            echo "dev.sh: MEDIAGEN_NETNS=off: running with the normal network" >&2
        else
            echo "dev.sh: no private network namespace here (needs root or unprivileged user namespaces, and iproute2's ip): running with the normal network" >&2
        fi
        MEDIAGEN_NETNS=shared "$@"
    fi
}

case "${1:-}" in
    setup)
        shift
        setup_python
        setup_runtimes
        echo "ready: $VENV (activate with: source $VENV/bin/activate; then mediagen --help)"
        ;;
    demo)
        shift
        setup_python
        # The production shape starts its own PostgreSQL 15 and Redis: their Debian packages first.
        if [[ " $* " == *" --production "* ]]; then
            bash scripts/setup-redis.sh
            bash scripts/setup-postgres.sh
        fi
        offline "$VENV/bin/mediagen" demo "$@"
        ;;
    test)
        shift
        setup_python
        setup_runtimes
        set +e
        offline "$VENV/bin/python" -m pytest "$@"
        status=$?
        set -e
        # pytest's 5 means "no tests collected": that is a failure here, never a pass.
        exit $status
        ;;
    offline)
        shift
        offline "$@"
        ;;
    *)
        echo "usage: ./dev.sh demo | ./dev.sh test [pytest args] | ./dev.sh setup | ./dev.sh offline CMD..." >&2
        exit 2
        ;;
esac
