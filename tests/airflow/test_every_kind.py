"""Each generation kind runs in a real Airflow 3.3 DAG (``dag.test()``), deferrable (through the trigger)
and in the worker, and produces its output file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from airflow_provider_mediagen.catalog import SERVICES

from .conftest import run_dag

MEDIA_TASKS = {
    "template_image": ".png", "ai_image": ".png", "ai_video": ".mp4", "image": ".png", "video": ".mp4",
    "voice": ".wav", "avatar": ".mp4", "clip": ".mp4", "b_roll": ".mp4", "text2video": ".mp4",
    "commercial": ".mp4", "translate": ".mp4", "instant_ad": ".png", "photoshoot": ".png", "facedub_video": ".mp4",
}
RESULT_TASKS = {"voice_clone", "voice_agent", "outbound_call"}


@pytest.mark.parametrize("mode", ["deferrable", "worker"])
def test_every_generation_kind(mode: str, simulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_mediagen.triggers import MediaJobTrigger

    waited: list[str] = []
    real_run = MediaJobTrigger.run

    def spy(self: MediaJobTrigger) -> Any:  # records which jobs went through the trigger, then runs it
        waited.append(self.kind)
        return real_run(self)

    monkeypatch.setattr(MediaJobTrigger, "run", spy)
    run, tis = run_dag(f"mediagen_every_kind_{mode}")
    # The slow kinds (Ddukddak AI video: 2.4 s here) cannot finish at the first check: they must wait,
    # in the trigger when deferrable, in the worker otherwise.
    assert ("ai_video" in waited) == (mode == "deferrable")
    assert mode == "deferrable" or not waited
    states = {task: ti.state for task, ti in tis.items()}
    assert run.state == "success", states
    every_kind = {(s.name, k) for s in SERVICES.values() for k in s.kinds} - {("ddukddak", "template_video")}
    assert len(tis) == len(every_kind) == len(MEDIA_TASKS) + len(RESULT_TASKS)
    for task, suffix in MEDIA_TASKS.items():
        files = list((tmp_path / "out" / task).glob(f"*{suffix}"))
        assert len(files) == 1, (task, list((tmp_path / "out").rglob("*")))
        assert files[0].stat().st_size > 0
    image = next((tmp_path / "out" / "image").glob("*.png"))
    assert Image.open(image).size == (320, 256)
    assert all(ti.try_number == 1 for ti in tis.values())
    jobs = simulator.counters()
    assert jobs["apex"]["demo"]["jobs_created"] == 11 + 0  # the 11 queued generation kinds
    assert jobs["facedub"]["demo"]["jobs_created"] == 1
    assert jobs["ddukddak"]["demo"]["jobs_created"] == 3
