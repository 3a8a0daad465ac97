"""Example 5 - a batch that stops before it overspends.

A batch of Apex thumbnails (10 credits each) on an account with a small balance. Every mapped task
reads the balance before it submits (``check_credits=True``) and fails, submitting nothing, if its
cost would take the balance below ``reserve_credits``; ``max_credits`` also refuses any single job
dearer than expected. Apex charges at submission, so the balance a task reads already counts every
job submitted before it: ``max_active_tis_per_dagrun=1`` makes each check-then-submit happen one at a
time (a deferred wait does not hold that slot), so two tasks can never spend the same credits.
The summary runs whatever happened (``all_done``) and reports what was made, what the guard
stopped and what it cost.

Connection: ``mediagen_apex_budget`` (an Apex key whose balance you want to protect).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_mediagen.operators import ApexImageOperator

RESERVE = 20  # credits that must stay on the account
TOPICS = ["budgeting", "retirement", "taxes", "mortgages", "insurance", "savings", "investing", "credit scores"]

with DAG(
    dag_id="mediagen_budget_batch",
    description="Apex thumbnails until the credit guard says stop",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["mediagen", "example", "apex", "credits"],
):
    thumbnails = ApexImageOperator.partial(
        task_id="thumbnail",
        conn_id="mediagen_apex_budget",
        width=512,
        height=288,
        style="flat",
        check_credits=True,
        reserve_credits=RESERVE,
        max_credits=10,
        deferrable=True,
        retries=2,  # a guard failure is final (never retried); a retry after a crash reuses the submitted job
        retry_delay=timedelta(seconds=10),
        max_active_tis_per_dagrun=1,
        output_path=("{{ var.value.get('mediagen_output', '/tmp/mediagen-output') }}"
                     "/budget_batch/{{ dag_run.run_after | ts_nodash }}"),
        map_index_template="{{ task.prompt }}",
    ).expand(prompt=[f"a flat blog thumbnail about {topic}" for topic in TOPICS])

    @task(trigger_rule="all_done")
    def report(results: Any) -> dict[str, Any]:
        """What the batch made and what the guard stopped (failed mapped tasks have no result)."""
        made = [r for r in results if r]
        return {"requested": len(TOPICS), "made": len(made), "stopped": len(TOPICS) - len(made),
                "credits": sum(r["credits"] or 0 for r in made), "jobs": [r["job_id"] for r in made]}

    report(thumbnails.output)
