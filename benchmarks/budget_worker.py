"""One process of the shared-budget benchmark (``benchmarks/budget.py``): a *submitter* (a worker running
submit tasks one after another on one key) or a *poller* (a triggerer's shared ``StatusPoller`` waiting
for the jobs it is handed on stdin, one job id per line, until stdin closes).

Both print one JSON object per line on stdout (submissions, detections, then a summary) and keep the
provider's warnings on stderr, where the orchestrator counts the shared budget's "unreachable" /
"reachable again" lines.

    python -m benchmarks.budget_worker submit BASE_URL KEY SCALE REDIS_URL|- JOBS START_AT TAG
    python -m benchmarks.budget_worker poll   BASE_URL KEY SCALE REDIS_URL|- POLL_INTERVAL
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from airflow_provider_mediagen.client import AsyncMediaClient, MediaClient
from airflow_provider_mediagen.client.errors import MediaGenError
from airflow_provider_mediagen.client.poller import StatusPoller

KIND = "image"


def emit(**record: Any) -> None:
    print(json.dumps(record), flush=True)


def submit(base_url: str, key: str, scale: float, redis_url: str | None, jobs: int, start_at: float,
           tag: str) -> None:
    """``jobs`` submissions back to back, as one worker slot running submit tasks; the client's default
    retries (5 attempts, Retry-After honoured) stand, so a submission the service keeps refusing fails
    as the task would."""
    with MediaClient("apex", key, base_url=base_url, time_scale=scale, rate_limit_url=redis_url) as client:
        time.sleep(max(0.0, start_at - time.time()))
        for i in range(jobs):
            try:
                job = client.submit(KIND, {"prompt": f"budget benchmark {tag} {i}"})
            except MediaGenError as exc:
                emit(failed=type(exc).__name__, at=time.time())
            else:
                emit(job=job.id, at=time.time())
    emit(done=True)


async def poll(base_url: str, key: str, scale: float, redis_url: str | None, poll_interval: float) -> None:
    """Waits on every job id read from stdin, all on one loop and one shared poller, as a triggerer does."""
    detected = 0
    async with AsyncMediaClient("apex", key, base_url=base_url, time_scale=scale,
                                rate_limit_url=redis_url) as client:
        poller = StatusPoller(client)

        async def wait(job_id: str) -> None:
            nonlocal detected
            job = await poller.wait(KIND, job_id, deadline=time.time() + 3600 * scale + 60,
                                    poll_interval=poll_interval)
            if job is not None and job.terminal:
                detected += 1
                emit(detected=job_id, at=time.time())

        waits = []
        while line := await asyncio.to_thread(sys.stdin.readline):
            waits.append(asyncio.create_task(wait(line.strip())))
        results = await asyncio.gather(*waits, return_exceptions=True)
        errors = [type(r).__name__ for r in results if isinstance(r, BaseException)]
        emit(done=True, waited=len(waits), detected=detected, errors=errors)


def main(argv: list[str]) -> None:
    mode, base_url, key, scale, redis_url, *rest = argv
    url = None if redis_url == "-" else redis_url
    if mode == "submit":
        submit(base_url, key, float(scale), url, int(rest[0]), float(rest[1]), rest[2])
    else:
        asyncio.run(poll(base_url, key, float(scale), url, float(rest[0])))


if __name__ == "__main__":
    main(sys.argv[1:])
