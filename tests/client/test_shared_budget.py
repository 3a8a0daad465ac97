"""One rate budget per API key across processes (connection extra ``rate_limit_url``, issue 28).

Real parts only: three Python processes with their own clients on one Ddukddak key, the simulator
counting 429s per account, and Debian's redis-server started here on a free loopback port. Without the
shared budget each process believes it owns the whole budget and the service answers 429s; with it, none.
When Redis is killed mid-run every call still succeeds, each process warns once, and once Redis is back the
processes spend the shared budget again (the restarted, empty Redis holds their bucket)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediagen.client.ratelimit import client_window_ms, key_fingerprint
from airflow_provider_mediagen.client.shared_budget import bucket_name

from ..conftest import start_simulator
from airflow_provider_mediagen.demo.servers import RedisServer
from .conftest import KEYS, requests_of

#: Ddukddak allows 30 requests per 10 s; at this scale, 30 per 0.5 s (the client paces them to 0.775 s:
#: 5 % and a transit allowance of 250 ms, which covers the scheduling jitter of three processes on a
#: shared machine).
SCALE = 0.05
PROCESSES = 3
CALLS = 60

CALLER = textwrap.dedent("""
    import sys, time
    from airflow_provider_mediagen.client import MediaClient
    base_url, key, scale, redis_url, calls, start_at = sys.argv[1:7]
    with MediaClient("ddukddak", key, base_url=base_url, time_scale=float(scale),
                     rate_limit_url=redis_url or None, max_attempts=10) as client:
        time.sleep(max(0.0, float(start_at) - time.time()))
        for _ in range(int(calls)):
            client.call("auth")
    print("done", flush=True)
