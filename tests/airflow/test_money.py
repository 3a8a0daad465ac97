"""A retry never pays twice (issue: fault soak, holes 1, 2 and 10): every test breaks a task at one point
around its submission, with the simulator's fault rules or a crash, and counts the jobs and credits the
simulator itself recorded. Each fails on the code before the fix (the note in each test says how)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_dag

MONEY = "mediagen_money_dags.py"


def failures(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "out" / "failures"
    return {p.stem: p.read_text() for p in folder.glob("*.txt")} if folder.exists() else {}


def jobs_of(simulator: Any, service: str, account: str = "demo") -> int:
    return int(simulator.counters()[service].get(account, {}).get("jobs_created", 0))


def files(tmp_path: Path, task: str) -> list[Path]:
    folder = tmp_path / "out" / task
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize("mode", ["deferrable", "worker"])
def test_unknown_status_in_the_submit_answer_pays_once(mode: str, simulator: Any, tmp_path: Path) -> None:
    """Before: a ProtocolError (transient) -> Airflow retried -> submitted again: 3 jobs for 1 task."""
    simulator.set_faults([{"service": "apex", "endpoint": "POST /api/generate/image", "fault": "unknown_status",
                           "value": "accepted", "count": 1}])
    run, tis = run_dag(f"money_apex_{mode}", MONEY)
    assert run.state == "success", failures(tmp_path)
    assert jobs_of(simulator, "apex") == 1
    assert tis["image"].try_number == 1
    assert len(files(tmp_path, "image")) == 1


def test_wrong_shape_submit_answer_keeps_its_job(simulator: Any, tmp_path: Path) -> None:
    """A 2xx answer of the wrong shape still names its job: it is recorded and waited for."""
    simulator.set_faults([{"service": "apex", "endpoint": "POST /api/generate/image", "fault": "wrong_shape",
                           "count": 1}])
    run, tis = run_dag("money_apex_worker", MONEY)
    assert run.state == "success", failures(tmp_path)
    assert jobs_of(simulator, "apex") == 1


@pytest.mark.parametrize("service,dag", [("apex", "money_apex_worker"), ("facedub", "money_facedub_deferrable")])
def test_lost_answer_is_reconciled_through_the_job_list(service: str, dag: str, simulator: Any,
                                                        tmp_path: Path) -> None:
    """The job was created and charged, the answer never arrived: the list endpoint finds it."""
    endpoint = {"apex": "POST /api/generate/image", "facedub": "POST /jobs"}[service]
    simulator.set_faults([{"service": service, "endpoint": endpoint, "fault": "lose_response", "count": 1}])
    run, tis = run_dag(dag, MONEY)
    assert run.state == "success", failures(tmp_path)
    assert jobs_of(simulator, service) == 1
    produced = [j for j in simulator.jobs() if j["service"] == service]
    assert len(produced) == 1
    assert len(list((tmp_path / "out").rglob(f"{produced[0]['id']}*"))) == 1  # its own output, once


def test_lost_answer_without_a_job_list_fails_as_uncertain(simulator: Any, tmp_path: Path) -> None:
    """Ddukddak lists no jobs: the task fails at once, naming the service and the window, and pays once."""
    simulator.set_faults([{"service": "ddukddak", "endpoint": "POST /ai/images", "fault": "lose_response",
                           "count": 1}])
    run, tis = run_dag("money_ddukddak_worker", MONEY)
    message = failures(tmp_path)["ai_image"]
    assert run.state == "failed" and tis["ai_image"].try_number == 1  # retries=2 not spent
    assert jobs_of(simulator, "ddukddak") == 1
    assert "may have reached the service" in message or "no answer was recorded" in message
    assert "DdukddakAIImageOperator task 'ai_image'" in message and "mediagen_ddukddak_default" in message


def test_failing_state_store_after_the_post_is_reconciled(simulator: Any, tmp_path: Path) -> None:
    """Before: the job id was never recorded, the retry submitted a second job."""
    run, tis = run_dag("money_store_fails_after_post", MONEY)
    assert run.state == "success", failures(tmp_path)
    assert tis["image"].try_number == 2
    assert jobs_of(simulator, "apex") == 1


def test_crash_before_the_post_submits_exactly_once(simulator: Any, tmp_path: Path) -> None:
    """The intent was recorded but nothing was sent: the list shows no job, so the retry submits one."""
    run, tis = run_dag("money_crash_before_post", MONEY)
    assert run.state == "success", failures(tmp_path)
    assert tis["image"].try_number == 2
    assert jobs_of(simulator, "apex") == 1


def test_a_post_still_in_flight_when_its_sender_died_is_waited_for(simulator: Any, tmp_path: Path) -> None:
    """The retry starts at once (retry_delay 0) while the dead try's POST is still held by the service: the
    job list is empty then. Before: the retry took that as "nothing was created", submitted, and the held
    request created a second job. Now it lists again once the in-flight grace has passed and adopts the one
    job."""
    hold = 8.0
    simulator.set_faults([{"service": "apex", "endpoint": "POST /api/generate/image", "fault": "slow",
                           "delay": hold, "count": 1}])
    run, tis = run_dag("money_dies_with_post_in_flight", MONEY)
    time.sleep(hold)  # the held request (sent on try 1, before the run ended) has surely been handled now
    assert run.state == "success", failures(tmp_path)
    assert tis["image"].try_number == 2
    assert jobs_of(simulator, "apex") == 1
    [job] = [j for j in simulator.jobs() if j["service"] == "apex"]
    assert [p.name for p in files(tmp_path, "image")] == [f"{job['id']}-image.png"]


@pytest.mark.parametrize("mode", ["deferrable", "worker"])
def test_crash_after_everything_was_done_reuses_the_result(mode: str, simulator: Any, tmp_path: Path) -> None:
    """Before: the record was deleted on success, so a crash before Airflow saw the success paid again. And
    (deferrable) the recorded vendor answer came from the trigger's status read and was misread as a submit
    answer ("unknown job status None"): the retry failed although the job was done (seen in the demo)."""
    run, tis = run_dag(f"money_crash_after_done_{mode}", MONEY)
    assert run.state == "success", failures(tmp_path)
    assert tis["image"].try_number == 2
    assert jobs_of(simulator, "apex") == 1
    assert len(files(tmp_path, "image")) == 1


def test_a_recorded_job_the_service_does_not_know_is_never_replaced(simulator: Any, tmp_path: Path) -> None:
    """Before: a 404 for the recorded job id made the retry submit a new job without a word."""
    simulator.set_faults([{"service": "apex", "endpoint": "GET /api/jobs", "fault": "status", "status": 404}])
    run, tis = run_dag("money_crash_after_submit_worker", MONEY)
    message = failures(tmp_path)["image"]
    assert run.state == "failed"
    assert jobs_of(simulator, "apex") == 1
    assert "is unknown to Apex Studio" in message and "state-store/mediagen_job" in message


@pytest.mark.parametrize("mode", ["deferrable", "worker"])
def test_an_expired_output_url_is_renewed_and_the_task_succeeds(mode: str, simulator: Any, tmp_path: Path) -> None:
    """Before: the file host's 403 for an expired signed URL failed the task for good (a final plan error),
    although the job was done and paid for. Now the job is read again for a fresh URL."""
    simulator.set_faults([{"service": "apex", "fault": "expire_url", "count": 1}])
    run, tis = run_dag(f"money_apex_{mode}", MONEY)
    assert run.state == "success", failures(tmp_path)
    assert tis["image"].try_number == 1  # before: this try failed, and only a retry (if any) re-read the job
    apex = simulator.counters()["apex"]["demo"]
    assert apex["urls_expired"] == 1 and jobs_of(simulator, "apex") == 1
    [job] = [j for j in simulator.jobs() if j["service"] == "apex"]
    [written] = files(tmp_path, "image")
    assert hashlib.sha256(written.read_bytes()).hexdigest() == job["outputs"][0]["sha256"]


@pytest.mark.parametrize("mode", ["deferrable", "worker"])
def test_read_after_write_lag_is_waited_out(mode: str, simulator: Any, tmp_path: Path) -> None:
    simulator.set_faults([{"service": "apex", "endpoint": "GET /api/jobs", "fault": "read_lag", "delay": 1.0}])
    run, tis = run_dag(f"money_apex_{mode}", MONEY)
    assert run.state == "success", failures(tmp_path)
    assert jobs_of(simulator, "apex") == 1


def test_timeout_counts_from_the_submission_not_from_each_try(simulator: Any, tmp_path: Path) -> None:
    """The first try crashes 2.5 s after submitting a 3 s job with timeout=2 s. Before: the retry waited
    2 s more and succeeded (4.5 s of waiting for a 2 s timeout); now it is already past its deadline."""
    run, tis = run_dag("money_timeout_counts_from_submission", MONEY)
    message = failures(tmp_path)["commercial"]
    assert run.state == "failed"
    assert "did not finish within" in message
    assert jobs_of(simulator, "apex") == 1


def test_a_bad_mapped_value_fails_at_once_without_retries(simulator: Any, tmp_path: Path) -> None:
    """Before: the mapped task was built (and refused) outside execute, so it went up_for_retry 3 times."""
    run, tis = run_dag("money_mapped_bad_value", MONEY)
    assert tis["mapped[0]"].state == "success"
    assert tis["mapped[1]"].state == "failed" and tis["mapped[1]"].try_number == 1
    assert "field 'width'" in failures(tmp_path)["mapped-1"]
    assert "ApexImageOperator task 'mapped'" in failures(tmp_path)["mapped-1"]
    assert jobs_of(simulator, "apex") == 1


def test_output_path_is_checked_after_templating_before_the_submit(simulator: Any, tmp_path: Path) -> None:
    """Before: the job was submitted (and paid for), then writing failed, on every try."""
    run, tis = run_dag("money_bad_output_path", MONEY)
    found = failures(tmp_path)
    assert tis["bad_scheme"].state == "failed" and tis["bad_scheme"].try_number == 1
    assert "field 'output_path'" in found["bad_scheme"] and "nothing was submitted" in found["bad_scheme"]
    assert "apache-airflow-providers-amazon" in found["no_driver"]
    assert simulator.counters()["apex"].get("demo", {}).get("requests", {}).get("POST /api/generate/image") is None


def test_errors_name_the_operator_task_and_connection(simulator: Any, tmp_path: Path) -> None:
    run, tis = run_dag("mediagen_fail_fast")
    folder = tmp_path / "out" / "failures"
    badkey = (folder / "badkey.txt").read_text()
    assert "ApexVideoOperator task 'badkey' (connection 'mediagen_apex_badkey')" in badkey and "401" in badkey


def test_a_connection_of_another_type_sends_nothing(simulator: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: any connection's password went out as a Bearer token (postgres_default to the real host)."""
    import json

    monkeypatch.setenv("AIRFLOW_CONN_MEDIAGEN_TEST_POSTGRES", json.dumps({
        "conn_type": "postgres", "password": "pg-secret-3f9a", "host": simulator.urls["apex"]}))
    before = simulator.counters()
    run, tis = run_dag("money_wrong_conn_type", MONEY)
    messages = failures(tmp_path)
    assert run.state == "failed"
    assert all(tis[t].try_number == 1 for t in ("postgres_conn", "other_service"))  # retries not spent
    assert "'mediagen_test_postgres' is of type 'postgres', not 'mediagen_apex'" in messages["postgres_conn"]
    assert "'mediagen_ddukddak_default' is of type 'mediagen_ddukddak'" in messages["other_service"]
    assert "ApexImageOperator task 'postgres_conn'" in messages["postgres_conn"]
    assert "pg-secret-3f9a" not in messages["postgres_conn"]
    assert simulator.counters() == before  # not one request reached any service
