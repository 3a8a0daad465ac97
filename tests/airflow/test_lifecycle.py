"""The lifecycle's promises on real Airflow 3.3: a retried task reuses its job (one job, one charge);
auth, plan and credit errors fail at once without spending retries; a deadline fails naming the job;
mapped tasks, sensors (incl. start_from_trigger) and asset events work; templated values are validated
after rendering."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_dag


@pytest.mark.parametrize("mode", ["deferrable", "worker"])
def test_retry_after_a_crash_reuses_the_job(mode: str, simulator: Any, tmp_path: Path) -> None:
    run, tis = run_dag(f"mediagen_retry_reuses_job_{mode}")
    assert run.state == "success"
    assert tis["flaky"].try_number == 2  # the first try crashed after submitting
    apex = simulator.counters()["apex"]["demo"]
    assert apex["jobs_created"] == 1 and apex["credits_charged"] == 10
    assert apex["requests"]["POST /api/generate/image"] == {"200": 1}
    assert len(list((tmp_path / "out" / "flaky").glob("*-image.png"))) == 1


def failures(tmp_path: Path) -> dict[str, str]:
    """The exception each failed task reported to its on_failure_callback."""
    folder = tmp_path / "out" / "failures"
    return {p.stem: p.read_text() for p in folder.glob("*.txt")} if folder.exists() else {}


def test_auth_plan_and_credit_errors_fail_fast_without_retries(simulator: Any, tmp_path: Path) -> None:
    run, tis = run_dag("mediagen_fail_fast")
    logs = "\n".join(failures(tmp_path).values())
    assert run.state == "failed"
    for task in ("badkey", "pro", "broke"):
        assert tis[task].state == "failed" and tis[task].try_number == 1, task  # retries=3 not spent
    assert "HTTP 401 [UNAUTHORIZED]" in logs and "HTTP 403 [FORBIDDEN]" in logs
    assert "HTTP 402 [PAYMENT_REQUIRED]" in logs
    assert simulator.counters()["apex"].get("broke", {}).get("jobs_created", 0) == 0


def test_deadline_exceeded_fails_naming_the_job(simulator: Any, tmp_path: Path) -> None:
    run, tis = run_dag("mediagen_deadline")  # commercial: 300 s documented = 3 s here; timeout 1 s
    logs = "\n".join(failures(tmp_path).values())
    assert run.state == "failed"
    jobs = [j for j in simulator.jobs() if j["service"] == "apex"]
    assert len(jobs) == 2
    for job in jobs:
        assert job["id"] in logs
    assert "did not finish before the deadline" in logs  # deferrable: the trigger's event
    assert "did not finish within 1 s" in logs  # in the worker: the sync wait
    assert all(ti.state == "failed" for ti in tis.values())


def test_read_faults_are_retried_within_budget(simulator: Any) -> None:
    simulator.set_faults([{"service": "apex", "endpoint": "GET /api/jobs", "fault": "status", "status": 503,
                           "retry_after": 0.01, "count": 3},
                          {"service": "apex", "endpoint": "GET /api/jobs", "fault": "status", "status": 429,
                           "retry_after": 0.01, "count": 2}])
    run, tis = run_dag("mediagen_retry_reuses_job_deferrable")
    assert run.state == "success"
    reads = simulator.counters()["apex"]["demo"]["requests"]["GET /api/jobs"]
    assert reads.get("503") == 3 and reads.get("429") == 2 and reads.get("200", 0) >= 1


def test_mapped_tasks_and_asset_events(simulator: Any, tmp_path: Path) -> None:
    run, tis = run_dag("mediagen_mapped")
    assert run.state == "success"
    assert sorted(tis) == ["mapped[0]", "mapped[1]", "mapped[2]"]
    assert len(list((tmp_path / "out" / "mapped").glob("*.png"))) == 3
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = [e for e in session.query(AssetEvent).all() if e.source_run_id == run.run_id]
        extras = [dict(e.extra) for e in events]
    assert len(extras) == 3
    assert {e["service"] for e in extras} == {"apex"} and all(e["output_urls"] for e in extras)


def test_sensor_modes(simulator: Any) -> None:
    run, tis = run_dag("mediagen_sensor")
    assert run.state == "success", {t: ti.state for t, ti in tis.items()}
    assert simulator.counters()["apex"]["demo"]["jobs_created"] == 1


def test_a_sensor_of_a_failed_job_fails_without_spending_its_retries(simulator: Any, tmp_path: Path) -> None:
    """Before: poking raised a plain AirflowException (3 tries reading the same failed job) and the
    deferred sensor did the same on resuming."""
    simulator.set_faults([{"service": "apex", "fault": "job_fail", "count": 1}])
    run, tis = run_dag("mediagen_sensor_failed_job")
    assert run.state == "failed" and tis["submit"].state == "success"
    messages = {p.stem: p.read_text() for p in (tmp_path / "out" / "failures").glob("*.txt")}
    for mode in ("deferrable", "poke"):
        ti = tis[f"sense_{mode}"]
        assert ti.state == "failed" and ti.try_number == 1, (mode, ti.state, ti.try_number)
        assert "failed" in messages[f"sense_{mode}"] and f"'sense_{mode}'" in messages[f"sense_{mode}"], messages


def test_a_sensor_has_one_interval_and_resumes_by_the_event_it_is_given() -> None:
    """One interval between reads, poking or deferred (the kind's documented cadence by default); a
    resumed sensor fails at once on a failed job or a final error, times out as a sensor, and retries
    only what a retry can fix."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

    from airflow_provider_mediagen.client.protocol import ServiceProtocol
    from airflow_provider_mediagen.catalog import SERVICES
    from airflow_provider_mediagen.sensors import MediaJobSensor

    documented = ServiceProtocol(SERVICES["apex"]).default_poll_interval("voice")
    plain = MediaJobSensor(task_id="plain", service="apex", kind="voice", job_id="j1", deferrable=True)
    assert plain.poke_interval == plain.poll_interval == documented == 2.0  # the docs' example pauses 2 s
    poked = MediaJobSensor(task_id="poked", service="apex", kind="voice", job_id="j1", poke_interval=7)
    assert poked.poll_interval == poked.poke_interval == 7
    with pytest.raises(ValueError, match="task 'both': poll_interval=1 and poke_interval=2 name one interval"):
        MediaJobSensor(task_id="both", service="apex", kind="voice", job_id="j1", poll_interval=1, poke_interval=2)
    event = {"service": "apex", "kind": "voice", "job_id": "j1", "message": "boom"}
    for status, final, raised in [("failed", None, AirflowFailException), ("error", True, AirflowFailException),
                                  ("error", None, AirflowException), ("timeout", None, AirflowSensorTimeout)]:
        with pytest.raises(raised) as caught:
            plain.execute_complete({}, {**event, "status": status, **({"final": final} if final else {})})
        assert type(caught.value) is raised and "j1" in str(caught.value) and "'plain'" in str(caught.value)


def test_templated_values_are_validated_after_rendering(simulator: Any, tmp_path: Path) -> None:
    """A template that renders to a bad value fails before any request; a static bad value fails the
    parse."""
    from airflow.sdk import DAG

    from airflow_provider_mediagen.client import ValidationError
    from airflow_provider_mediagen.operators import ApexImageOperator

    with pytest.raises(ValidationError, match="field 'steps'"):
        with DAG("static_bad", schedule=None):
            ApexImageOperator(task_id="bad", prompt="x", steps=99)
    with DAG("rendered_bad", schedule=None):  # parses: the width is only known once rendered
        op = ApexImageOperator(task_id="bad", prompt="x", width="{{ 4000 + 1 }}")
    context = {"task_state_store": None, "ti": None}
    op.render_template_fields(context)  # type: ignore[arg-type]
    assert op.width == "4001"
    with pytest.raises(Exception, match="field 'width'"):
        op.execute(context)
    assert simulator.counters()["apex"].get("demo", {}).get("requests", {}) == {}


def test_webhook_only_kind_parses_and_checks_its_receiver_at_run_time() -> None:
    """Whether the connection has a receiver is only known at run time (see test_webhooks for the
    failure before submitting); the DAG itself parses."""
    from airflow_provider_mediagen.operators import DdukddakTemplateVideoOperator

    op = DdukddakTemplateVideoOperator(task_id="v", template="summer-sale-banner")
    assert op.wait_for_completion is True
    assert DdukddakTemplateVideoOperator(task_id="v2", template="x", wait_for_completion=False).wait_for_completion is False


def test_connections_and_provider_registration(simulator: Any) -> None:
    import json

    import jsonschema
    from airflow.providers_manager import ProvidersManager

    from airflow_provider_mediagen import get_provider_info
    from airflow_provider_mediagen.hooks import ApexHook, DdukddakHook, FaceDubHook, MediaGenHook

    schema = json.loads((Path(__import__("airflow").__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)
    manager = ProvidersManager()
    assert "airflow-provider-mediagen" in manager.providers
    for conn_type in ("mediagen_ddukddak", "mediagen_apex", "mediagen_facedub"):
        assert conn_type in manager.hooks, conn_type
    assert "extra__mediagen_facedub__jwt" in manager.connection_form_widgets
    assert manager.field_behaviours["mediagen_apex"]["relabeling"]["password"] == "API key"

    for hook in (DdukddakHook(), ApexHook(), FaceDubHook()):
        ok, message = hook.test_connection()
        assert ok, message
    ok, message = MediaGenHook("mediagen_apex_badkey", service="apex").test_connection()
    assert not ok and "401" in message and "sk_live_not-a-key" not in message
    reads = simulator.counters()
    assert reads["ddukddak"]["demo"]["requests"]["GET /auth"] == {"200": 1}
    assert reads["apex"]["demo"]["requests"]["GET /api/usage"] == {"200": 1}
    assert reads["facedub"]["demo"]["requests"]["GET /usage"] == {"200": 1}


# Another process reads the file: opening and closing it here (``read_bytes``) would drop every POSIX lock
# this process's SQLite connections hold on it, which lets other writers corrupt it (sqlite.org/howtocorrupt.html
# 2.2); it broke a later test's database, in the full suite only.
_SCAN = ("import sqlite3, sys\npath, key = sys.argv[1], sys.stdin.read().encode()\n"
         "raw = open(path, 'rb').read()\ndb = sqlite3.connect(path)\ndump = '\\n'.join(db.iterdump())\n"
         "db.close()\nprint(key in raw)\nprint(dump)\n")


def scan_in_another_process(database: Path, key: str) -> tuple[bool, str]:
    """Whether the raw bytes of ``database`` hold ``key``, and its SQL dump."""
    done = subprocess.run([sys.executable, "-c", _SCAN, str(database)], input=key, capture_output=True, text=True,
                          check=True, timeout=120)
    first, _, dump = done.stdout.partition("\n")
    assert first in ("True", "False"), done.stdout[:200]
    return first == "True", dump


def test_key_never_reaches_the_metadata_db_or_logs(simulator: Any, airflow_db: Path,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    from .conftest import CANARY_KEY

    run, tis = run_dag("mediagen_canary")
    output = "".join(capfd.readouterr())
    assert run.state == "success"
    assert "Submitted apex voice job" in output  # the task logs were captured
    assert CANARY_KEY not in output
    raw_has_key, dump = scan_in_another_process(airflow_db / "airflow.db", CANARY_KEY)
    assert not raw_has_key
    for table in ("trigger", "xcom", "rendered_task_instance_fields", "task_state_store"):
        assert f'CREATE TABLE "{table}"' in dump or f"CREATE TABLE {table}" in dump, table
    assert CANARY_KEY not in dump
    assert "mediagen_apex_canary" in dump  # the connection id is what is stored instead
    for path in (airflow_db / "logs").rglob("*") if (airflow_db / "logs").exists() else []:
        if path.is_file():
            assert CANARY_KEY not in path.read_text(errors="replace"), path
    assert os.environ["AIRFLOW_CONN_MEDIAGEN_APEX_CANARY"]  # the key only ever lived in the connection


def test_unknown_event_status_is_a_failure_never_success() -> None:
    from airflow.sdk.exceptions import AirflowException

    from airflow_provider_mediagen.operators import ApexImageOperator

    op = ApexImageOperator(task_id="x", prompt="x")
    for event in ({"status": "completed-ish", "service": "apex", "kind": "image", "job_id": "j"},
                  {"status": "succeeded", "service": "apex", "kind": "image"},
                  {"status": "succeeded", "service": "facedub", "kind": "video", "job_id": "j"},
                  None):
        with pytest.raises(AirflowException):
            op.execute_complete({}, event)




def test_credit_guard_fails_before_submitting_with_both_numbers(simulator: Any, tmp_path: Path) -> None:
    run, tis = run_dag("mediagen_credit_guard")
    logs = "\n".join(failures(tmp_path).values())
    assert tis["within"].state == "success"  # 15 - 10 leaves the 5 in reserve
    for task in ("over_balance", "over_cap"):
        assert tis[task].state == "failed" and tis[task].try_number == 1, task
    assert "apex balance is 15 credits; video costs 250 credits; nothing was submitted" in logs
    assert "apex commercial costs 3000 credits, over max_credits=1000; nothing was submitted" in logs
    counters = simulator.counters()["apex"]
    assert counters["broke"]["jobs_created"] == 1 and counters["broke"]["credits_charged"] == 10
    assert counters.get("demo", {}).get("jobs_created", 0) == 0


def test_a_sensor_whose_connection_is_gone_names_the_job_and_the_connection(simulator: Any, tmp_path: Path) -> None:
    """Before: the poke mode failed with Airflow's own "The conn_id `mediagen_apex_gone` isn't defined",
    naming no job."""
    run, tis = run_dag("mediagen_sensor_lost_connection")
    assert run.state == "failed"
    folder = tmp_path / "out" / "failures"
    messages = {p.stem: p.read_text() for p in folder.glob("*.txt")}
    job_id = tis["submit"].xcom_pull(task_ids="submit", key="job_id")
    for mode in ("deferrable", "poke"):
        assert job_id in messages[f"sense_{mode}"] and "'mediagen_apex_gone'" in messages[f"sense_{mode}"], messages
        assert "keeps running" in messages[f"sense_{mode}"]
