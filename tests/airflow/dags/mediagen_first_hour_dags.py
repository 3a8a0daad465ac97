"""DAGs for a new user's usual mistakes and needs (issue: first hour): outputs named after the input row,
a name that is already taken, a job returning fewer files than asked for, and a task failing before it had
a URL (whose end must not log a spurious XCom error)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_mediagen.operators import ApexImageOperator, ApexPhotoshootOperator

OUT = os.environ.get("MEDIAGEN_TEST_OUTPUT", "/tmp/mediagen-test-output")
DATA = Path(__file__).resolve().parents[3] / "dags_examples" / "data"
POLL = 0.05
ONCE = {"retries": 0, "retry_delay": timedelta(seconds=0)}

with DAG("first_hour_output_name", schedule=None, default_args=ONCE, params={"sku": "SKU-123"},
         tags=["mediagen-test"]):
    ApexImageOperator(task_id="banner", prompt="a banner", width=320, height=256, poll_interval=POLL,
                      output_path=f"{OUT}/named", output_name="{{ params.sku }}-banner")

with DAG("first_hour_name_taken", schedule=None, default_args=ONCE, tags=["mediagen-test"]):
    ApexImageOperator(task_id="banner", prompt="a banner", width=320, height=256, poll_interval=POLL,
                      output_path=f"{OUT}/taken", output_name="{{ 'hero' }}")

with DAG("first_hour_fewer_outputs", schedule=None, default_args=ONCE, tags=["mediagen-test"]):
    ApexPhotoshootOperator(task_id="shoot", product_image="https://example.com/mug.jpg", background="studio-white",
                           angle="front", lighting="studio", count=2, poll_interval=POLL, output_path=f"{OUT}/shoot")

with DAG("first_hour_fewer_outputs_strict", schedule=None, tags=["mediagen-test"],
         default_args={"retries": 2, "retry_delay": timedelta(seconds=0)}):
    ApexPhotoshootOperator(task_id="shoot", product_image="https://example.com/mug.jpg", background="studio-white",
                           angle="front", lighting="studio", count=2, poll_interval=POLL, output_path=f"{OUT}/strict",
                           strict_outputs=True)

with DAG("first_hour_fails_early", schedule=None, default_args=ONCE, tags=["mediagen-test"]):
    ApexImageOperator(task_id="no_key", prompt="x", conn_id="mediagen_apex_badkey", poll_interval=POLL)
