"""Issue 34 step 2: ``mediagen credits`` (the real command, in its own process, on the test's Airflow
database) after real DAG runs on three services, one of them with a failed and refunded job, checked
against the simulator's own counters of credits charged and refunded and against its accounts' balances."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .conftest import run_dag

MONEY = "mediagen_money_dags.py"
CONNS = {"apex": "mediagen_apex_default", "facedub": "mediagen_facedub_default",
         "ddukddak": "mediagen_ddukddak_default"}


def credits_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "airflow_provider_mediagen.cli", "credits", *args],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=300)


def run_three(simulator: Any) -> str:
    """Runs an Apex image (its first job fails and is refunded, the retry succeeds), a FaceDub video and
    a Ddukddak AI image; returns the moment before them (the ledger's --since)."""
    since = datetime.now(timezone.utc).isoformat()
    simulator.set_faults([{"service": "apex", "endpoint": "POST /api/generate/image", "fault": "job_fail",
                           "count": 1}])
    for dag in ("money_apex_worker", "money_facedub_deferrable", "money_ddukddak_worker"):
        run, _ = run_dag(dag, MONEY)
        assert run.state == "success", dag
    return since


def test_the_cli_figures_match_the_simulators_records(simulator: Any, tmp_path: Path) -> None:
    since = run_three(simulator)
    done = credits_cli("--since", since, "--by", "service", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    counters = simulator.counters()
    groups = {g["key"]: g for g in report["groups"]}
    assert set(groups) == set(CONNS)
    for service, group in groups.items():
        account = counters[service]["demo"]
        assert group["charged"] == account["credits_charged"], (service, group, account)
        assert group["jobs"] == account["jobs_created"], (service, group, account)
    apex = groups["apex"]
    assert apex["failed"] == 1 and apex["refunded"] == counters["apex"]["demo"]["credits_refunded"] > 0
    assert apex["net"] == apex["charged"] - apex["refunded"]
    assert apex["estimate_gap"] == 0 and apex["without_estimate"] == 0  # the documented price was charged
    total = report["total"]
    assert total["charged"] == sum(counters[s]["demo"]["credits_charged"] for s in CONNS)
    # The accounts now, from the services' usage endpoints (Ddukddak documents none).
    balances = {b["conn_id"]: b for b in report["balances"]}
    assert set(balances) == set(CONNS.values())
    accounts = {a["service"]: a for a in simulator.accounts() if a["name"] == "demo"}
    for service in ("apex", "facedub"):
        row, account = balances[CONNS[service]], accounts[service]
        assert row["error"] is None and row["plan"] == account["plan"], row
        remaining = account["credits"] if service == "apex" else account["credits"] - account["credits_used"]
        assert row["balance"] == remaining, (row, account)
    assert "documents no usage endpoint" in balances[CONNS["ddukddak"]]["error"]


def test_the_cli_groups_by_dag_and_prints_a_table(simulator: Any, tmp_path: Path) -> None:
    since = run_three(simulator)
    by_dag = json.loads(credits_cli("--since", since, "--by", "dag", "--json", "--no-balances").stdout)
    assert [g["key"] for g in by_dag["groups"]] == sorted(["money_apex_worker", "money_facedub_deferrable",
                                                            "money_ddukddak_worker"])
    assert by_dag["balances"] == []
    only = json.loads(credits_cli("--since", since, "--dag", "money_apex_worker", "--json", "--no-balances").stdout)
    assert only["total"]["jobs"] == 2 and only["total"]["failed"] == 1
    table = credits_cli("--since", since, "--by", "service", "--no-balances")
    assert table.returncode == 0, table.stderr[-3000:]
    assert "by service" in table.stdout and "apex" in table.stdout and "Total" in table.stdout
    bad = credits_cli("--since", "last tuesday")
    assert bad.returncode == 2 and "give a span (7d, 12h, 30m, 2w)" in bad.stderr
