#!/usr/bin/env bash
# The project's two commands, each doing all of its own setup on a fresh machine
# (Python 3.10+, pip, Node 20, npm):
#   ./dev.sh demo    run the whole product on real Airflow against the local simulator
#   ./dev.sh test    run the whole test suite (extra args go to pytest)
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

case "${1:-}" in
    demo)
        shift
        setup_python
        exec "$VENV/bin/mediagen" demo "$@"
        ;;
    test)
        shift
        setup_python
        for script in scripts/setup-*.sh; do
            [ -e "$script" ] && bash "$script"
        done
        set +e
        "$VENV/bin/python" -m pytest "$@"
        status=$?
        set -e
        # pytest's 5 means "no tests collected": that is a failure here, never a pass.
        exit $status
        ;;
    *)
        echo "usage: ./dev.sh demo | ./dev.sh test [pytest args]" >&2
        exit 2
        ;;
esac
