"""The README's first command, as a user runs it: ``mediagen demo`` end to end on real Airflow (it starts
and stops its own simulator and Airflow processes), then its gallery opened in headless Chromium
(Debian's ``chromium``, installed by ``scripts/setup-chromium.sh``): every image decodes, every audio
and video reads its metadata."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_provider_mediagen.demo.stack import kill_recorded

from . import chromium

pytestmark = pytest.mark.system
DEMO_TIMEOUT = 420


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, float]:
    out = tmp_path_factory.mktemp("demo") / "mediagen-demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    env.pop("AIRFLOW_HOME", None)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "airflow_provider_mediagen.cli", "demo", "--out", str(out), "--plain",
                             "--timeout", str(DEMO_TIMEOUT - 60)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=DEMO_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the demo stops what it started on SIGTERM
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        pytest.fail(f"mediagen demo did not finish within {DEMO_TIMEOUT} s:\n{output[-5000:]}")
    finally:
        kill_recorded(out / "airflow")  # only if the demo died without stopping its Airflow processes
    elapsed = time.monotonic() - started
    print(f"mediagen demo took {elapsed:.0f} s")
    assert proc.returncode == 0, output[-5000:]
    return out, output, elapsed


def test_demo_runs_every_example_and_says_where_things_are(demo: tuple[Path, str, float]) -> None:
    out, output, _ = demo
    gallery = out / "gallery.html"
    assert gallery.is_file()
    assert f"Gallery:  {gallery}" in output.replace("\n", "") or str(gallery) in output
    assert str(out / "outputs") in output and "Wall time" in output
    outputs = out / "outputs"
    assert len(list((outputs / "social_banners").rglob("*.png"))) == 4
    assert len(list((outputs / "blog_to_video").rglob("*.mp4"))) == 2
    assert len(list((outputs / "blog_to_video").rglob("*.wav"))) == 1
    assert len(list((outputs / "ugc_ad").rglob("*.mp4"))) == 3
    assert len(list((outputs / "product_photos").rglob("*.png"))) == 3
    assert len(list((outputs / "published").glob("*.json"))) == 3  # example 4's asset-triggered post-processing
    assert len(list((outputs / "budget_batch").rglob("*.png"))) == 4  # example 5: the guard stopped the rest
    # No wall of logs on the terminal: Airflow's own output went to files.
    assert "[info     ]" not in output
    assert (out / "airflow" / "logs" / "scheduler.log").stat().st_size > 0
    assert json.loads((out / "airflow" / "pids.json").read_text()) == {}  # everything it started was stopped


def test_gallery_shows_every_output_with_its_job(demo: tuple[Path, str, float]) -> None:
    out, _, _ = demo
    page = (out / "gallery.html").read_text()
    assert page.count("<img ") == 4 + 3 + 4 and page.count("<audio ") == 1 and page.count("<video ") == 2 + 3
    for label in ("job id", "kind", "credits", "timing"):
        assert page.count(f"<th>{label}</th>") == 4 + 3 + 3 + 3 + 8  # one card per task (8 thumbnails)
    assert page.count('class="card stopped"') == 4
    assert "must stay in reserve; nothing was submitted" in page


def test_gallery_links_the_credits_page_and_the_ledger_matches_it(demo: tuple[Path, str, float]) -> None:
    out, output, _ = demo
    page = (out / "gallery.html").read_text()
    assert re.search(r'<a href="http://127\.0\.0\.1:\d+/mediagen/credits/page\?since=1d" data-link="Credits page">',
                     page), page[:3000]
    # The ledger, read from the demo's API server as the Credits page reads it, charged what the gallery's
    # jobs cost (the guard's stopped tasks submitted nothing; no job of the demo fails).
    [made] = re.findall(r"(\d+) files from (\d+) jobs, ([\d.]+) credits", page)
    [ledger] = re.findall(r"Credits ledger: ([\d.]+) charged, ([\d.]+) refunded \((\d+) jobs, (\d+) failed\)", page)
    assert (float(ledger[0]), ledger[1], ledger[2], ledger[3]) == (float(made[2]), "0", made[1], "0"), (made, ledger)
    assert "Credits ledger:" in output


def test_gallery_media_load_in_headless_chromium(demo: tuple[Path, str, float]) -> None:
    if not chromium.available():
        pytest.fail("Debian's chromium is missing: run scripts/setup-chromium.sh (./dev.sh test does)")
    results = chromium.check_media(demo[0] / "gallery.html")
    assert len(results) == 4 + 3 + 4 + 1 + 2 + 3
    failed = [r for r in results if not r["ok"]]
    assert not failed, failed
    for r in results:
        if r["tag"] == "img":
            assert r["width"] > 0 and r["height"] > 0, r
        else:
            assert r["duration"] and r["duration"] > 0 and r["readyState"] >= 1, r
        if r["tag"] == "video":
            assert r["width"] > 0, r  # decoded far enough to know its frame size
