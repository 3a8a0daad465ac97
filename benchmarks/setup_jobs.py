"""Putting N jobs in flight at the simulator, each finishing at a chosen wall-clock instant.

Setup is not measured and runs in the orchestrator process. To submit thousands of jobs quickly the
simulator's time scale is turned down to ``SETUP_SCALE`` while submitting (its submit windows shrink
with it), and each batch's documented duration is set so that the batch finishes at its target
instant (a job's real duration is fixed when it is created). The measurement time scale is restored
before any status read is sent, so every read the measured process makes meets the time-scaled
documented read windows, and none of the setup's submits shares a window with them.
"""

from __future__ import annotations

import asyncio
import io
import random
import time
from dataclasses import dataclass

import httpx

from .common import BENCH
from .sim import SimProcess

SETUP_SCALE = 1e-6
BATCH = 50


@dataclass
class Account:
    service: str
    key: str
    conn_id: str
    name: str


@dataclass
class PlannedJob:
    service: str
    account: Account
    finish_at: float  # wall clock target
    job_id: str = ""


def _photo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "#C08060").save(buffer, format="JPEG")
    return buffer.getvalue()


_VIDEO = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def make_accounts(sim: SimProcess, tag: str, counts: dict[str, int]) -> dict[str, list[Account]]:
    """One account per service, except FaceDub: one per 2 jobs (2 jobs in flight per user, documented)."""
    out: dict[str, list[Account]] = {}
    for service, count in counts.items():
        if count <= 0:
            continue
        spec = BENCH[service]
        n = -(-count // spec.per_account) if spec.per_account else 1
        accounts = []
        for i in range(n):
            name = f"b{tag}{service[:2]}{i}"
            key = f"{spec.key_prefix}{name}"
            sim.add_account(service, key, spec.plan, name)
            accounts.append(Account(service, key, f"bench_{name}", name))
        out[service] = accounts
    return out


def plan(accounts: dict[str, list[Account]], counts: dict[str, int], start: float, spread: dict[str, float],
         rng: random.Random) -> list[PlannedJob]:
    """Jobs of each service finishing uniformly over ``[start, start + spread]`` (wall clock); jobs are
    dealt round-robin to a service's accounts."""
    jobs: list[PlannedJob] = []
    for service, count in counts.items():
        if count <= 0:
            continue
        accs = accounts[service]
        for i in range(count):
            jobs.append(PlannedJob(service, accs[i % len(accs)], start + spread[service] * (i + 0.5) / count))
    return jobs


async def _submit_one(http: httpx.AsyncClient, sim: SimProcess, job: PlannedJob, photo: bytes) -> None:
    headers = {"Authorization": f"Bearer {job.account.key}"}
    base = sim.url(job.service)
    for _ in range(50):
        try:
            r = await _post_one(http, base, headers, job, photo)
        except httpx.TransportError:  # the simulator closed a kept-alive connection under load: setup only
            await asyncio.sleep(0.05)
            continue
        if r.status_code == 429:
            await asyncio.sleep(0.01)
            continue
        r.raise_for_status()
        body = r.json()
        job.job_id = str(body.get("uid") or body.get("job_id") or body.get("data", {}).get("jobId"))
        return
    raise RuntimeError(f"could not submit a {job.service} job: {r.status_code} {r.text[:200]}")


async def _post_one(http: httpx.AsyncClient, base: str, headers: dict[str, str], job: PlannedJob,
                    photo: bytes) -> httpx.Response:
    if job.service == "ddukddak":
        return await http.post(f"{base}/ai/videos", headers=headers,
                               json={"prompt": "benchmark", "model": "veo-3", "duration": "8"})
    if job.service == "apex":
        return await http.post(f"{base}/api/generate/video", headers=headers,
                               json={"script": "benchmark", "duration": 5, "resolution": "720p", "model": "wan-2.6"})
    return await http.post(f"{base}/jobs", headers=headers, data={"duration": "5"},
                           files={"character_photo": ("p.jpg", photo, "image/jpeg"),
                                  "reference_video": ("v.mp4", _VIDEO, "video/mp4")})


async def _submit_all(sim: SimProcess, jobs: list[PlannedJob], concurrency: int) -> None:
    photo = _photo()
    # Batches of jobs with (nearly) the same target, submitted in random order of target, so that a
    # list endpoint's "50 newest" are not simply the last to finish.
    by_service: dict[str, list[PlannedJob]] = {}
    for job in jobs:
        by_service.setdefault(job.service, []).append(job)
    batches = [group[i:i + BATCH] for group in by_service.values() for i in range(0, len(group), BATCH)]
    random.Random(7).shuffle(batches)
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(trust_env=False, timeout=60.0, limits=limits) as http:
        async def one(job: PlannedJob) -> None:
            async with sem:
                await _submit_one(http, sim, job, photo)

        for batch in batches:
            target = sum(j.finish_at for j in batch) / len(batch)
            seconds = max(0.05, target - time.time() - 0.02)
            await http.post(sim.base_url + "/_sim/config",
                            json={"durations": {BENCH[batch[0].service].duration_key: seconds / SETUP_SCALE}})
            await asyncio.gather(*(one(j) for j in batch))


def submit(sim: SimProcess, jobs: list[PlannedJob], measure_scale: float, concurrency: int = 24) -> float:
    """Submit every job; returns the setup's wall time. The measurement scale is restored at the end."""
    started = time.time()
    sim.configure(time_scale=SETUP_SCALE)
    try:
        asyncio.run(_submit_all(sim, jobs, concurrency))
    finally:
        sim.configure(time_scale=measure_scale)
    return time.time() - started
