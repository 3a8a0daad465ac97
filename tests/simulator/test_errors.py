"""Auth (401), plans (403), credits (402 / overage), validation (400) and not-found, in each
service's documented error shape."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_mediagen.simulator import SimulatorServer

from .helpers import APEX, DD, FDB, bearer, facedub_files, wait_for


@pytest.mark.parametrize(
    "headers", [{}, bearer("dd_live_nope"), bearer("sk_live_demo"), {"Authorization": "dd_live_demo"}]
)
def test_ddukddak_401(client: httpx.Client, dd: str, headers: dict[str, str]) -> None:
    r = client.get(f"{dd}/auth", headers=headers)
    assert r.status_code == 401 and list(r.json()) == ["error"]


@pytest.mark.parametrize("headers", [{}, bearer("sk_live_nope"), bearer("fdb_demo")])
def test_apex_401(client: httpx.Client, apex: str, headers: dict[str, str]) -> None:
    r = client.get(f"{apex}/api/usage", headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "UNAUTHORIZED" and set(r.json()) == {"error", "code"}


@pytest.mark.parametrize("headers", [{}, bearer("fdb_nope"), bearer("dd_live_demo")])
def test_facedub_401(client: httpx.Client, fdb: str, headers: dict[str, str]) -> None:
    r = client.get(f"{fdb}/jobs", headers=headers)
    assert r.status_code == 401 and list(r.json()) == ["detail"]


def test_unauthenticated_requests_count_as_anonymous(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    client.get(f"{dd}/auth")
    assert sim.counters()["ddukddak"]["anonymous"]["requests"] == {"GET /auth": {"401": 1}}


def test_ddukddak_plan_gating(client: httpx.Client, dd: str) -> None:
    free, automate = bearer("dd_live_free"), bearer("dd_live_automate")
    template = {"template": "summer-sale-banner", "properties": []}
    ai = {"prompt": "p", "model": "gemini-2.5-flash-image"}
    assert client.post(f"{dd}/images", headers=free, json=template).status_code == 201
    r = client.post(f"{dd}/videos", headers=free, json=template)
    assert r.status_code == 403 and list(r.json()) == ["error"]
    assert client.post(f"{dd}/videos", headers=automate, json=template).status_code == 202
    assert client.post(f"{dd}/ai/images", headers=automate, json=ai).status_code == 403
    assert client.get(f"{dd}/ai/videos/vid_x", headers=automate).status_code == 403
    assert client.post(f"{dd}/ai/images", headers=DD, json=ai).status_code == 202


def test_ddukddak_credits_exhausted(client: httpx.Client, dd: str) -> None:
    r = client.post(f"{dd}/ai/images", headers=bearer("dd_live_broke"), json={"prompt": "p", "model": "m"})
    assert r.status_code == 402 and "error" in r.json()


def test_ddukddak_free_trial_runs_out_after_30(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    sim.configure(time_scale=0.0001)  # keep the 30 / 10 s rate limit out of the way
    free = bearer("dd_live_free")
    statuses = [
        client.post(f"{dd}/images", headers=free, json={"template": "quote-square"}).status_code for _ in range(31)
    ]
    assert statuses.count(201) == 30 and statuses[-1] == 402


def test_ddukddak_unknown_template_and_validation(client: httpx.Client, dd: str) -> None:
    r = client.post(f"{dd}/images", headers=DD, json={"template": "no-such-template"})
    assert r.status_code == 404 and "error" in r.json()
    by_uuid = client.post(f"{dd}/images", headers=DD, json={"template": "5b1e2c1a-7a64-4f0e-9d55-3c0b6a2f9e01"})
    assert by_uuid.status_code == 201
    r = client.post(f"{dd}/ai/images", headers=DD, json={"model": "m"})
    assert r.status_code == 400 and r.json()["error"].startswith("prompt")
    r = client.post(f"{dd}/ai/images", headers=DD, json={"prompt": "p", "model": "m", "image_size": "10x10"})
    assert r.status_code == 400 and "image_size" in r.json()["error"]
    r = client.post(f"{dd}/ai/videos", headers=DD, json={"prompt": "p", "model": "m", "duration": "12"})
    assert r.status_code == 400 and "duration" in r.json()["error"]
    r = client.post(f"{dd}/images", headers=DD, content=b"not json")
    assert r.status_code == 400 and "error" in r.json()


def test_ddukddak_other_accounts_job_is_404(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    sim.add_account(service="ddukddak", key="dd_live_rival", plan="scale", name="rival")
    uid = client.post(f"{dd}/ai/images", headers=DD, json={"prompt": "p", "model": "m"}).json()["uid"]
    assert client.get(f"{dd}/ai/images/{uid}", headers=bearer("dd_live_rival")).status_code == 404
    assert client.get(f"{dd}/ai/videos/{uid}", headers=DD).status_code == 404


def test_apex_enterprise_only(client: httpx.Client, apex: str) -> None:
    r = client.post(f"{apex}/api/generate/image", headers=bearer("sk_live_pro"), json={"prompt": "x"})
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"


def test_apex_payment_required_and_refund(client: httpx.Client, apex: str, sim: SimulatorServer) -> None:
    broke = bearer("sk_live_broke")  # 15 credits
    assert client.post(f"{apex}/api/generate/image", headers=broke, json={"prompt": "x"}).status_code == 200
    r = client.post(f"{apex}/api/generate/image", headers=broke, json={"prompt": "x"})
    assert r.status_code == 402 and r.json()["code"] == "PAYMENT_REQUIRED"
    assert client.get(f"{apex}/api/usage", headers=broke).json()["data"]["credits"] == 5
    counters = sim.counters()["apex"]["broke"]
    assert counters["credits_charged"] == 10 and counters["jobs_created"] == 1


def test_apex_instant_ad_costs(client: httpx.Client, apex: str, sim: SimulatorServer) -> None:
    body = {"websiteUrl": "https://example.com", "platform": "tiktok", "count": 1, "style": "bold"}
    for fmt, cost in (("image", 500), ("video", 1000), ("both", 1250)):
        before = client.get(f"{apex}/api/usage", headers=APEX).json()["data"]["credits"]
        assert (
            client.post(f"{apex}/api/generate/instant-ad", headers=APEX, json={**body, "outputFormat": fmt}).status_code
            == 200
        )
        after = client.get(f"{apex}/api/usage", headers=APEX).json()["data"]["credits"]
        assert before - after == cost


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("image", {"prompt": "x", "width": 100}, "width"),
        ("image", {"prompt": "x", "width": "1024"}, "width"),
        ("image", {}, "prompt"),
        ("image", {"prompt": "x", "model": "dall-e"}, "model"),
        ("video", {"script": "s", "avatarImage": "http://example.com/a.png"}, "avatarImage"),
        ("voice", {"text": "t", "speed": 3}, "speed"),
        ("commercial", {"product": "p", "platform": "tiktok", "duration": 20, "tone": "funny"}, "duration"),
        (
            "photoshoot",
            {
                "productImage": "https://e.com/p.png",
                "background": "custom",
                "angle": "hero",
                "lighting": "soft",
                "count": 1,
            },
            "customBackground",
        ),
    ],
)
def test_apex_validation_names_the_field(
    client: httpx.Client, apex: str, path: str, body: dict[str, object], field: str
) -> None:
    r = client.post(f"{apex}/api/generate/{path}", headers=APEX, json=body)
    assert r.status_code == 400 and r.json()["code"] == "BAD_REQUEST"
    assert field in r.json()["error"]


def test_facedub_plans_and_suspension(client: httpx.Client, fdb: str) -> None:
    for key in ("fdb_pro", "fdb_suspended"):
        r = client.get(f"{fdb}/usage", headers=bearer(key))
        assert r.status_code == 403 and list(r.json()) == ["detail"]


def test_facedub_overage_instead_of_402(client: httpx.Client, fdb: str, sim: SimulatorServer) -> None:
    sim.configure(durations={"facedub.job": 0})
    small = bearer("fdb_small")  # credits_limit 2
    first = client.post(f"{fdb}/jobs", headers=small, files=facedub_files(), data={"duration": "10"}).json()
    second = client.post(f"{fdb}/jobs", headers=small, files=facedub_files(), data={"duration": "3"}).json()
    assert (first["is_overage"], second["is_overage"]) == (False, True)
    usage = client.get(f"{fdb}/usage", headers=small).json()
    assert usage["credits_used"] == 3 and usage["credits_remaining"] == 0


@pytest.mark.parametrize(
    ("files", "data", "field"),
    [
        ({"reference_video": ("video.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4")}, {}, "character_photo"),
        (
            {
                "character_photo": ("photo.gif", b"GIF89a", "image/gif"),
                "reference_video": ("v.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
            },
            {},
            "character_photo",
        ),
        (None, {"duration": "31"}, "duration"),
        (None, {"duration": "0"}, "duration"),
        (None, {"duration": "five"}, "duration"),
    ],
)
def test_facedub_validation(client: httpx.Client, fdb: str, files: object, data: dict[str, str], field: str) -> None:
    r = client.post(f"{fdb}/jobs", headers=FDB, files=files or facedub_files(), data=data)  # type: ignore[arg-type]
    assert r.status_code == 400 and r.json()["detail"].startswith(field)


def test_facedub_foreign_job_is_404(client: httpx.Client, fdb: str) -> None:
    job_id = client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files()).json()["job_id"]
    assert client.get(f"{fdb}/jobs/{job_id}", headers=bearer("fdb_other")).status_code == 404
    assert client.get(f"{fdb}/jobs/nope", headers=FDB).json() == {"detail": "Job not found"}


def test_failed_job_refund_visible_in_usage(client: httpx.Client, apex: str, sim: SimulatorServer) -> None:
    sim.set_faults([{"service": "apex", "fault": "job_fail", "endpoint": "POST /api/generate/video", "count": 1}])
    job_id = client.post(f"{apex}/api/generate/video", headers=APEX, json={"script": "s"}).json()["data"]["jobId"]
    job = wait_for(
        lambda: (
            (j := client.get(f"{apex}/api/jobs?id={job_id}", headers=APEX).json()["data"])["status"] == "failed" and j
        )
    )
    assert job["error"] == "Generation failed" and job["creditsRefunded"] == 250 and job["failedAt"]
    assert client.get(f"{apex}/api/usage", headers=APEX).json()["data"]["credits"] == 100_000
    counters = sim.counters()["apex"]["demo"]
    assert counters["credits_charged"] == 250 and counters["credits_refunded"] == 250
