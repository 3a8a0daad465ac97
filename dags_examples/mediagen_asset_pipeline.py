"""Example 4 - event-driven post-processing on a media asset.

``mediagen_product_photos`` generates product shots with Apex; each generation task names the asset
``mediagen://examples/product-photos`` in its ``outlets``, so every finished image emits an asset event
whose ``extra`` carries the job id, the output URLs and the written files.

``mediagen_media_postprocess`` is scheduled on that asset: the scheduler starts it when events arrive
(one run may gather several), and it post-processes each finished item: checks it is a real image,
reads its size, copies it to ``published/`` under a content-addressed name and writes a JSON sidecar
named after the job (so processing an item twice is a no-op).
No polling, no sensor.
"""

from __future__ import annotations

import hashlib
import json
import struct
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, ObjectStoragePath, task

from airflow_provider_mediagen.operators import ApexImageOperator

PRODUCT_PHOTOS = Asset("mediagen://examples/product-photos")
ROOT = "{{ var.value.get('mediagen_output', '/tmp/mediagen-output') }}"


def storage(uri: str) -> ObjectStoragePath:
    return ObjectStoragePath(uri if "://" in uri else f"file://{uri}")


def image_size(head: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG from its first bytes (no imaging library needed)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if head.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(head):
            if head[i] != 0xFF:
                return None
            marker, length = head[i + 1], struct.unpack(">H", head[i + 2:i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", head[i + 5:i + 9])
                return width, height
            i += 2 + length
    return None


with DAG(
    dag_id="mediagen_product_photos",
    description="Apex product shots; each finished image is an event on an asset",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},  # a retry reuses its submitted job
    tags=["mediagen", "example", "apex", "assets"],
):
    ApexImageOperator.partial(
        task_id="product_shot",
        width=768,
        height=768,
        style="photorealistic",
        deferrable=True,
        output_path=ROOT + "/product_photos/{{ dag_run.run_after | ts_nodash }}",
        # One shot at a time: each photo's event then reaches the scheduler on its own, seconds apart.
        max_active_tis_per_dagrun=1,
        outlets=[PRODUCT_PHOTOS],  # one asset event per finished image, with the job in its extra
    ).expand(prompt=[
        "a ceramic mug on a walnut desk, morning light",
        "a canvas tote bag on a white studio background",
        "a pair of running shoes on wet asphalt",
    ])


with DAG(
    dag_id="mediagen_media_postprocess",
    description="Post-processes every finished product photo as it arrives",
    schedule=[PRODUCT_PHOTOS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["mediagen", "example", "assets"],
):

    @task(inlets=[PRODUCT_PHOTOS])
    def postprocess(root: str, triggering_asset_events: Any = None, inlet_events: Any = None) -> list[dict[str, Any]]:
        """Each finished item of the events that started this run: verify, measure, publish.

        Idempotent and catching up: an item already published (its ``<job id>.json`` exists) is skipped,
        and the asset's latest events (``inlet_events``) are looked at too. Airflow folds a burst of events
        into one queued trigger, and in 3.3 an event landing while the scheduler creates a run can lose
        its own trigger; such an item is then picked up by the next run instead of never.
        """
        published = storage(root) / "published"
        published.mkdir(parents=True, exist_ok=True)
        events = list(triggering_asset_events[PRODUCT_PHOTOS])
        if inlet_events is not None:
            events += list(inlet_events[PRODUCT_PHOTOS].ascending(False).limit(50))
        records, seen = [], set()
        for event in events:
            extra = dict(event.extra or {})
            job_id = str(extra.get("job_id"))
            if job_id in seen or (published / f"{job_id}.json").exists():
                continue
            seen.add(job_id)
            for uri in extra.get("outputs", []):
                data = storage(uri).read_bytes()
                size = image_size(data[:65536])
                if size is None:
                    raise ValueError(f"{uri} from job {extra.get('job_id')} is not a PNG or JPEG image")
                digest = hashlib.sha256(data).hexdigest()
                suffix = uri.rsplit(".", 1)[-1]
                target = published / f"{digest[:16]}.{suffix}"
                target.write_bytes(data)
                record = {"job_id": extra.get("job_id"), "service": extra.get("service"), "kind": extra.get("kind"),
                          "source": uri, "published": str(target), "sha256": digest, "bytes": len(data),
                          "width": size[0], "height": size[1], "credits": extra.get("credits")}
                (published / f"{job_id}.json").write_text(json.dumps(record, indent=2))
                records.append(record)
        print(f"post-processed {len(records)} item(s): " + ", ".join(r["job_id"] or "?" for r in records))
        return records

    postprocess(root=ROOT)
