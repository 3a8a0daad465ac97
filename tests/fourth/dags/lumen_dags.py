"""The fourth service in a DAG, written as a user would: its operator comes from the package's operators
module although the package never names it (tests/fourth/plugin holds the service)."""

from __future__ import annotations

import os

from airflow.sdk import DAG

from airflow_provider_mediagen.operators import LumenStillOperator  # type: ignore[attr-defined]

OUT = os.environ.get("MEDIAGEN_TEST_OUTPUT", "/tmp/mediagen-test-output")

with DAG("fourth_lumen_deferred", schedule=None):
    LumenStillOperator(task_id="still", conn_id="mediagen_lumen_hooks", prompt="a lighthouse at dusk",
                       palette="cool", width=320, height=200, deferrable=True, output_path=OUT)
