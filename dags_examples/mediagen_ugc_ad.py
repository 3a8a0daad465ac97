"""Example 3 - UGC ad variants with FaceDub, within its two concurrent jobs.

One character photo and one reference performance (both bundled in ``data/``) become several ad cuts
of different lengths. FaceDub processes at most two jobs per account at once and answers a third
with 429, so the mapped dubs run in the Airflow pool ``facedub`` of two slots created with
``include_deferred``: a dub waiting in the triggerer keeps its slot, exactly as its job keeps its
place at FaceDub while queued or processing. The pool spans every DAG, worker and triggerer, which
an in-process limiter could not. Create it once::

    airflow pools set facedub 2 "FaceDub: 2 concurrent jobs per account" --include-deferred

Connection: ``mediagen_facedub_default`` (FaceDub needs an Agency key).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider_mediagen.operators import FaceDubVideoOperator

DATA = Path(__file__).parent / "data"
OUTPUT = "{{ var.value.get('mediagen_output', '/tmp/mediagen-output') }}/ugc_ad/{{ dag_run.run_after | ts_nodash }}"
CUTS = [3, 5, 8]  # seconds of each ad cut (FaceDub bills 1 credit per 5 s started)
FACEDUB_POOL = "facedub"


def storage(uri: str) -> ObjectStoragePath:
    return ObjectStoragePath(uri if "://" in uri else f"file://{uri}")


with DAG(
    dag_id="mediagen_ugc_ad",
    description="FaceDub ad cuts from a character photo, two jobs at a time",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},  # a retry reuses its submitted job
    tags=["mediagen", "example", "facedub"],
):
    cuts = FaceDubVideoOperator.partial(
        task_id="dub",
        character_photo=str(DATA / "character.jpg"),
        reference_video=str(DATA / "reference.mp4"),
        pool=FACEDUB_POOL,
        deferrable=True,
        output_path=OUTPUT,
        timeout=timedelta(minutes=30),
        map_index_template="{{ task.duration }} s",
    ).expand(duration=CUTS)

    @task
    def shortlist(results: list[dict[str, Any]], output: str) -> dict[str, Any]:
        """Every cut with its job id and cost, cheapest first, in ``cuts.json``."""
        ranked = sorted(results, key=lambda r: r["credits"] or 0)
        listing = [{"job_id": r["job_id"], "files": r["outputs"], "credits": r["credits"]} for r in ranked]
        target = storage(output) / "cuts.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(listing, indent=2))
        return {"cuts": len(listing), "credits": sum(r["credits"] or 0 for r in listing), "listing": str(target)}

    shortlist(cuts.output, output=OUTPUT)