""")


@pytest.fixture(scope="module")
def simulator() -> Iterator[Any]:
    yield from start_simulator(SCALE)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


def _callers(simulator: Any, redis_url: str, calls: int = CALLS) -> list[subprocess.Popen[str]]:
    start_at = time.time() + 4  # after every process has imported the client
    return [subprocess.Popen([sys.executable, "-c", CALLER, simulator.urls["ddukddak"], KEYS["ddukddak"], str(SCALE),
                              redis_url, str(calls), str(start_at)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(PROCESSES)]


def _finish(callers: list[subprocess.Popen[str]]) -> list[str]:
    errors = []
    for caller in callers:
        out, err = caller.communicate(timeout=120)
        assert caller.returncode == 0 and out.strip() == "done", err[-3000:]
        errors.append(err)
    return errors


def _answers(simulator: Any) -> dict[str, int]:
    return requests_of(simulator, "ddukddak").get("GET /auth", {})


def test_without_a_shared_budget_processes_on_one_key_are_answered_429(simulator: Any) -> None:
    """The control: each process spends the whole budget on its own."""
    _finish(_callers(simulator, ""))
    answers = _answers(simulator)
    assert answers.get("200") == PROCESSES * CALLS
    assert answers.get("429", 0) > 0, answers


def test_with_a_shared_budget_the_service_answers_no_429(simulator: Any, redis: RedisServer) -> None:
    errors = _finish(_callers(simulator, redis.url))
    answers = _answers(simulator)
    assert answers == {"200": PROCESSES * CALLS}, answers
    assert not any("unreachable" in err for err in errors)


def test_redis_killed_mid_run_fails_nothing_warns_once_and_is_used_again(simulator: Any,
                                                                       redis: RedisServer) -> None:
    from redis import Redis

    # 600 calls each: about 90 before the kill, some on their own budgets while Redis is away (the
    # processes try it again every second), the rest on the shared budget again (60 calls per second in all).
    callers = _callers(simulator, redis.url, calls=600)
    time.sleep(4 + 1.5)
    redis.kill()
    time.sleep(1.5)
    redis.start()
    errors = _finish(callers)
    assert _answers(simulator).get("200") == PROCESSES * 600
    for err in errors:
        assert err.count("shared rate budget at redis://127.0.0.1") == 2, err[-3000:]  # gone, then back
        assert err.count("is unreachable") == 1 and err.count("is reachable again") == 1
    # The Redis that came back (empty: nothing persisted) holds the budget the processes spent afterwards.
    rate_window_ms = client_window_ms(10, SCALE)
    bucket = bucket_name("ddukddak", key_fingerprint(KEYS["ddukddak"]), "all", rate_window_ms)
    with Redis.from_url(redis.url) as client:
        assert client.exists(bucket) == 1


def test_the_redis_password_never_shows(simulator: Any) -> None:
    """A ``rate_limit_url`` with a password is unreachable here: the warning names the host, never the
    password, and the calls still succeed on the process's own budget."""
    from airflow_provider_mediagen.client import MediaClient
    from airflow_provider_mediagen.client.shared_budget import SharedBudget

    url = "redis://:s3cret-redis-pass@127.0.0.1:1/0"
    assert "s3cret" not in repr(SharedBudget(url))
    result = subprocess.run([sys.executable, "-c", CALLER, simulator.urls["ddukddak"], KEYS["ddukddak"], str(SCALE),
                             url, "3", "0"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "redis://127.0.0.1:1/0 is unreachable" in result.stderr and "s3cret" not in result.stderr
    with MediaClient("ddukddak", KEYS["ddukddak"], base_url=simulator.urls["ddukddak"], rate_limit_url=url,
                     time_scale=SCALE) as client:
        assert "s3cret" not in repr(client) and "s3cret" not in repr(vars(client))


POLLER = textwrap.dedent("""
    import asyncio, sys, time
    from airflow_provider_mediagen.client import AsyncMediaClient
    from airflow_provider_mediagen.client.poller import StatusPoller
    base_url, key, scale, redis_url, share, start_at, *job_ids = sys.argv[1:]

    async def main():
        async with AsyncMediaClient("ddukddak", key, base_url=base_url, time_scale=float(scale),
                                    rate_limit_url=redis_url or None) as client:
            poller = StatusPoller(client, read_share=float(share))
            await asyncio.sleep(max(0.0, float(start_at) - time.time()))
            jobs = await asyncio.gather(*(poller.wait("ai_image", j, deadline=time.time() + 120, poll_interval=0)
                                          for j in job_ids))
            assert all(job is not None and job.terminal for job in jobs), jobs
            print("done", flush=True)

    asyncio.run(main())
""")


def _pollers_reads(simulator: Any, redis_url: str, share: float, triggerers: int = 2) -> tuple[int, float]:
    """Status reads of ``triggerers`` pollers (one per process, as one per triggerer) of one key, all
    watching the same four 10-second jobs, and the seconds they read for."""
    from airflow_provider_mediagen.client import MediaClient

    simulator.reset()
    simulator.configure(durations={"ddukddak.ai_image": 200})  # 10 s at this scale
    with MediaClient("ddukddak", KEYS["ddukddak"], base_url=simulator.urls["ddukddak"], time_scale=SCALE) as client:
        ids = [client.submit("ai_image", {"prompt": f"poll {n}", "model": "gemini-2.5-flash-image"}).id
               for n in range(4)]
    start_at = time.time() + 3
    pollers = [subprocess.Popen([sys.executable, "-c", POLLER, simulator.urls["ddukddak"], KEYS["ddukddak"], str(SCALE),
                                 redis_url, str(share), str(start_at), *ids],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(triggerers)]
    _finish(pollers)
    reads = sum(n for endpoint, codes in requests_of(simulator, "ddukddak").items()
                if endpoint.startswith("GET /ai/images") for n in codes.values())
    jobs = [j for j in simulator.jobs() if j["id"] in ids]
    ran = max(j["finished_at"] for j in jobs) - start_at  # the pollers read from start_at on
    return reads, ran


def test_read_share_bounds_the_pollers_of_all_triggerers_together(simulator: Any, redis: RedisServer) -> None:
    """Two triggerers' pollers at read_share 0.5: with the shared budget they read at most half of the
    key's budget together (no read_share / N by hand); without it, each reads half, so about all of it."""
    share, limit, window = 0.5, 30, client_window_ms(10, SCALE) / 1000
    shared_reads, shared_ran = _pollers_reads(simulator, redis.url, share)
    own_reads, own_ran = _pollers_reads(simulator, "", share)
    bound = lambda ran: share * limit * (ran / window + 1)  # noqa: E731 - the bound over a run of `ran` s
    assert shared_reads <= bound(shared_ran), (shared_reads, shared_ran, bound(shared_ran))
    assert own_reads > 1.5 * bound(own_ran), (own_reads, own_ran, bound(own_ran))
