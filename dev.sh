#!/usr/bin/env bash
# The project's two commands, each doing all of its own setup on a fresh machine
# (Python 3.10+, pip, Node 20, npm), and the set-up alone:
#   ./dev.sh demo    run the whole product on real Airflow against the local simulator
#   ./dev.sh test    run the whole test suite (extra args go to pytest)
#   ./dev.sh setup   install only: the virtualenv, the project with [sim,test], the test runtimes
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
        exec "$VENV/bin/mediagen" demo "$@"
        ;;
    test)
        shift
        setup_python
        setup_runtimes
        set +e
        "$VENV/bin/python" -m pytest "$@"
        status=$?
        set -e
        # pytest's 5 means "no tests collected": that is a failure here, never a pass.
        exit $status
        ;;
    *)
        echo "usage: ./dev.sh demo | ./dev.sh test [pytest args] | ./dev.sh setup" >&2
        exit 2
        ;;
esac
