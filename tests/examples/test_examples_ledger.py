"""Issue 34, done when: the shipped example DAGs run (one Apex job of the blog-to-video example fails, is
refunded, and its task's retry pays for a new one), then ``mediagen credits`` (the real command, in its own
process, on the same metadata database) reports per connection exactly what the simulator recorded as
charged and refunded, and each connection's balance now."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .conftest import run_dag_in_subprocess


def diagnosis(since: str, report: dict[str, Any]) -> str:
    """What the test process sees in the same database, to tell a ledger fault from an unpushed entry."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from airflow_provider_mediagen.ledger.query import ledger

    moment = datetime.fromisoformat(since)
    with create_session() as session:
        here = ledger(session, moment, "connection").model_dump(mode="json")
        rows = [(x.dag_id, x.task_id, x.map_index, str(x.timestamp), str(x.value)[:80]) for x in
                session.query(XComModel).filter(XComModel.key == "mediagen_credits", XComModel.timestamp >= moment)]
        tis = [(t.dag_id, t.task_id, t.map_index, str(t.state), t.try_number, str(t.end_date)) for t in
               session.query(TaskInstance).filter(TaskInstance.dag_id == "mediagen_social_banners",
                                                  TaskInstance.start_date >= moment)]
    env = {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW") and "CONN_" not in k}
    return f"cli={report}\nin-process={here}\nxcom={rows}\nbanner tis={tis}\nenv={env}"


def test_the_ledger_of_the_examples_matches_the_simulators_records(sim: Any, tmp_path: Path) -> None:
    since = datetime.now(timezone.utc).isoformat()
    sim.set_faults([{"service": "apex", "endpoint": "POST /api/generate/text2video", "fault": "job_fail",
                     "count": 1}])
    # Each run in its own interpreter, as a worker runs tasks: what the CLI reads next is what those
    # processes committed. (In this process, after the rest of the suite, the CLI once missed the last
    # run's entries that a session here still saw: dag.test()'s in-process state, not the ledger's.)
    for dag_id in ("mediagen_blog_to_video", "mediagen_social_banners"):
        run_dag_in_subprocess(dag_id)
    done = subprocess.run([sys.executable, "-m", "airflow_provider_mediagen.cli", "credits", "--since", since,
                           "--by", "connection", "--json"], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    groups = {g["key"]: g for g in report["groups"]}
    counters = sim.counters()
    assert set(groups) == {"mediagen_apex_default", "mediagen_ddukddak_default"}, diagnosis(since, report)
    for service in ("apex", "ddukddak"):
        group, account = groups[f"mediagen_{service}_default"], counters[service]["demo"]
        assert (group["jobs"], group["charged"]) == (account["jobs_created"], account["credits_charged"]), service
    apex, account = groups["mediagen_apex_default"], counters["apex"]["demo"]
    # voice 80 + avatar 750 + text to video 250, and the failed text to video's 250 charged then refunded
    assert (apex["charged"], apex["refunded"], apex["net"], apex["failed"]) == (1330, 250, 1080, 1)
    assert account["credits_refunded"] == 250
    assert apex["estimated"] == apex["charged"]  # every job cost what the docs say it costs
    balances = {b["conn_id"]: b for b in report["balances"]}
    apex_now = next(a for a in sim.accounts() if a["service"] == "apex" and a["name"] == "demo")
    assert balances["mediagen_apex_default"]["balance"] == apex_now["credits"]
    assert balances["mediagen_apex_default"]["plan"] == apex_now["plan"]
