"""The production-shaped system test's DAG (``tests/system/test_production.py``): many mapped deferrable
Apex images on one key with a shared rate budget, Ddukddak template videos (webhook-only) and a few
FaceDub cuts, as many of each as the run's ``conf`` asks. Connections come from the test's environment."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_mediagen.operators import (
    ApexImageOperator,
    DdukddakTemplateVideoOperator,
    FaceDubVideoOperator,
)

DATA = Path(__file__).resolve().parents[3] / "dags_examples" / "data"
OUT = os.environ.get("MEDIAGEN_PRODUCTION_OUTPUT", "/tmp/mediagen-production") + "/{{ run_id }}"
ARGS = {"retries": 2, "retry_delay": timedelta(seconds=5)}  # a retry reuses its submitted job

with DAG("mediagen_production", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
         default_args=ARGS, params={"apex": 10, "ddukddak": 0, "facedub": 0}, tags=["mediagen-test"]):

    @task
    def prompts(**context: Any) -> list[str]:
        return [f"product shot {i}, studio light" for i in range(context["params"]["apex"])]

    @task
    def banners(**context: Any) -> list[list[dict[str, str]]]:
        return [[{"name": "title", "text": f"Offer {i}"}] for i in range(context["params"]["ddukddak"])]

    @task
    def cuts(**context: Any) -> list[int]:
        return [10] * context["params"]["facedub"]

    ApexImageOperator.partial(
        task_id="apex", conn_id="mediagen_apex_prod", width=512, height=512, deferrable=True,
        output_path=f"{OUT}/apex", timeout=timedelta(minutes=20),
    ).expand(prompt=prompts())

    DdukddakTemplateVideoOperator.partial(
        task_id="ddukddak", conn_id="mediagen_ddukddak_prod", template="summer-sale-banner", deferrable=True,
        output_path=f"{OUT}/ddukddak", timeout=timedelta(minutes=20),
    ).expand(properties=banners())

    FaceDubVideoOperator.partial(
        task_id="facedub", conn_id="mediagen_facedub_prod", character_photo=str(DATA / "character.jpg"),
        reference_video=str(DATA / "reference.mp4"), pool="mediagen_facedub_prod", deferrable=True,
        output_path=f"{OUT}/facedub", timeout=timedelta(minutes=20),
    ).expand(duration=cuts())
