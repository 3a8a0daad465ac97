"""Example 1 - daily social banners.

Every row of ``data/banners.csv`` becomes one Ddukddak template image (dynamic task mapping: one
mapped task per row, retried on its own), written under an ObjectStoragePath destination (the Airflow
Variable ``mediagen_output``: a local folder, ``s3://bucket/media``, ``gs://...``), then one summary
task writes ``summary.json`` beside the images.

Connection: ``mediagen_ddukddak_default`` (password = the Ddukddak API key).
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, task

from airflow_provider_mediagen.operators import DdukddakTemplateImageOperator

CSV_FILE = Path(__file__).parent / "data" / "banners.csv"
# Rendered when the task runs, so the DAG file reads no Variable while it is parsed.
OUTPUT = "{{ var.value.get('mediagen_output', '/tmp/mediagen-output') }}/social_banners/{{ dag_run.run_after | ds }}"

# Which text layers of each template the CSV's two text columns fill.
TEXT_LAYERS = {
    "summer-sale-banner": ("title", "subtitle"),
    "product-card": ("name", "price"),
    "quote-square": ("quote", "author"),
}


def storage(uri: str) -> ObjectStoragePath:
    return ObjectStoragePath(uri if "://" in uri else f"file://{uri}")


with DAG(
    dag_id="mediagen_social_banners",
    description="One Ddukddak template image per CSV row, then a summary",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},  # a retry reuses its submitted job
    tags=["mediagen", "example", "ddukddak"],
):

    @task
    def read_rows(path: str = str(CSV_FILE)) -> list[dict[str, Any]]:
        """The CSV as one request per row: the template and the properties of its layers."""
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        requests = []
        for row in rows:
            headline, subline = TEXT_LAYERS[row["template"]]
            requests.append({
                "template": row["template"],
                "properties": [
                    {"name": headline, "text": row["headline"]},
                    {"name": subline, "text": row["subline"]},
                    {"name": "background", "fillColor": row["background"]},
                ],
            })
        return requests

    # One mapped task instance per row; Ddukddak answers template images at once (201), so there is
    # nothing to wait for, and each image is streamed into the destination folder.
    banners = DdukddakTemplateImageOperator.partial(
        task_id="render_banner",
        output_path=OUTPUT,
        map_index_template="{{ task.properties[0].text }}",
    ).expand_kwargs(read_rows())

    @task
    def summarize(results: list[dict[str, Any]], output: str) -> dict[str, Any]:
        """One line per banner in ``summary.json``; the return value is small (no media bytes)."""
        results = list(results)
        summary = {
            "banners": [{"job_id": r["job_id"], "files": r["outputs"], "credits": r["credits"]} for r in results],
            "count": len(results),
            "credits": sum(r["credits"] or 0 for r in results),
        }
        target = storage(output) / "summary.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(summary, indent=2))
        return {"count": summary["count"], "credits": summary["credits"], "summary": str(target)}

    summarize(banners.output, output=OUTPUT)  # a templated argument: rendered at run time
