"""DAGs of the webhook tests (connections with a webhook setup are made by the test fixture)."""

from __future__ import annotations

import os

from airflow.sdk import DAG

from airflow_provider_mediagen.operators import ApexText2VideoOperator, DdukddakTemplateVideoOperator
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
