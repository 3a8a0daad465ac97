"""The examples on real Airflow processes, as deployed: ``api-server``, ``scheduler`` (LocalExecutor),
``dag-processor`` and ``triggerer`` started by this test (by pid, stopped at the end whatever happens),
SQLite metadata DB, DAG runs triggered through the REST API (JWT from ``/auth/token``).

The simulator runs in this process on a loopback port the Airflow processes reach; time-scaled so a
job takes a few seconds. The triggerer is killed (SIGKILL, as a crash) while a job is mid-wait and a
new one started: the run still succeeds and the simulator saw no second submission. A task process is
killed the same way while its POST is in flight, and after the answer but before the job id was recorded:
the retry, in a new process, finds the job through Apex's job list and the simulator charged one job.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediagen.demo.environment import (
    EXAMPLE_ACCOUNTS,
    POOLS,
    connection_env,
    job_durations,
    variable_env,
)
from airflow_provider_mediagen.demo.stack import AirflowStack

from ..conftest import ROOT

pytestmark = pytest.mark.system
TIME_SCALE = 0.1  # Apex text2video (120 s documented) takes 12 s; nothing takes under 3 s
RUN_TIMEOUT = 240.0  # a run may include one retry (30 s delay) after an Airflow scheduler race
#: An Apex account (and connection ``mediagen_apex_<name>``) per kill DAG, so that each one's charges are its
#: own and the other's job never falls in its submission window (two image jobs of one account within the
#: reconciliation's clock-skew margin are ambiguous by design: the retry then fails instead of guessing).
KILL_ACCOUNTS = [{"service": "apex", "key": f"sk_live_{name}", "plan": "enterprise", "name": name}
                 for name in ("kill_mid", "kill_after")]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AirflowStack, Any, Path]]:
    from airflow_provider_mediagen.simulator import SimulatorConfig, SimulatorServer

    home = tmp_path_factory.mktemp("airflow-system")
    config = SimulatorConfig(time_scale=TIME_SCALE, accounts=[*EXAMPLE_ACCOUNTS, *KILL_ACCOUNTS],
                             durations=job_durations(TIME_SCALE, 3.0))
    with SimulatorServer(config) as sim:
        env = {**connection_env(sim.urls, sim.keys, TIME_SCALE), **variable_env(str(home / "outputs")),
               **{f"AIRFLOW_CONN_MEDIAGEN_APEX_{a['name'].upper()}": json.dumps({
                   "conn_type": "mediagen_apex", "host": sim.urls["apex"], "password": a["key"],
                   "extra": {"time_scale": TIME_SCALE}}) for a in KILL_ACCOUNTS},
               "MEDIAGEN_KILL_DIR": str(home / "kill")}
        stack = AirflowStack(home / "home", ROOT / "dags_examples", env, parallelism=4,
                             extra_bundles={"system_tests": Path(__file__).parent / "dags"})
        try:
            stack.migrate()
            stack.start()
            stack.wait_ready(["mediagen_blog_to_video", "mediagen_ugc_ad", "mediagen_product_photos",
                              "mediagen_media_postprocess", "mediagen_kill_mid_post",
                              "mediagen_kill_after_answer"], timeout=240)
            for pool in POOLS:
                stack.set_pool(*pool)
            yield stack, sim, home / "outputs"
        finally:
            stack.stop()
            assert all(p.poll() is not None for p in stack.processes.values())


def _stamp(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def test_deferred_run_survives_a_triggerer_crash_without_a_second_submission(
        deployment: tuple[AirflowStack, Any, Path]) -> None:
    stack, sim, _ = deployment
    dag_id = "mediagen_blog_to_video"
    before = sim.counters()["apex"].get("demo", {}).get("jobs_created", 0)
    stack.unpause(dag_id)
    run_id = stack.trigger(dag_id)
    seen: dict[str, set[str]] = {}

    def trigger_logs() -> list[Path]:
        """One log file per triggerer that ran the scenes trigger (``...log.trigger.<triggerer job id>.log``)."""
        return sorted(stack.log_dir.glob(f"dag_id={dag_id}/run_id={run_id}/task_id=scenes/attempt=*.log.trigger.*.log"))

    def scenes_waiting_in_the_triggerer() -> bool:
        for ti in stack.task_instances(dag_id, run_id):
            seen.setdefault(ti["task_id"], set()).add(str(ti["state"]))
        states = {ti["task_id"]: ti["state"] for ti in stack.task_instances(dag_id, run_id)}
        return states.get("scenes") == "deferred" and bool(trigger_logs())

    stack.wait_until("the scenes task to wait in the triggerer", scenes_waiting_in_the_triggerer,
                     timeout=RUN_TIMEOUT, interval=0.3)
    [job] = [j for j in sim.jobs() if j["service"] == "apex" and j["kind"] == "text2video"]
    assert job["status"] not in ("completed", "failed"), "the job must be mid-wait when the triggerer dies"
    [first] = trigger_logs()

    stack.kill("triggerer", sig=signal.SIGKILL)  # a crash: no chance to clean up
    crashed_at = time.time()
    stack.start_process("triggerer")

    def finished() -> dict[str, Any] | None:
        for ti in stack.task_instances(dag_id, run_id):
            seen.setdefault(ti["task_id"], set()).add(str(ti["state"]))
        run = stack.run(dag_id, run_id)
        return run if run["state"] in ("success", "failed") else None

    run = stack.wait_until(f"{dag_id} to finish", finished, timeout=RUN_TIMEOUT, interval=0.5)
    assert run["state"] == "success"
    assert {"deferred"} <= seen["scenes"] and {"deferred"} <= seen["presenter"]
    tis = {ti["task_id"]: ti for ti in stack.task_instances(dag_id, run_id)}
    assert all(ti["state"] == "success" for ti in tis.values())
    # The new triggerer (another triggerer job id) took the trigger over and finished the wait.
    logs = trigger_logs()
    assert len(logs) == 2 and first in logs, logs
    [second] = [p for p in logs if p != first]
    assert "Trigger fired event" in second.read_text(errors="replace")
    assert _stamp(tis["scenes"]["end_date"]) > crashed_at
    # One job per step, and one submission of the job that was mid-wait: nothing sent twice.
    apex = sim.counters()["apex"]["demo"]
    assert apex["jobs_created"] - before == 3
    assert apex["requests"]["POST /api/generate/text2video"] == {"200": 1}
    package = stack.xcom(dag_id, run_id, "gather")
    assert package["jobs"]["scenes"] == job["id"]
    assert all(Path(f.removeprefix("file://")).is_file() for files in package["files"].values() for f in files)


def test_pool_keeps_facedub_at_two_jobs_and_assets_drive_the_postprocessor(
        deployment: tuple[AirflowStack, Any, Path]) -> None:
    stack, sim, outputs = deployment
    pool = stack.api("GET", "/pools/facedub")
    assert pool["slots"] == 2 and pool["include_deferred"] is True
    for dag_id in ("mediagen_ugc_ad", "mediagen_product_photos", "mediagen_media_postprocess"):
        stack.unpause(dag_id)
    ugc = stack.trigger("mediagen_ugc_ad")
    photos = stack.trigger("mediagen_product_photos")
    assert stack.wait_run("mediagen_ugc_ad", ugc, RUN_TIMEOUT)["state"] == "success"
    assert stack.wait_run("mediagen_product_photos", photos, RUN_TIMEOUT)["state"] == "success"

    # Example 3: three dubs, never more than two FaceDub jobs at once, never a 429 on submission.
    dubs = [ti for ti in stack.task_instances("mediagen_ugc_ad", ugc) if ti["task_id"] == "dub"]
    assert len(dubs) == 3 and all(ti["pool"] == "facedub" for ti in dubs)
    facedub = sim.counters()["facedub"]["demo"]
    assert facedub["requests"]["POST /jobs"] == {"200": 3}
    jobs = [j for j in sim.jobs() if j["service"] == "facedub"]
    spans = [(_stamp(j["created_at"]), _stamp(j["finished_at"])) for j in jobs]
    most = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert len(jobs) == 3 and most <= 2

    # Example 4: every finished photo reached the asset-scheduled DAG, which published it.
    published = outputs / "published"
    stack.wait_until("the post-processor to publish 3 photos",
                     lambda: len(list(published.glob("*.json"))) == 3, timeout=RUN_TIMEOUT)
    stack.wait_until("the post-processing runs to finish",
                     lambda: (runs := stack.runs("mediagen_media_postprocess"))
                     and all(r["state"] in ("success", "failed") for r in runs), timeout=RUN_TIMEOUT)
    runs = stack.runs("mediagen_media_postprocess")
    assert runs and all(r["run_type"] == "asset_triggered" and r["state"] == "success" for r in runs)
    made = {ti["map_index"] for ti in stack.task_instances("mediagen_product_photos", photos)
            if ti["state"] == "success"}
    assert len(made) == 3


#: The simulator holds the first image POST of the kill account this long (real seconds) before its
#: handler runs: the task is killed while it waits, and the job is created after the client is gone.
HOLD = 5.0


@pytest.mark.parametrize(("dag_id", "task_id", "account", "faults"), [
    ("mediagen_kill_mid_post", "mid_post", "kill_mid", [{
        "service": "apex", "account": "kill_mid", "fault": "slow", "delay": HOLD,
        "endpoint": "POST /api/generate/image", "count": 1}]),
    ("mediagen_kill_after_answer", "after_answer", "kill_after", []),
])
def test_a_task_process_killed_around_its_submission_pays_once(
        deployment: tuple[AirflowStack, Any, Path], dag_id: str, task_id: str, account: str,
        faults: list[dict[str, Any]]) -> None:
    """SIGKILL, as an OOM kill or an eviction would: no except, no finally. Without the intent record and
    the reconciliation through ``GET /api/jobs`` the retry would submit a second job."""
    stack, sim, outputs = deployment
    sim.set_faults(faults)
    pid_file = stack.home.parent / "kill" / f"{task_id}.pid"

    def kill_jobs() -> list[dict[str, Any]]:
        return [j for j in sim.jobs() if j["service"] == "apex" and j["account"] == account]

    before = {j["id"] for j in kill_jobs()}
    try:
        stack.unpause(dag_id)
        run_id = stack.trigger(dag_id)
        pid = int(stack.wait_until(f"{task_id} to reach its pause point",
                                   lambda: pid_file.exists() and pid_file.read_text().strip(), timeout=RUN_TIMEOUT,
                                   interval=0.1))
        if faults:
            time.sleep(1.5)  # the POST is on its way and held by the simulator
            assert not set(j["id"] for j in kill_jobs()) - before, "the job must not exist yet when the task dies"
        else:
            assert len({j["id"] for j in kill_jobs()} - before) == 1, "the job must exist when the task dies"
        os.kill(pid, signal.SIGKILL)
        run = stack.wait_run(dag_id, run_id, RUN_TIMEOUT)
    finally:
        sim.clear_faults()
    [ti] = stack.task_instances(dag_id, run_id)
    assert run["state"] == "success" and ti["try_number"] == 2, (run, ti)
    created = [j for j in kill_jobs() if j["id"] not in before]
    assert len(created) == 1, created  # one job charged, by the simulator's own count
    result = stack.xcom(dag_id, run_id, task_id)
    assert result["job_id"] == created[0]["id"]
    [written] = [Path(f.removeprefix("file://")) for f in result["outputs"]]
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (outputs / "kill" / dag_id).iterdir()) == [written.name]
