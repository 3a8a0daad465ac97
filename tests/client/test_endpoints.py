"""Every one of the 35 documented endpoints, called through the client over real HTTP against the
simulator, with the parsed answer checked; then the simulator's own counters prove each endpoint was
reached and answered 2xx."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from airflow_provider_mediagen.catalog import SERVICES, NormalizedStatus
from airflow_provider_mediagen.catalog.apex import ApexJob, CreatedKey, KeyInfo, Settings, Usage
from airflow_provider_mediagen.catalog.ddukddak import AuthResponse
from airflow_provider_mediagen.catalog.facedub import FaceDubJob, RevokedKey

from .conftest import requests_of

APEX_REQUESTS: dict[str, dict[str, Any]] = {
    "image": {"prompt": "A futuristic city skyline at sunset, photorealistic", "width": 512, "height": 384,
              "model": "flux-2-pro"},
    "video": {"script": "Meet the new sneaker.", "duration": 4, "resolution": "720p"},
    "voice": {"text": "Hello from the pipeline.", "speed": 1.25},
    "avatar": {"image": "https://example.com/face.jpg", "resolution": "480p", "model": "veed-fabric",
               "text": "Hi there"},
    "clip": {"source_video_url": "https://example.com/long.mp4", "max_clips": 2, "aspect_ratio": "9:16"},
    "b_roll": {"prompt": "Waves at dawn", "duration": 3, "resolution": "480p"},
    "text2video": {"script": "A day in the life of a barista.", "duration": 5, "style": "documentary"},
    "commercial": {"product": "Sparkling water", "platform": "tiktok", "duration": 15, "tone": "energetic"},
    "translate": {"video_url": "https://example.com/talk.mp4", "output_language": "es"},
    "instant_ad": {"website_url": "https://example.com", "platform": "instagram", "count": 1, "style": "bold"},
    "photoshoot": {"product_image": "https://example.com/mug.png", "background": "studio-white", "angle": "hero",
                   "lighting": "soft", "count": 1},
}


def _successful(requests: dict[str, dict[str, int]]) -> set[str]:
    return {key for key, statuses in requests.items() if any(s.startswith("2") for s in statuses)}


def test_catalog_has_the_35_documented_endpoints() -> None:
    counts = {name: len(service.endpoints) for name, service in SERVICES.items()}
    assert counts == {"ddukddak": 7, "apex": 20, "facedub": 8}
    keys = [e.key for s in SERVICES.values() for e in s.endpoints.values()]
    assert len(set(keys)) == 35


def test_ddukddak_every_endpoint(make_client: Any, simulator: Any) -> None:
    dd = make_client("ddukddak")
    auth = dd.check()
    assert isinstance(auth, AuthResponse) and auth.authenticated and auth.user_id

    banner = dd.submit("template_image", template="summer-sale-banner", properties=[
        {"name": "title", "text": "Summer Sale"}, {"name": "subtitle", "text": "50% OFF"},
        {"name": "background", "fillColor": "#FF6B35"}])
    assert banner.status is NormalizedStatus.SUCCEEDED and banner.output_urls  # 201, synchronous
    buffer = io.BytesIO()
    assert dd.download(banner.output_urls[0], buffer) > 0
    assert Image.open(io.BytesIO(buffer.getvalue())).format == "PNG"

    video = dd.submit("template_video", template="summer-sale-banner", properties=[{"name": "title", "text": "x"}])
    assert video.status is NormalizedStatus.QUEUED and video.raw_status == "pending"

    image = dd.submit("ai_image", prompt="Professional blog thumbnail", model="gemini-2.5-flash-image",
                      aspect_ratio="16:9", image_size="640x360")
    assert image.raw_status == "pending"
    done = dd.wait("ai_image", image.id, timeout=30, poll_interval=0.05)
    assert done.succeeded and done.output_urls

    clip = dd.submit("ai_video", prompt="Product showcase video for new sneakers", model="veo-3.1-fast",
                     aspect_ratio="16:9", resolution="720p", duration="4")
    assert clip.status is NormalizedStatus.QUEUED
    finished = dd.wait("ai_video", clip.id, timeout=60, poll_interval=0.1)
    assert finished.succeeded and finished.output_urls[0].startswith(simulator.base_url)

    documented = {e.key for e in SERVICES["ddukddak"].endpoints.values()}
    assert documented <= _successful(requests_of(simulator, "ddukddak"))


def test_apex_every_endpoint(make_client: Any, simulator: Any) -> None:
    apex = make_client("apex")
    submitted = {kind: apex.submit(kind, **request) for kind, request in APEX_REQUESTS.items()}
    for kind, job in submitted.items():
        assert job.kind == kind and job.raw_status == "queued", kind
    for kind, job in submitted.items():
        done = apex.wait(kind, job.id, timeout=120, poll_interval=0.2)
        assert done.succeeded and done.output_urls, (kind, done)
        assert done.credits and done.credits > 0

    image = apex.get_job("image", submitted["image"].id)
    assert image.raw["outputType"] == "image/png"
    listed = apex.list_jobs()
    assert {j.id for j in listed} >= {j.id for j in submitted.values()}
    assert all(isinstance(job.raw, dict) for job in listed)
    single = apex.call("jobs", query={"id": submitted["voice"].id})
    assert isinstance(single, ApexJob) and single.type == "voice"

    clone = apex.submit("voice_clone", name="Narrator", sample_audio_url="https://example.com/sample.wav")
    assert clone.succeeded and clone.id  # voiceId, answered unwrapped and at once

    agent = apex.submit("voice_agent", name="Support", system_prompt="Be kind.", greeting="Hello!",
                        tts_model="kokoro", llm_model="gpt-4o-mini")
    call = apex.submit("outbound_call", agent_id=agent.id, phone_number="+14155550123")
    assert call.raw_status == "active" and call.id
    calls = apex.call("list_calls")
    assert any(c.get("callId") == call.id for c in calls)

    usage = apex.usage()
    assert isinstance(usage, Usage) and usage.plan == "enterprise"
    assert apex.balance() == usage.credits
    keys = apex.call("list_keys")
    assert keys and all(isinstance(k, KeyInfo) for k in keys)
    created = apex.call("create_key", {"name": "ci"})
    assert isinstance(created, CreatedKey) and created.key.get_secret_value().startswith("sk_live_")
    assert "sk_live_" not in repr(created)
    settings = apex.call("set_webhook", {"webhook_url": "https://hooks.example.com/apex"})
    assert isinstance(settings, Settings) and settings.webhook_url == "https://hooks.example.com/apex"

    documented = {e.key for e in SERVICES["apex"].endpoints.values()}
    assert documented <= _successful(requests_of(simulator, "apex"))


def test_facedub_every_endpoint(make_client: Any, simulator: Any, sample_photo: Any, sample_video: Any) -> None:
    fd = make_client("facedub")
    job = fd.submit("video", character_photo=sample_photo, reference_video=sample_video, duration=10)
    assert job.raw_status == "queued" and job.credits == 2  # the docs' example: 10 s -> 2 credits
    token = simulator_jwt(simulator)
    stream = list(fd.stream_job(job.id, token))
    assert stream[-1].succeeded and stream[-1].output_urls
    stages = [update.stage for update in stream]
    assert "generating_views" in stages and stages[-1] == "done"

    one = fd.get_job("video", job.id)
    assert one.succeeded and one.raw["duration_seconds"] == 10
    listed = fd.call("list_jobs")
    assert listed and isinstance(listed[0], FaceDubJob) and listed[0].id == job.id

    usage = fd.usage()
    assert usage.plan == "agency" and usage.credits_used == 2
    created = fd.call("create_key", {"name": "Production Key"})
    assert created.key.get_secret_value().startswith("fdb_") and created.prefix
    assert any(k.id == created.id for k in fd.call("list_keys"))
    revoked = fd.call("revoke_key", key_id=created.id)
    assert isinstance(revoked, RevokedKey) and revoked.revoked

    documented = {e.key for e in SERVICES["facedub"].endpoints.values()}
    assert documented <= _successful(requests_of(simulator, "facedub"))


def simulator_jwt(simulator: Any, key: str = "fdb_demo") -> str:
    import httpx

    response = httpx.post(f"{simulator.base_url}/_sim/facedub/jwt", json={"key": key, "ttl": 600})
    response.raise_for_status()
    return response.json()["token"]


@pytest.mark.parametrize("service", ["apex", "facedub"])
async def test_async_client_twin(make_async_client: Any, service: str, sample_photo: Any, sample_video: Any) -> None:
    async with make_async_client(service) as client:
        if service == "apex":
            job = await client.submit_and_wait("image", prompt="a lighthouse", timeout=30, poll_interval=0.05)
        else:
            job = await client.submit_and_wait("video", character_photo=str(sample_photo),
                                               reference_video=str(sample_video), timeout=60, poll_interval=0.1)
        assert job.succeeded
        buffer = io.BytesIO()
        assert await client.download(job.output_urls[0], buffer) > 0
        assert (await client.list_jobs())[0].id == job.id
