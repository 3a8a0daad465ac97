"""Issue 34 step 1: what a generation task paid for, as the ledger reads it. Every task pushes its
entries (XCom ``mediagen_credits``) whether it succeeds or fails, listing the jobs of earlier tries too
(Airflow clears a task's XComs when a new try starts), and its return value carries the same figures.
Checked against the simulator's own counters of credits charged and refunded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediagen.ledger import XCOM_KEY

from .conftest import run_dag

MONEY = "mediagen_money_dags.py"
FAIL_ONCE = {"service": "apex", "endpoint": "POST /api/generate/image", "fault": "job_fail", "count": 1}


def credits_of(simulator: Any, service: str = "apex", account: str = "demo") -> tuple[float, float]:
    entry = simulator.counters()[service].get(account, {})
    return float(entry.get("credits_charged", 0)), float(entry.get("credits_refunded", 0))


@pytest.mark.parametrize("mode", ["deferrable", "worker"])
def test_a_failed_refunded_try_and_the_paid_retry_are_both_in_the_ledger(mode: str, simulator: Any,
                                                                          tmp_path: Path) -> None:
    simulator.set_faults([FAIL_ONCE])
    run, tis = run_dag(f"money_apex_{mode}", MONEY)
    assert run.state == "success"
    ti = tis["image"]
    assert ti.try_number == 2
    entries = ti.xcom_pull(task_ids="image", key=XCOM_KEY)
    charged, refunded = credits_of(simulator)
    assert refunded > 0 and charged > refunded  # the simulator refunded the failed job, charged both
    assert [e["status"] for e in entries] == ["failed", "succeeded"], entries
    assert len({e["job_id"] for e in entries}) == 2
    assert sum(e["credits_charged"] for e in entries) == charged
    assert sum(e["credits_refunded"] for e in entries) == refunded
    assert entries[0]["credits_refunded"] == entries[0]["credits_charged"]
    for entry in entries:
        assert entry["service"] == "apex" and entry["kind"] == "image"
        assert entry["conn_id"] == "mediagen_apex_default"
        # The catalog's estimate for a 320x256 image, made before each submission.
        assert entry["credits_estimated"] == entry["credits_charged"]
    result = ti.xcom_pull(task_ids="image")
    assert result["job_id"] == entries[1]["job_id"] and result["conn_id"] == "mediagen_apex_default"
    assert (result["credits_charged"], result["credits_refunded"], result["credits_estimated"]) == (
        entries[1]["credits_charged"], 0, entries[1]["credits_estimated"])


def test_a_task_whose_every_try_fails_still_lists_every_job_and_its_refund(simulator: Any, tmp_path: Path) -> None:
    simulator.set_faults([{**FAIL_ONCE, "count": None}])
    run, tis = run_dag("money_apex_worker", MONEY)
    assert run.state == "failed"
    ti = tis["image"]
    entries = ti.xcom_pull(task_ids="image", key=XCOM_KEY)
    charged, refunded = credits_of(simulator)
    assert len(entries) == ti.try_number == 3, entries
    assert {e["status"] for e in entries} == {"failed"}
    assert sum(e["credits_charged"] for e in entries) == charged == refunded
    assert sum(e["credits_refunded"] for e in entries) == refunded
    assert int(simulator.counters()["apex"]["demo"]["jobs_created"]) == 3
