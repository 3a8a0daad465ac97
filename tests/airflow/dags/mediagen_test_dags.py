"""DAGs the provider's test suite runs with ``dag.test()`` against the simulator.

Settings that vary per test come from environment variables read at parse time (``dag.test()`` parses
in the test's own process): the output folder and the deadline."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, Asset

from airflow_provider_mediagen.operators import (
    ApexAvatarOperator,
    ApexBRollOperator,
    ApexClipOperator,
    ApexCommercialOperator,
    ApexImageOperator,
    ApexInstantAdOperator,
    ApexOutboundCallOperator,
    ApexPhotoshootOperator,
    ApexText2VideoOperator,
    ApexTranslateOperator,
    ApexVideoOperator,
    ApexVoiceAgentOperator,
    ApexVoiceCloneOperator,
    ApexVoiceOperator,
    DdukddakAIImageOperator,
    DdukddakAIVideoOperator,
    DdukddakTemplateImageOperator,
    FaceDubVideoOperator,
)
from airflow_provider_mediagen.sensors import MediaJobSensor

OUT = os.environ.get("MEDIAGEN_TEST_OUTPUT", "/tmp/mediagen-test-output")


def record_failure(context):  # type: ignore[no-untyped-def]
    """Keeps each failure's message where the test can read it (task logs go to the console here)."""
    folder = Path(OUT) / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    ti = context["ti"]
    (folder / f"{ti.task_id}.txt").write_text(f"try {ti.try_number}: {context.get('exception')}")


FAILURES = {"on_failure_callback": record_failure}
DATA = Path(__file__).resolve().parents[3] / "dags_examples" / "data"
POLL = 0.05
NO_RETRY = {"retries": 0}


def every_kind(deferrable: bool) -> None:
    common = {"deferrable": deferrable, "poll_interval": POLL, "output_path": f"{OUT}/{{{{ task.task_id }}}}"}
    DdukddakTemplateImageOperator(task_id="template_image", template="summer-sale-banner",
                                  properties=[{"name": "title", "text": "{{ dag.dag_id }}"},
                                              {"name": "background", "fillColor": "#FF6B35"}], **common)
    DdukddakAIImageOperator(task_id="ai_image", prompt="blog thumbnail", model="gemini-2.5-flash-image", aspect_ratio="16:9",
                            image_size="320x180", **common)
    DdukddakAIVideoOperator(task_id="ai_video", prompt="sneakers", model="veo-3.1-fast", resolution="720p",
                            duration="4", **common)
    ApexImageOperator(task_id="image", prompt="a lighthouse at dusk", width=320, height=256, **common)
    ApexVideoOperator(task_id="video", script="Meet the sneaker.", duration=3, **common)
    ApexVoiceOperator(task_id="voice", text="Hello from Airflow.", **common)
    ApexAvatarOperator(task_id="avatar", image="https://example.com/face.jpg", resolution="480p",
                       model="veed-fabric", text="Hi", **common)
    ApexClipOperator(task_id="clip", source_video_url="https://example.com/long.mp4", max_clips=1, **common)
    ApexBRollOperator(task_id="b_roll", prompt="waves", duration=3, resolution="480p", **common)
    ApexText2VideoOperator(task_id="text2video", script="A barista's day.", duration=3, **common)
    ApexCommercialOperator(task_id="commercial", product="Water", platform="tiktok", duration=15,
                           tone="funny", **common)
    ApexTranslateOperator(task_id="translate", video_url="https://example.com/t.mp4", output_language="es",
                          **common)
    ApexInstantAdOperator(task_id="instant_ad", website_url="https://example.com", platform="instagram",
                          count=1, style="bold", **common)
    ApexPhotoshootOperator(task_id="photoshoot", product_image="https://example.com/mug.png",
                           background="studio-white", angle="hero", lighting="soft", count=1, **common)
    ApexVoiceCloneOperator(task_id="voice_clone", name="Narrator", sample_audio_url="https://example.com/s.wav",
                           **common)
    agent = ApexVoiceAgentOperator(task_id="voice_agent", name="Support", system_prompt="Be kind.",
                                   greeting="Hello!", tts_model="kokoro", llm_model="gpt-4o-mini", **common)
    call = ApexOutboundCallOperator(task_id="outbound_call", agent_id="{{ ti.xcom_pull('voice_agent')['job_id'] }}",
                                    phone_number="+14155550123", **common)
    agent >> call
    FaceDubVideoOperator(task_id="facedub_video", character_photo=str(DATA / "character.jpg"),
                         reference_video=str(DATA / "reference.mp4"), duration=2, **common)


for mode in ("deferrable", "worker"):
    with DAG(f"mediagen_every_kind_{mode}", schedule=None, default_args=NO_RETRY, tags=["mediagen-test"]):
        every_kind(mode == "deferrable")


class FlakyImageOperator(ApexImageOperator):
    """Fails its first try after the job was submitted and finished, as a worker crash would."""

    def _finish(self, context, client, job, store):  # type: ignore[no-untyped-def]
        if context["ti"].try_number == 1:
            raise RuntimeError(f"simulated crash after submitting {job.id}")
        return super()._finish(context, client, job, store)


