"""DAGs proving that a retry never pays twice: each one breaks a task at one point around its submission
(a lost or odd answer from the simulator's fault rules, a crash, a failing state store) and the test
counts the jobs the simulator created."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG

from airflow_provider_mediagen.operators import (
    ApexCommercialOperator,
    ApexImageOperator,
    DdukddakAIImageOperator,
    FaceDubVideoOperator,
)

OUT = os.environ.get("MEDIAGEN_TEST_OUTPUT", "/tmp/mediagen-test-output")
DATA = Path(__file__).resolve().parents[3] / "dags_examples" / "data"
POLL = 0.05


def record_failure(context):  # type: ignore[no-untyped-def]
    folder = Path(OUT) / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    ti = context["ti"]
    name = ti.task_id + (f"-{ti.map_index}" if ti.map_index >= 0 else "")
    (folder / f"{name}.txt").write_text(f"try {ti.try_number}: {context.get('exception')}")


RETRY = {"retries": 2, "retry_delay": timedelta(seconds=0), "on_failure_callback": record_failure}


class _FailingSetStore:
    """A task state store whose write of the submitted job fails once, as a metadata DB outage would."""

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


class StoreFailsAfterPost(ApexImageOperator):
    def execute(self, context):  # type: ignore[no-untyped-def]
        if context["ti"].try_number == 1:
            context["task_state_store"] = _FailingSetStore(context["task_state_store"])
        return super().execute(context)


class CrashBeforePost(ApexImageOperator):
    """Killed after its intent was recorded, before the POST left (opening the uploads)."""

    def _open_files(self):  # type: ignore[no-untyped-def]
        if self._try == 1:
            raise RuntimeError("simulated crash before the POST")
        return super()._open_files()

    def execute(self, context):  # type: ignore[no-untyped-def]
        self._try = context["ti"].try_number
        return super().execute(context)


class CrashAfterDone(ApexImageOperator):
    """Crashes after everything was done and recorded, before Airflow records the success."""

    def _finish(self, context, client, job, store):  # type: ignore[no-untyped-def]
        result = super()._finish(context, client, job, store)
        if context["ti"].try_number == 1 and job.terminal:
            raise RuntimeError("simulated crash after finishing")
        return result


class CrashAfterSubmit(ApexImageOperator):
    """Crashes right after its job was recorded."""

    def _submit(self, client, request, store, context):  # type: ignore[no-untyped-def]
        job = super()._submit(client, request, store, context)
        if context["ti"].try_number == 1:
            raise RuntimeError(f"simulated crash after submitting {job.id}")
        return job


class SlowCrashAfterSubmit(ApexCommercialOperator):
    """Crashes a while after its job was recorded: the retry's wait must count from the submission."""

    def _submit(self, client, request, store, context):  # type: ignore[no-untyped-def]
        job = super()._submit(client, request, store, context)
        if context["ti"].try_number == 1:
            time.sleep(2.5)
            raise RuntimeError(f"simulated crash after submitting {job.id}")
        return job


class DiesWithItsPostInFlight(ApexImageOperator):
    """Its first try sends the POST (which the simulator holds, ``slow``) and dies at once without its
    answer, as a worker killed mid-request: the service creates the job a few seconds later."""

    def _submit(self, client, request, store, context):  # type: ignore[no-untyped-def]
        if context["ti"].try_number == 1:
            import threading

            submit = client.submit

            def send(*args, **kwargs):  # type: ignore[no-untyped-def]
                try:
                    submit(*args, **kwargs)
                except Exception:  # noqa: BLE001 - the dead try never sees its answer
                    pass

            def send_and_die(*args, **kwargs):  # type: ignore[no-untyped-def]
                threading.Thread(target=send, args=args, kwargs=kwargs, daemon=True).start()
                time.sleep(0.5)  # the request is on its way
                raise RuntimeError("simulated death with the POST in flight")

            client.submit = send_and_die
        return super()._submit(client, request, store, context)


def _out(name: str) -> str:
    return f"{OUT}/{name}"


