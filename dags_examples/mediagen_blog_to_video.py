"""Example 2 - blog post to video.

A blog post (``data/blog_post.md``, or any Markdown file named in the run's ``post`` param) becomes
three Apex Studio jobs: a voice-over of its opening, a talking presenter lip-synced to that voice-over,
and documentary scenes from its text. Every wait is deferrable: while Apex renders, the tasks sit in
the triggerer and hold no worker slot. A last task gathers the outputs into ``package.json`` and
returns it, so a publishing step downstream gets one small dict.

Connection: ``mediagen_apex_default`` (Apex needs an Enterprise key).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, Param, task

from airflow_provider_mediagen.operators import ApexAvatarOperator, ApexText2VideoOperator, ApexVoiceOperator

POST = Path(__file__).parent / "data" / "blog_post.md"
OUTPUT = ("{{ var.value.get('mediagen_output', '/tmp/mediagen-output') }}"
          "/blog_to_video/{{ dag_run.run_after | ts_nodash }}")
WAIT = {"deferrable": True, "timeout": timedelta(hours=1), "output_path": OUTPUT}


def storage(uri: str) -> ObjectStoragePath:
    return ObjectStoragePath(uri if "://" in uri else f"file://{uri}")


with DAG(
    dag_id="mediagen_blog_to_video",
    description="Apex voice-over, presenter and scenes from a blog post",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},  # a retry reuses its submitted job
    params={
        "post": Param(str(POST), type="string", description="Markdown file of the post"),
        "presenter_image": Param("https://images.example.com/presenter.jpg", type="string",
                                 description="HTTPS URL of the presenter's photo"),
    },
    tags=["mediagen", "example", "apex"],
):

    @task(multiple_outputs=True)
    def prepare_post(params: dict[str, Any] | None = None) -> dict[str, str]:
        """Title, a short narration (the opening paragraph) and a scene script (the whole post)."""
        text = Path(params["post"]).read_text(encoding="utf-8")
        title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#")), "Untitled")
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip() and not p.startswith("#")]
        return {"title": title, "narration": paragraphs[0][:600], "script": " ".join(paragraphs)[:4000]}

    post = prepare_post()

    narration = ApexVoiceOperator(task_id="narration", text=post["narration"], speed=1.0, **WAIT)
    presenter = ApexAvatarOperator(
        task_id="presenter",
        image="{{ params.presenter_image }}",
        audio="{{ ti.xcom_pull(task_ids='narration')['output_refs'][0] }}",  # lip-sync to the voice-over
        resolution="720p",
        model="veed-fabric",
        **WAIT,
    )
    scenes = ApexText2VideoOperator(task_id="scenes", script=post["script"], style="documentary", duration=8, **WAIT)
    narration >> presenter

    @task
    def gather(title: str, voice: dict[str, Any], avatar: dict[str, Any], broll: dict[str, Any],
               output: str) -> dict[str, Any]:
        """The publishing package: which file is which, the job ids and what it cost."""
        parts = {"narration": voice, "presenter": avatar, "scenes": broll}
        package = {
            "title": title,
            "files": {name: part["outputs"] for name, part in parts.items()},
            "jobs": {name: part["job_id"] for name, part in parts.items()},
            "credits": sum(part["credits"] or 0 for part in parts.values()),
        }
        target = storage(output) / "package.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(package, indent=2))
        return {**package, "package": str(target)}

    gather(post["title"], narration.output, presenter.output, scenes.output, output=OUTPUT)