for mode in ("deferrable", "worker"):
    with DAG(f"mediagen_retry_reuses_job_{mode}", schedule=None, tags=["mediagen-test"]):
        FlakyImageOperator(task_id="flaky", prompt="only once", deferrable=mode == "deferrable", poll_interval=POLL,
                           retries=2, retry_delay=timedelta(seconds=0), output_path=f"{OUT}/flaky")


with DAG("mediagen_fail_fast", schedule=None, default_args=FAILURES, tags=["mediagen-test"]):
    for conn in ("mediagen_apex_badkey", "mediagen_apex_pro", "mediagen_apex_broke"):
        ApexVideoOperator(task_id=conn.removeprefix("mediagen_apex_"), conn_id=conn, script="x", retries=3,
                          retry_delay=timedelta(seconds=0), poll_interval=POLL)

with DAG("mediagen_deadline", schedule=None, default_args={**NO_RETRY, **FAILURES}, tags=["mediagen-test"]):
    for mode in ("deferrable", "worker"):
        ApexCommercialOperator(task_id=f"slow_{mode}", product="Slow", platform="tv", duration=60, tone="luxury",
                               deferrable=mode == "deferrable", poll_interval=POLL,
                               timeout=float(os.environ.get("MEDIAGEN_TEST_TIMEOUT", "1")))

with DAG("mediagen_mapped", schedule=None, default_args=NO_RETRY, tags=["mediagen-test"]):
    ApexImageOperator.partial(task_id="mapped", deferrable=True, poll_interval=POLL, width=256, height=256,
                              output_path=f"{OUT}/mapped",
                              outlets=[Asset("mediagen://test/mapped")]).expand(
        prompt=["a red fox", "a blue whale", "a green frog"])

with DAG("mediagen_sensor", schedule=None, default_args=NO_RETRY, tags=["mediagen-test"]):
    submit = ApexVoiceOperator(task_id="submit", text="Wait for me.", wait_for_completion=False)
    for mode in ("deferrable", "poke", "from_trigger"):
        submit >> MediaJobSensor(task_id=f"sense_{mode}", service="apex", kind="voice",
                                 job_id="{{ ti.xcom_pull('submit', key='job_id') }}", poll_interval=POLL,
                                 deferrable=mode != "poke", start_from_trigger=mode == "from_trigger",
                                 timeout=60)

with DAG("mediagen_sensor_failed_job", schedule=None, tags=["mediagen-test"],
         default_args={**FAILURES, "retries": 2, "retry_delay": timedelta(seconds=0)}):
    submit = ApexVoiceOperator(task_id="submit", text="Fail me.", wait_for_completion=False)
    for mode in ("deferrable", "poke"):
        submit >> MediaJobSensor(task_id=f"sense_{mode}", service="apex", kind="voice",
                                 job_id="{{ ti.xcom_pull('submit', key='job_id') }}", poll_interval=POLL,
                                 deferrable=mode != "poke", timeout=60)

with DAG("mediagen_sensor_lost_connection", schedule=None, default_args=FAILURES, tags=["mediagen-test"]):
    submit = ApexVoiceOperator(task_id="submit", text="Wait for me.", wait_for_completion=False)
    for mode in ("deferrable", "poke"):
        submit >> MediaJobSensor(task_id=f"sense_{mode}", service="apex", kind="voice", conn_id="mediagen_apex_gone",
                                 job_id="{{ ti.xcom_pull('submit', key='job_id') }}", poll_interval=POLL,
                                 deferrable=mode != "poke", timeout=30)

with DAG("mediagen_ref_to_nothing", schedule=None, default_args={**FAILURES, "retries": 2}, tags=["mediagen-test"]):
    voice = ApexVoiceOperator(task_id="voice", text="One output only.", poll_interval=POLL)
    voice >> ApexAvatarOperator(task_id="avatar", image="https://images.example.com/presenter.jpg", resolution="720p",
                                model="veed-fabric", poll_interval=POLL,
                                audio="{{ ti.xcom_pull(task_ids='voice')['output_refs'][0][:-1] }}3")

with DAG("mediagen_canary", schedule=None, default_args=NO_RETRY, tags=["mediagen-test"]):
    for mode in ("deferrable", "worker"):
        ApexVoiceOperator(task_id=f"voice_{mode}", conn_id="mediagen_apex_canary", text="Keep my key secret.",
                          deferrable=mode == "deferrable", poll_interval=POLL, output_path=f"{OUT}/canary",
                          check_credits=True)

with DAG("mediagen_credit_guard", schedule=None, default_args=FAILURES, tags=["mediagen-test"]):
    over_balance = ApexVideoOperator(task_id="over_balance", conn_id="mediagen_apex_broke", script="too dear",
                                     check_credits=True, retries=2)
    ApexCommercialOperator(task_id="over_cap", product="p", platform="tv", duration=15, tone="funny",
                           max_credits=1000, retries=2)
    over_balance >> ApexImageOperator(task_id="within", conn_id="mediagen_apex_broke", prompt="cheap",
                                      check_credits=True, reserve_credits=5, poll_interval=POLL,
                                      trigger_rule="all_done")  # after the refused one: balances are exact
