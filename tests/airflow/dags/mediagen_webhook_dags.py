"""DAGs of the webhook tests (connections with a webhook setup are made by the test fixture)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG

from airflow_provider_mediagen.operators import (
    ApexText2VideoOperator,
    DdukddakAIImageOperator,
    DdukddakTemplateVideoOperator,
)
from airflow_provider_mediagen.operators.webhook import MediaWebhookRegisterOperator

OUT = os.environ.get("MEDIAGEN_TEST_OUTPUT", "/tmp/mediagen-test-output")

with DAG("mediagen_webhook_apex", schedule=None):
    register = MediaWebhookRegisterOperator(task_id="register", conn_id="mediagen_apex_hooks")
    video = ApexText2VideoOperator(task_id="video", conn_id="mediagen_apex_hooks", script="webhooks!",
                                   deferrable=True, poll_interval=3600)  # 120 s documented = 1.2 s here
    register >> video

with DAG("mediagen_webhook_ddukddak", schedule=None):
    for mode in ("deferrable", "worker"):
        DdukddakTemplateVideoOperator(task_id=f"promo_{mode}", conn_id="mediagen_ddukddak_hooks",
                                      template="summer-sale-banner", properties=[{"name": "title", "text": "Hi"}],
                                      deferrable=mode == "deferrable", timeout=60, output_path=f"{OUT}/{mode}")

with DAG("mediagen_webhook_missing", schedule=None):
    DdukddakTemplateVideoOperator(task_id="promo", template="summer-sale-banner", retries=2)

with DAG("mediagen_webhook_lost", schedule=None):
    ApexText2VideoOperator(task_id="video", conn_id="mediagen_apex_hooks", script="lost", deferrable=True,
                           poll_interval=0.2)


def _record_failure(context):  # type: ignore[no-untyped-def]
    folder = Path(OUT) / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    ti = context["ti"]
    (folder / f"{ti.task_id}.txt").write_text(f"try {ti.try_number}: {context.get('exception')}")


LOST = {"retries": 2, "retry_delay": timedelta(seconds=0), "on_failure_callback": _record_failure}


class _StoreFailsOnTheJobId:
    """A task state store whose write of the submitted job id fails, as a metadata DB outage would."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def get(self, key: str, default: Any = None) -> Any:
        return self._store.get(key, default)

    def set(self, key: str, value: Any, **kw: Any) -> None:
        if isinstance(value, dict) and value.get("phase") == "submitted":
            raise RuntimeError("simulated state store outage while recording the job")
        self._store.set(key, value, **kw)

    def delete(self, key: str) -> None:
        self._store.delete(key)


class AIImageStoreFailsAfterPost(DdukddakAIImageOperator):
    def execute(self, context):  # type: ignore[no-untyped-def]
        if context["ti"].try_number == 1:
            context["task_state_store"] = _StoreFailsOnTheJobId(context["task_state_store"])
        return super().execute(context)


# Ddukddak lists no jobs: with a receiver, the delivery names the submission whose answer was lost.
with DAG("mediagen_webhook_ddukddak_lost_answer", schedule=None, default_args=LOST):
    DdukddakTemplateVideoOperator(task_id="promo", conn_id="mediagen_ddukddak_hooks", template="summer-sale-banner",
                                  properties=[{"name": "title", "text": "Hi"}], timeout=60,
                                  output_path=f"{OUT}/promo")
    DdukddakAIImageOperator(task_id="ai_image", conn_id="mediagen_ddukddak_hooks", prompt="a thumbnail",
                            model="gemini-2.5-flash-image", poll_interval=0.05, timeout=60,
                            output_path=f"{OUT}/ai_image")

with DAG("mediagen_webhook_ddukddak_store_fails", schedule=None, default_args=LOST):
    AIImageStoreFailsAfterPost(task_id="ai_image", conn_id="mediagen_ddukddak_hooks", prompt="a thumbnail",
                               model="gemini-2.5-flash-image", poll_interval=0.05, timeout=60,
                               output_path=f"{OUT}/ai_image")
