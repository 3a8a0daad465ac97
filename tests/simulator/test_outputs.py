"""Output files open and match the request; their URLs are signed and expire."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from airflow_provider_mediagen.simulator import SimulatorServer

from .helpers import APEX, DD, FDB, facedub_files, mp4_info, png_size, wait_for, wav_seconds


def apex_output(client: httpx.Client, apex: str, kind: str, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    r = client.post(f"{apex}/api/generate/{kind}", headers=APEX, json=body)
    assert r.status_code == 200, r.text
    job_id = r.json()["data"]["jobId"]
    job = wait_for(
        lambda: (
            (j := client.get(f"{apex}/api/jobs?id={job_id}", headers=APEX).json()["data"])["status"] == "completed"
            and j
        )
    )
    download = client.get(job["outputUrl"])
    assert download.status_code == 200
    assert download.headers["content-type"].startswith(job["outputType"])
    return job, download.content


def test_apex_image_size(client: httpx.Client, apex: str) -> None:
    job, data = apex_output(client, apex, "image", {"prompt": "a cat", "width": 640, "height": 384})
    assert png_size(data) == (640, 384)
    assert job["metadata"]["width"] == 640 and job["metadata"]["durationMs"] >= 0


def test_apex_voice_length_follows_text_and_speed(client: httpx.Client, apex: str) -> None:
    text = "x" * 60  # 4 s at speed 1.0
    job, data = apex_output(client, apex, "voice", {"text": text, "speed": 2.0})
    assert wav_seconds(data) == pytest.approx(2.0, abs=0.01)
    assert job["metadata"]["durationSeconds"] == pytest.approx(2.0) and job["outputType"] == "audio/wav"
    _, slow = apex_output(client, apex, "voice", {"text": text})
    assert wav_seconds(slow) == pytest.approx(4.0, abs=0.01)


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        ("b-roll", {"prompt": "waves", "duration": 4, "resolution": "480p"}, (4.0, 854, 480)),
        ("text2video", {"script": "a fox", "duration": 3, "resolution": "1080p"}, (3.0, 1920, 1080)),
        ("video", {"script": "hello", "duration": 5}, (5.0, 1280, 720)),
    ],
)
def test_apex_video_duration_and_resolution(
    client: httpx.Client, apex: str, kind: str, body: dict[str, Any], expected: tuple[float, int, int]
) -> None:
    job, data = apex_output(client, apex, kind, body)
    duration, width, height = mp4_info(data)
    assert (width, height) == expected[1:]
    assert duration == pytest.approx(expected[0], abs=0.6)
    assert job["metadata"]["durationSeconds"] == expected[0]


def test_ddukddak_template_image_renders_layers(client: httpx.Client, dd: str) -> None:
    r = client.post(
        f"{dd}/images",
        headers=DD,
        json={
            "template": "summer-sale-banner",
            "properties": [{"name": "background", "fillColor": "#FF6B35"}, {"name": "title", "text": "Hi"}],
        },
    )
    data = client.get(r.json()["image_url"]).content
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (1200, 628)
        assert image.convert("RGB").getpixel((5, 5)) == (0xFF, 0x6B, 0x35)
    other = client.post(f"{dd}/images", headers=DD, json={"template": "product-card"}).json()
    assert png_size(client.get(other["image_url"]).content) == (800, 800)


def test_ddukddak_ai_image_size_and_determinism(client: httpx.Client, dd: str) -> None:
    def make(seed: int) -> bytes:
        uid = client.post(
            f"{dd}/ai/images",
            headers=DD,
            json={"prompt": "sunset", "model": "m", "image_size": "800x600", "seed": seed},
        ).json()["uid"]
        body = wait_for(
            lambda: (b := client.get(f"{dd}/ai/images/{uid}", headers=DD).json())["status"] == "completed" and b
        )
        return client.get(body["image_url"]).content

    first, again, other = make(1), make(1), make(2)
    assert png_size(first) == (800, 600)
    assert first == again and first != other


def test_ddukddak_ai_video_duration_resolution(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    sim.configure(durations={"ddukddak.ai_video": 1})
    uid = client.post(
        f"{dd}/ai/videos",
        headers=DD,
        json={"prompt": "p", "model": "veo-3.1-fast", "aspect_ratio": "9:16", "resolution": "720p", "duration": "4"},
    ).json()["uid"]
    body = wait_for(
        lambda: (b := client.get(f"{dd}/ai/videos/{uid}", headers=DD).json())["status"] == "completed" and b
    )
    duration, width, height = mp4_info(client.get(body["video_url"]).content)
    assert (width, height) == (720, 1280) and duration == pytest.approx(4.0, abs=0.6)


def test_facedub_video_duration(client: httpx.Client, fdb: str) -> None:
    job_id = client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files(), data={"duration": "3"}).json()["job_id"]
    job = wait_for(lambda: (j := client.get(f"{fdb}/jobs/{job_id}", headers=FDB).json())["status"] == "completed" and j)
    duration, width, height = mp4_info(client.get(job["output_url"]).content)
    assert duration == pytest.approx(3.0, abs=0.6) and (width, height) == (720, 1280)


def test_signed_urls_reject_tampering_and_expiry(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    url = client.post(f"{dd}/images", headers=DD, json={"template": "quote-square"}).json()["image_url"]
    assert client.get(url).status_code == 200
    assert client.head(url).status_code == 200
    assert client.get(url.replace("sig=", "sig=0")).status_code == 403
    assert client.get(url.split("?")[0]).status_code == 403
    expires = int(url.split("expires=")[1].split("&")[0])
    assert client.get(url.replace(f"expires={expires}", f"expires={expires + 10}")).status_code == 403
    sim.configure(file_url_ttl=0.001)  # URLs signed from now on are already expired
    expired = client.post(f"{dd}/images", headers=DD, json={"template": "quote-square"}).json()["image_url"]
    # Expiry has one-second resolution: the URL is expired within a second at most.
    wait_for(lambda: client.get(expired).status_code == 403, timeout=5)
