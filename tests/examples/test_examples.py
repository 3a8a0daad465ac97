"""Each shipped example DAG parses with zero import errors and runs end to end against the simulator
(``dag.test()``: deferrable waits go through the trigger, run inline)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import EXAMPLES, load_dag, run_dag, xcom

EXAMPLE_DAGS = {
    "mediagen_social_banners.py": ["mediagen_social_banners"],
    "mediagen_blog_to_video.py": ["mediagen_blog_to_video"],
    "mediagen_ugc_ad.py": ["mediagen_ugc_ad"],
    "mediagen_asset_pipeline.py": ["mediagen_product_photos", "mediagen_media_postprocess"],
    "mediagen_budget_batch.py": ["mediagen_budget_batch"],
}


def test_every_example_parses_with_zero_import_errors() -> None:
    from airflow.dag_processing.dagbag import DagBag

    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXAMPLE_DAGS)
    for file, dag_ids in EXAMPLE_DAGS.items():
        bag = DagBag(dag_folder=str(EXAMPLES / file), safe_mode=False)
        assert bag.import_errors == {}, file
        assert sorted(bag.dags) == sorted(dag_ids), file
        for dag in bag.dags.values():
            assert "example" in dag.tags or dag.dag_id == "mediagen_media_postprocess"
            assert dag.description


def test_examples_parse_in_a_fresh_interpreter() -> None:
    """As the DAG processor parses them: a new process, nothing of the tests imported."""
    code = ("from airflow.dag_processing.dagbag import DagBag; import sys; "
            f"b = DagBag(dag_folder={str(EXAMPLES)!r}, safe_mode=False); "
            "print(len(b.dags)); sys.exit(1 if b.import_errors else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "6"


def test_social_banners_one_image_per_csv_row(sim: Any, tmp_path: Path) -> None:
    run, tis = run_dag("mediagen_social_banners")
    assert run.state == "success"
    rows = (EXAMPLES / "data" / "banners.csv").read_text().strip().splitlines()[1:]
    mapped = sorted(k for k in tis if k.startswith("render_banner["))
    assert len(mapped) == len(rows) == 4
    assert all(tis[k].state == "success" for k in mapped)
    [folder] = list((tmp_path / "out" / "social_banners").iterdir())
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) == 4 and all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["count"] == 4 and summary["credits"] == 4
    assert sorted(Path(f.removeprefix("file://")).name for b in summary["banners"] for f in b["files"]) == \
        sorted(p.name for p in pngs)
    dd = sim.counters()["ddukddak"]["demo"]
    assert dd["credits_charged"] == 4
    assert dd["requests"]["POST /images"] == {"201": 4}


def test_blog_to_video_voice_presenter_and_scenes(sim: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    run, tis = run_dag("mediagen_blog_to_video")
    logs = "".join(capfd.readouterr())
    assert run.state == "success", logs[-3000:]
    assert {k: ti.state for k, ti in tis.items()} == dict.fromkeys(
        ["prepare_post", "narration", "presenter", "scenes", "gather"], "success")
    package = xcom("mediagen_blog_to_video", run.run_id, "gather")
    assert package["title"] == "Five minutes to a calmer morning"
    files = {name: [Path(f.removeprefix("file://")) for f in found] for name, found in package["files"].items()}
    assert files["narration"][0].suffix == ".wav" and files["narration"][0].read_bytes()[:4] == b"RIFF"
    assert files["presenter"][0].suffix == ".mp4" and files["scenes"][0].suffix == ".mp4"
    assert all(f[0].stat().st_size > 0 for f in files.values())
    assert package["credits"] == 80 + 750 + 250  # voice + avatar + text2video, as documented
    assert Path(package["package"].removeprefix("file://")).is_file()
    apex = sim.counters()["apex"]["demo"]
    assert apex["jobs_created"] == 3 and apex["credits_charged"] == 1080
    # The three waits went through the trigger (dag.test() runs it in line).
    assert caplog.text.count("[DAG TEST] running trigger in line") == 3
    # The presenter speaks the voice-over: its request carried the narration job's output URL.
    voice = xcom("mediagen_blog_to_video", run.run_id, "narration")
    assert voice["output_urls"] and voice["status"] == "succeeded"


def test_ugc_ad_cuts_run_in_the_facedub_pool(sim: Any, tmp_path: Path) -> None:
    run, tis = run_dag("mediagen_ugc_ad")
    assert run.state == "success"
    dubs = [ti for key, ti in tis.items() if key.startswith("dub[")]
    assert len(dubs) == 3 and all(ti.state == "success" and ti.pool == "facedub" for ti in dubs)
    listing = xcom("mediagen_ugc_ad", run.run_id, "shortlist")
    assert listing["cuts"] == 3 and listing["credits"] == 1 + 1 + 2  # ceil(3/5), ceil(5/5), ceil(8/5)
    videos = list((tmp_path / "out" / "ugc_ad").rglob("*.mp4"))
    assert len(videos) == 3
    fd = sim.counters()["facedub"]["demo"]
    assert fd["jobs_created"] == 3
    assert set(fd["requests"]["POST /jobs"]) == {"200"}  # never over the concurrency limit


def test_asset_pipeline_events_carry_each_item_to_the_postprocessor(sim: Any, tmp_path: Path) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    run, _ = run_dag("mediagen_product_photos")
    assert run.state == "success"
    with create_session() as session:
        events = (session.query(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                  .filter(AssetModel.uri == "mediagen://examples/product-photos",
                          AssetEvent.source_run_id == run.run_id).all())
        session.expunge_all()
    assert len(events) == 3
    assert {e.extra["kind"] for e in events} == {"image"} and all(e.extra["outputs"] for e in events)

    # The consumer is scheduled on that asset; the scheduler hands it these events (the system test and
    # the demo show that part on real processes). Here: its post-processing on the real events.
    consumer = load_dag("mediagen_media_postprocess")
    from airflow.sdk import Asset

    assert "mediagen://examples/product-photos" in repr(consumer.timetable.asset_condition)
    postprocess = consumer.get_task("postprocess").python_callable
    triggering = {Asset("mediagen://examples/product-photos"): events}
    records = postprocess(root=str(tmp_path / "out"), triggering_asset_events=triggering)
    assert len(records) == 3
    assert {(r["width"], r["height"]) for r in records} == {(768, 768)}
    assert {r["job_id"] for r in records} == {e.extra["job_id"] for e in events}
    published = tmp_path / "out" / "published"
    assert len(list(published.glob("*.png"))) == 3 and len(list(published.glob("*.json"))) == 3
    # Idempotent: the same events again (a catch-up run) publish nothing twice.
    assert postprocess(root=str(tmp_path / "out"), triggering_asset_events=triggering) == []


def test_budget_batch_stops_before_it_overspends(sim: Any, capfd: pytest.CaptureFixture[str]) -> None:
    run, tis = run_dag("mediagen_budget_batch")
    logs = "".join(capfd.readouterr())
    assert run.state == "success"  # the report ran and says what happened
    thumbs = {k: ti.state for k, ti in tis.items() if k.startswith("thumbnail[")}
    assert len(thumbs) == 8
    assert sorted(thumbs.values()).count("success") == 4 and sorted(thumbs.values()).count("failed") == 4
    report = xcom("mediagen_budget_batch", run.run_id, "report")
    assert report == {**report, "requested": 8, "made": 4, "stopped": 4, "credits": 40}
    budget = sim.counters()["apex"]["budget"]
    assert budget["jobs_created"] == 4 and budget["credits_charged"] == 40  # 60 - 40 = the 20 reserve
    assert budget["requests"]["POST /api/generate/image"] == {"200": 4}
    assert "must stay in reserve; nothing was submitted" in logs
