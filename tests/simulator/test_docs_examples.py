"""Every example request of the three API docs, replayed: documented status and response shape."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from airflow_provider_mediagen.simulator import SimulatorServer

from .helpers import APEX, DD, FDB, facedub_files, wait_for

# --- Ddukddak ------------------------------------------------------------------------------------


def test_ddukddak_verify_key(client: httpx.Client, dd: str) -> None:
    # curl https://api.ddukddak.studio/v1/auth -H "Authorization: Bearer dd_live_YOUR_API_KEY"
    r = client.get(f"{dd}/auth", headers=DD)
    assert r.status_code == 200
    body = r.json()
    assert body["authenticated"] is True and isinstance(body["user_id"], str) and body["user_id"]


def test_ddukddak_template_image(client: httpx.Client, dd: str) -> None:
    r = client.post(
        f"{dd}/images",
        headers={**DD, "Content-Type": "application/json"},
        json={
            "template": "summer-sale-banner",
            "properties": [
                {"name": "title", "text": "Summer Sale"},
                {"name": "subtitle", "text": "50% OFF"},
                {"name": "background", "fillColor": "#FF6B35"},
            ],
        },
    )
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"uid", "status", "image_url"}
    assert body["uid"].startswith("img_") and body["status"] == "completed"
    assert body["image_url"].startswith("http")


def test_ddukddak_ai_image_then_poll(client: httpx.Client, dd: str) -> None:
    r = client.post(
        f"{dd}/ai/images",
        headers=DD,
        json={
            "prompt": "Professional blog thumbnail with subtle gradient background",
            "model": "gemini-2.5-flash-image",
            "aspect_ratio": "16:9",
            "image_size": "1024x1024",
        },
    )
    assert r.status_code == 202
    assert r.json() == {"uid": r.json()["uid"], "status": "pending", "image_url": None}
    uid = r.json()["uid"]
    assert uid.startswith("img_")

    def done() -> dict[str, Any] | None:
        body = client.get(f"{dd}/ai/images/{uid}", headers=DD).json()
        return body if body["status"] == "completed" else None

    body = wait_for(done)
    assert body["uid"] == uid and body["image_url"].startswith("http")


def test_ddukddak_ai_video_then_poll(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    sim.configure(durations={"ddukddak.ai_video": 60})  # 0.6 s instead of 2.4 s
    r = client.post(
        f"{dd}/ai/videos",
        headers=DD,
        json={
            "prompt": "Product showcase video for new sneakers",
            "model": "veo-3.1-fast",
            "aspect_ratio": "16:9",
            "resolution": "1080p",
            "duration": "8",
            "webhook_url": "https://your-server.com/webhook",
        },
    )
    assert r.status_code == 202
    body = r.json()
    assert body == {"uid": body["uid"], "status": "pending", "video_url": None}
    assert body["uid"].startswith("vid_")
    pending = client.get(f"{dd}/ai/videos/{body['uid']}", headers=DD).json()
    assert pending == {"uid": body["uid"], "status": "pending", "video_url": None}
    done = wait_for(
        lambda: (b := client.get(f"{dd}/ai/videos/{body['uid']}", headers=DD).json())["status"] == "completed" and b
    )
    assert set(done) == {"uid", "status", "video_url"} and done["video_url"].startswith("http")
    # the docs' webhook_url is a public host: accepted, and its delivery recorded, never sent (the suite's
    # network guard would fail this test on any lookup of your-server.com)
    wait_for(lambda: client.get(f"{sim.base_url}/_sim/memory").json()["webhook_tasks"] == 0)
    hooks = sim.counters()["ddukddak"]["demo"]["webhooks"]
    assert hooks == {"attempted": 0, "delivered": 0, "failed": 0, "withheld": 1}


# --- Apex Studio ---------------------------------------------------------------------------------
IMAGE_EXAMPLE = {
    "prompt": "A futuristic city skyline at sunset, photorealistic",
    "width": 1024,
    "height": 1024,
    "model": "flux-2-pro",
}


def test_apex_curl_image(client: httpx.Client, apex: str) -> None:
    r = client.post(
        f"{apex}/api/generate/image", headers={**APEX, "Content-Type": "application/json"}, json=IMAGE_EXAMPLE
    )
    assert r.status_code == 200
    data = r.json()["data"]
    assert set(data) == {"jobId", "status", "message"}
    assert data["status"] == "queued" and data["message"] == "Image generation job queued"


def test_apex_python_example(client: httpx.Client, apex: str) -> None:
    resp = client.post(f"{apex}/api/generate/image", headers=APEX, json=IMAGE_EXAMPLE)
    resp.raise_for_status()
    job_id = resp.json()["data"]["jobId"]
    assert resp.headers.get("X-RateLimit-Remaining") == "4"

    def finished() -> dict[str, Any] | None:
        job = client.get(f"{apex}/api/jobs?id={job_id}", headers=APEX).json()["data"]
        return job if job["status"] in ("completed", "failed") else None

    job = wait_for(finished)
    assert job["status"] == "completed" and job["outputUrl"].startswith("http")
    assert job["jobId"] == job_id and job["type"] == "image" and job["outputType"] == "image/png"
    assert job["metadata"]["model"] == "flux-2-pro" and job["metadata"]["width"] == 1024


def test_apex_node_example(client: httpx.Client, apex: str) -> None:
    response = client.post(
        f"{apex}/api/generate/image", headers={**APEX, "Content-Type": "application/json"}, json=IMAGE_EXAMPLE
    )
    data = response.json()["data"]
    assert data["jobId"]
    assert int(response.headers["X-RateLimit-Remaining"]) >= 0
    reset = int(response.headers["X-RateLimit-Reset"])
    assert time.time() - 5 < reset < time.time() + 3600
    job = wait_for(
        lambda: (
            (j := client.get(f"{apex}/api/jobs?id={data['jobId']}", headers=APEX).json()["data"])["status"]
            in ("completed", "failed")
            and j
        )
    )
    assert job["outputUrl"]


APEX_GENERATION_EXAMPLES: dict[str, dict[str, Any]] = {
    "video": {
        "script": "Welcome to our product",
        "duration": 5,
        "resolution": "720p",
        "style": "casual",
        "model": "wan-2.6",
    },
    "avatar": {
        "image": "https://example.com/face.jpg",
        "resolution": "720p",
        "model": "veed-fabric",
        "text": "Hello there",
    },
    "clip": {"sourceVideoUrl": "https://example.com/long.mp4", "maxClips": 2, "maxDuration": 5, "aspectRatio": "9:16"},
    "b-roll": {"prompt": "Aerial shot of a coastline", "duration": 4, "resolution": "480p"},
    "text2video": {"script": "A fox runs through snow", "duration": 3, "resolution": "720p", "style": "cinematic"},
    "commercial": {"product": "Sneakers", "platform": "tiktok", "duration": 15, "tone": "energetic"},
    "translate": {"videoUrl": "https://example.com/v.mp4", "outputLanguage": "es"},
    "instant-ad": {"websiteUrl": "https://example.com", "platform": "instagram", "count": 2, "style": "bold"},
    "photoshoot": {
        "productImage": "https://example.com/p.png",
        "background": "studio-white",
        "angle": "hero",
        "lighting": "soft",
        "count": 1,
    },
}


@pytest.mark.parametrize("kind", sorted(APEX_GENERATION_EXAMPLES))
def test_apex_generation_endpoints(client: httpx.Client, apex: str, kind: str) -> None:
    r = client.post(f"{apex}/api/generate/{kind}", headers=APEX, json=APEX_GENERATION_EXAMPLES[kind])
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert set(data) == {"jobId", "status", "message"} and data["status"] == "queued"
    job = client.get(f"{apex}/api/jobs", params={"id": data["jobId"]}, headers=APEX).json()["data"]
    assert job["type"] == kind
    assert set(job) >= {"jobId", "type", "status", "outputUrl", "outputType", "metadata", "createdAt"}


def test_apex_voice_has_estimated_minutes(client: httpx.Client, apex: str) -> None:
    r = client.post(
        f"{apex}/api/generate/voice", headers=APEX, json={"text": "Hello world", "speed": 1.0, "model": "kokoro"}
    )
    assert r.status_code == 200
    data = r.json()["data"]
    assert set(data) == {"jobId", "status", "estimatedMinutes", "message"}
    assert data["estimatedMinutes"] == 1


def test_apex_voice_clone_is_synchronous_and_unwrapped(client: httpx.Client, apex: str) -> None:
    r = client.post(
        f"{apex}/api/generate/voice-clone",
        headers=APEX,
        json={"name": "Narrator", "sampleAudioUrl": "https://example.com/s.wav"},
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"voiceId", "message"} and body["message"] == "Voice cloned successfully"


def test_apex_voice_agent_endpoints(client: httpx.Client, apex: str) -> None:
    agent = client.post(
        f"{apex}/api/voice-agent/agents",
        headers=APEX,
        json={
            "name": "Sales",
            "systemPrompt": "Be nice",
            "greeting": "Hi!",
            "ttsModel": "kokoro",
            "llmModel": "gpt-4o",
        },
    )
    assert agent.status_code == 200
    data = agent.json()["data"]
    assert data["id"] and data["name"] == "Sales"
    call = client.post(
        f"{apex}/api/voice-agent/calls/outbound",
        headers=APEX,
        json={"agentId": data["id"], "phoneNumber": "+14155550100"},
    )
    assert call.status_code == 200
    assert set(call.json()["data"]) == {"callId", "status"} and call.json()["data"]["status"] == "active"
    calls = client.get(f"{apex}/api/voice-agent/calls", headers=APEX).json()["data"]
    assert calls[0]["callId"] == call.json()["data"]["callId"]
    bad = client.post(
        f"{apex}/api/voice-agent/calls/outbound", headers=APEX, json={"agentId": data["id"], "phoneNumber": "555-0100"}
    )
    assert bad.status_code == 400 and bad.json()["code"] == "BAD_REQUEST" and "phoneNumber" in bad.json()["error"]


def test_apex_management_endpoints(client: httpx.Client, apex: str) -> None:
    jobs = client.get(f"{apex}/api/jobs", headers=APEX)
    assert jobs.status_code == 200 and jobs.json() == {"data": []}
    usage = client.get(f"{apex}/api/usage", headers=APEX).json()["data"]
    assert usage["credits"] == 100_000 and usage["plan"] == "enterprise" and isinstance(usage["used"], dict)
    keys = client.get(f"{apex}/api/keys", headers=APEX).json()["data"]
    assert keys and set(keys[0]) == {"id", "name", "prefix", "createdAt"}
    created = client.post(f"{apex}/api/keys", headers=APEX, json={"name": "CI"}).json()["data"]
    assert set(created) == {"id", "key", "name"} and created["key"].startswith("sk_live_")
    settings = client.post(f"{apex}/api/settings", headers=APEX, json={"webhookUrl": "https://hooks.example.com/apex"})
    assert settings.status_code == 200 and settings.json() == {"data": {"webhookUrl": "https://hooks.example.com/apex"}}


def test_apex_jobs_list_newest_first(client: httpx.Client, apex: str) -> None:
    ids = [
        client.post(f"{apex}/api/generate/image", headers=APEX, json={"prompt": f"p{i}"}).json()["data"]["jobId"]
        for i in range(3)
    ]
    listed = [j["jobId"] for j in client.get(f"{apex}/api/jobs", headers=APEX).json()["data"]]
    assert listed == list(reversed(ids))
    missing = client.get(f"{apex}/api/jobs?id=nope", headers=APEX)
    assert missing.status_code == 404 and missing.json() == {"error": "Job not found", "code": "NOT_FOUND"}


# --- FaceDub -------------------------------------------------------------------------------------


def test_facedub_curl_create_job(client: httpx.Client, fdb: str) -> None:
    r = client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files(), data={"duration": "10"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"job_id", "status", "credits_charged", "is_overage"}
    assert body["status"] == "queued" and body["credits_charged"] == 2 and body["is_overage"] is False


@pytest.mark.parametrize("with_content_type", [True, False])
def test_facedub_python_and_node_examples(client: httpx.Client, fdb: str, with_content_type: bool) -> None:
    # Python `requests` sends files without a content type; Node's FormData with one.
    files = facedub_files()
    if not with_content_type:
        files = {k: (name, data) for k, (name, data, _) in files.items()}  # type: ignore[misc]
    job = client.post(f"{fdb}/jobs", headers=FDB, files=files, data={"duration": 10}).json()
    seen: list[tuple[str, str]] = []

    def finished() -> dict[str, Any] | None:
        status = client.get(f"{fdb}/jobs/{job['job_id']}", headers=FDB).json()
        seen.append((status["status"], status["stage"]))
        return status if status["status"] in ("completed", "failed") else None

    status = wait_for(finished)
    assert status["status"] == "completed" and status["stage"] == "done"
    assert status["output_url"].startswith("http")
    assert set(status) == {
        "id",
        "status",
        "stage",
        "output_url",
        "created_at",
        "error",
        "duration_seconds",
        "credits_charged",
    }
    assert status["duration_seconds"] == 10 and status["credits_charged"] == 2 and status["error"] is None
    assert all(s in ("queued", "processing", "completed") for s, _ in seen)


def test_facedub_list_usage_and_keys(client: httpx.Client, fdb: str) -> None:
    for _ in range(2):
        client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files(), data={"duration": "5"})
    jobs = client.get(f"{fdb}/jobs", headers=FDB)
    assert jobs.status_code == 200 and isinstance(jobs.json(), list) and len(jobs.json()) == 2
    assert jobs.json()[0]["created_at"] >= jobs.json()[1]["created_at"]
    usage = client.get(f"{fdb}/usage", headers=FDB).json()
    assert usage == {
        "plan": "agency",
        "credits_used": 2,
        "credits_limit": 150,
        "bonus_credits": 0,
        "credits_remaining": 148,
    }
    key = client.post(f"{fdb}/api-keys", headers=FDB, json={"name": "Production Key"}).json()
    assert set(key) == {"id", "name", "key", "prefix", "created_at"}
    assert key["key"].startswith("fdb_") and key["prefix"] == key["key"][:12] and key["name"] == "Production Key"


def test_facedub_jobs_list_caps_at_50(client: httpx.Client, fdb: str, sim: SimulatorServer) -> None:
    # Instant jobs and a 6 ms rate window, so 55 jobs can be created quickly.
    sim.configure(time_scale=0.0001, durations={"facedub.job": 0})
    created = []
    for _ in range(55):
        r = client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files())
        if r.status_code == 200:
            created.append(r.json()["job_id"])
    assert len(created) > 50
    listed = [j["id"] for j in client.get(f"{fdb}/jobs", headers=FDB).json()]
    assert listed == list(reversed(created))[:50]
