"""System-test DAGs whose task process is SIGKILLed around its submission (``tests/system/test_real_airflow.py``):
once while its POST is in flight (the simulator holds the answer) and once after the answer came but before
its job id was recorded (a test-only pause point). Each task announces its process id in
``$MEDIAGEN_KILL_DIR/<task_id>.pid`` on its first try only; the retry runs untouched."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG

from airflow_provider_mediagen.operators import ApexImageOperator

PAUSES = Path(os.environ.get("MEDIAGEN_KILL_DIR", "/tmp/mediagen-kill"))
ARGS = {"retries": 1, "retry_delay": timedelta(seconds=10)}
OUT = "{{ var.value.mediagen_output }}/kill/{{ dag.dag_id }}"


def _announce(task_id: str) -> None:
    PAUSES.mkdir(parents=True, exist_ok=True)
    (PAUSES / f"{task_id}.pid").write_text(str(os.getpid()))


class AnnouncesBeforePost(ApexImageOperator):
    """Says where it runs as it sends its POST (after the intent record), which the simulator holds
    (``slow``): the test kills it mid-flight."""

    def _submit(self, client: Any, request: Any, store: Any, context: Any) -> Any:
        if context["ti"].try_number == 1:
            submit = client.submit

            def announce_then_submit(*args: Any, **kwargs: Any) -> Any:
                _announce(self.task_id)
                return submit(*args, **kwargs)

            client.submit = announce_then_submit
        return super()._submit(client, request, store, context)


class PausesAfterTheAnswer(ApexImageOperator):
    """Test-only pause point: the service has answered (job created and charged), the job id is not
    recorded yet; the test kills the process while it sleeps here."""

    def _submit(self, client: Any, request: Any, store: Any, context: Any) -> Any:
        if context["ti"].try_number == 1:
            submit = client.submit

            def submit_then_pause(*args: Any, **kwargs: Any) -> Any:
                job = submit(*args, **kwargs)
                _announce(self.task_id)
                time.sleep(300)
                return job

            client.submit = submit_then_pause
        return super()._submit(client, request, store, context)


with DAG("mediagen_kill_mid_post", schedule=None, default_args=ARGS, tags=["mediagen-test"]):
    AnnouncesBeforePost(task_id="mid_post", conn_id="mediagen_apex_kill_mid", prompt="a lighthouse at dusk",
                        width=512, height=512, output_path=OUT)

with DAG("mediagen_kill_after_answer", schedule=None, default_args=ARGS, tags=["mediagen-test"]):
    PausesAfterTheAnswer(task_id="after_answer", conn_id="mediagen_apex_kill_after", prompt="a lighthouse at dawn",
                         width=512, height=512, output_path=OUT)