for mode in ("deferrable", "worker"):
    deferrable = mode == "deferrable"
    with DAG(f"money_apex_{mode}", schedule=None, default_args=RETRY, tags=["mediagen-test"]):
        ApexImageOperator(task_id="image", prompt="a lighthouse", width=320, height=256, deferrable=deferrable,
                          poll_interval=POLL, output_path=_out("image"))
    with DAG(f"money_ddukddak_{mode}", schedule=None, default_args=RETRY, tags=["mediagen-test"]):
        DdukddakAIImageOperator(task_id="ai_image", prompt="a thumbnail", model="gemini-2.5-flash-image",
                                deferrable=deferrable, poll_interval=POLL, output_path=_out("ai_image"))
    with DAG(f"money_facedub_{mode}", schedule=None, default_args=RETRY, tags=["mediagen-test"]):
        FaceDubVideoOperator(task_id="video", character_photo=str(DATA / "character.jpg"),
                             reference_video=str(DATA / "reference.mp4"), duration=2, deferrable=deferrable,
                             poll_interval=POLL, output_path=_out("video"))
    with DAG(f"money_crash_after_submit_{mode}", schedule=None, default_args=RETRY, tags=["mediagen-test"]):
        CrashAfterSubmit(task_id="image", prompt="crash after submit", deferrable=deferrable, poll_interval=POLL,
                         output_path=_out("image"))

with DAG("money_store_fails_after_post", schedule=None, default_args=RETRY, tags=["mediagen-test"]):
    StoreFailsAfterPost(task_id="image", prompt="store outage", width=384, poll_interval=POLL,
                        output_path=_out("image"))

with DAG("money_crash_before_post", schedule=None, default_args=RETRY, tags=["mediagen-test"]):
    CrashBeforePost(task_id="image", prompt="never sent", poll_interval=POLL, output_path=_out("image"))

with DAG("money_dies_with_post_in_flight", schedule=None, default_args=RETRY, tags=["mediagen-test"]):
    DiesWithItsPostInFlight(task_id="image", prompt="in flight", width=320, height=256, poll_interval=POLL,
                            output_path=_out("image"))

for mode in ("deferrable", "worker"):
    with DAG(f"money_crash_after_done_{mode}", schedule=None, default_args=RETRY, tags=["mediagen-test"]):
        CrashAfterDone(task_id="image", prompt="done once", poll_interval=POLL, output_path=_out("image"),
                       deferrable=mode == "deferrable")

# One retry, the one the test is about: a third try starting after the 3 s job has finished would find it
# done and succeed (nothing left to wait for), so with two retries the outcome hung on the machine's speed.
with DAG("money_timeout_counts_from_submission", schedule=None, default_args={**RETRY, "retries": 1},
         tags=["mediagen-test"]):
    SlowCrashAfterSubmit(task_id="commercial", product="Slow", platform="tv", duration=15, tone="luxury",
                         poll_interval=POLL, timeout=2.0)

with DAG("money_mapped_bad_value", schedule=None, default_args={**RETRY, "retries": 3}, tags=["mediagen-test"]):
    ApexImageOperator.partial(task_id="mapped", prompt="mapped", poll_interval=POLL).expand(width=[256, 99999])

with DAG("money_bad_output_path", schedule=None, default_args=RETRY, tags=["mediagen-test"]):
    ApexImageOperator(task_id="bad_scheme", prompt="x", output_path="foo://x/{{ ds }}/", poll_interval=POLL)
    ApexImageOperator(task_id="no_driver", prompt="x", output_path="s3://media/{{ ds }}/", poll_interval=POLL)

with DAG("money_wrong_conn_type", schedule=None, default_args=RETRY, tags=["mediagen-test"]):
    # A PostgreSQL connection and another service's connection: neither password may be sent anywhere.
    ApexImageOperator(task_id="postgres_conn", prompt="x", conn_id="mediagen_test_postgres", poll_interval=POLL)
    ApexImageOperator(task_id="other_service", prompt="x", conn_id="mediagen_ddukddak_default", poll_interval=POLL)
