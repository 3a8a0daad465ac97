"""Issue 34 step 3: ``GET /mediagen/credits`` on the real API server (its own process, Airflow's
``create_app`` with this provider's plugin), behind the auth manager it is configured with: anonymous is
refused, an admin sees every DAG's figures (checked against the simulator's counters and against the CLI),
and a user allowed one DAG sees that DAG only, and only its connection's balance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_mediagen.demo.stack import free_port

from .one_dag_auth import LIMITED_USER, ONE_DAG
from .test_credits_ledger import CONNS, credits_cli, run_three

REPO = Path(__file__).resolve().parents[2]
PASSWORDS = {"admin": "admin-pw-1", LIMITED_USER: "onedag-pw-2"}
SERVE = "import sys, uvicorn\nfrom airflow.api_fastapi.app import create_app\n" \
        "uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')\n"


@pytest.fixture(scope="module")
def api_server(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("api")
    passwords = folder / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    env = os.environ | {
        "AIRFLOW__CORE__AUTH_MANAGER": "tests.airflow.one_dag_auth.OneDagAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"admin:admin,{LIMITED_USER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    port = free_port()
    log = (folder / "api.log").open("w")
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], env=env, cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, (folder / "api.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the API server did not start"
        try:
            httpx.get(f"{base}/api/v2/monitor/health", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def token(base: str, user: str) -> str:
    answer = httpx.post(f"{base}/auth/token", json={"username": user, "password": PASSWORDS[user]}, timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()["access_token"]


def ledger(base: str, user: str | None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token(base, user)}"} if user else {}
    return httpx.get(f"{base}/mediagen/credits", params=params, headers=headers, timeout=120)


def test_anonymous_and_bad_tokens_are_refused(api_server: str) -> None:
    assert ledger(api_server, None).status_code == 401
    bad = httpx.get(f"{api_server}/mediagen/credits", headers={"Authorization": "Bearer not-a-jwt"}, timeout=30)
    assert bad.status_code == 403
    assert ledger(api_server, "admin", since="last tuesday").status_code == 400
    assert ledger(api_server, "admin", by="colour").status_code == 422


def test_the_route_matches_the_simulator_and_the_cli_and_limits_a_user_to_their_dag(
        simulator: Any, api_server: str, tmp_path: Path) -> None:
    since = run_three(simulator)
    answer = ledger(api_server, "admin", since=since, by="service")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    counters = simulator.counters()
    groups = {g["key"]: g for g in report["groups"]}
    assert set(groups) == set(CONNS)
    for service, group in groups.items():
        assert group["charged"] == counters[service]["demo"]["credits_charged"], (service, group)
    assert groups["apex"]["refunded"] == counters["apex"]["demo"]["credits_refunded"] > 0
    assert groups["apex"]["failed"] == 1
    cli = json.loads(credits_cli("--since", since, "--by", "service", "--json").stdout)
    assert cli["groups"] == report["groups"] and cli["total"] == report["total"]
    assert {b["conn_id"] for b in report["balances"]} == set(CONNS.values())

    limited = ledger(api_server, LIMITED_USER, since=since, by="dag")
    assert limited.status_code == 200, limited.text
    seen = limited.json()
    assert [g["key"] for g in seen["groups"]] == [ONE_DAG]
    assert seen["total"]["jobs"] == 2 and seen["total"]["refunded"] == groups["apex"]["refunded"]
    assert [b["conn_id"] for b in seen["balances"]] == [CONNS["apex"]]
    # Asking for another DAG by name does not widen what the user may read.
    other = ledger(api_server, LIMITED_USER, since=since, dag_id="money_facedub_deferrable").json()
    assert other["groups"] == [] and other["total"]["jobs"] == 0
