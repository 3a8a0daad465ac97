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

from .conftest import run_dag


def test_the_ledger_of_the_examples_matches_the_simulators_records(sim: Any, tmp_path: Path) -> None:
    since = datetime.now(timezone.utc).isoformat()
    sim.set_faults([{"service": "apex", "endpoint": "POST /api/generate/text2video", "fault": "job_fail",
                     "count": 1}])
    for dag_id in ("mediagen_blog_to_video", "mediagen_social_banners"):
        run, _ = run_dag(dag_id)
        assert run.state == "success", dag_id
    done = subprocess.run([sys.executable, "-m", "airflow_provider_mediagen.cli", "credits", "--since", since,
                           "--by", "connection", "--json"], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    groups = {g["key"]: g for g in report["groups"]}
    counters = sim.counters()
    assert set(groups) == {"mediagen_apex_default", "mediagen_ddukddak_default"}
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
