"""The key never shows (errors, reprs, DEBUG logs); a burst stays within the documented limits; the client
package never imports Airflow."""

from __future__ import annotations

import asyncio
import logging
import pickle
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from airflow_provider_mediagen.client import MediaClient, MediaGenError

from ..conftest import start_simulator
from .test_endpoints import simulator_jwt
from .test_errors_and_retries import set_faults

SECRET_KEY = "sk_live_" + "s3cr3t-do-not-print-0123456789"


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of the HTTP stack and of this package at DEBUG, even when another suite in the same
    process (Airflow's logging setup) stopped those loggers from propagating."""
    names = ("httpx", "httpcore", "airflow_provider_mediagen")
    loggers = [logging.getLogger(n) for n in names]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    yield caplog
    for lg, (level, propagate) in zip(loggers, saved):
        lg.removeHandler(caplog.handler)
        lg.setLevel(level)
        lg.propagate = propagate


def test_key_never_in_errors_reprs_or_debug_logs(simulator: Any, debug_logs: pytest.LogCaptureFixture) -> None:
    caplog = debug_logs
    texts: list[str] = []
    with MediaClient("apex", SECRET_KEY, base_url=simulator.urls["apex"], max_attempts=2) as client:
        texts += [repr(client), str(client.__dict__), repr(client._http.headers), repr(client._auth)]
        with pytest.raises(MediaGenError) as caught:
            client.usage()  # 401: this key is unknown to the simulator
        texts += [str(caught.value), repr(caught.value), str(pickle.loads(pickle.dumps(caught.value)).__dict__)]
        set_faults(simulator, {"service": "apex", "fault": "status", "status": 503, "retry_after": 0.01})
        with pytest.raises(MediaGenError) as caught:
            client.list_jobs()
        texts.append(str(caught.value))
    texts += [record.getMessage() for record in caught_records(caplog)]
    assert any("HTTP Request" in t for t in texts), "httpx's own DEBUG/INFO lines were captured"
    leaked = [t for t in texts if SECRET_KEY in t]
    assert not leaked


def caught_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return list(caplog.records)


def test_sse_token_is_masked_in_logs(make_client: Any, simulator: Any, sample_photo: Any, sample_video: Any,
                                     debug_logs: pytest.LogCaptureFixture) -> None:
    caplog = debug_logs
    fd = make_client("facedub")
    job = fd.submit("video", character_photo=sample_photo, reference_video=sample_video, duration=1)
    token = simulator_jwt(simulator)
    assert list(fd.stream_job(job.id, token))[-1].terminal
    assert any("/stream" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if token in r.getMessage()]


@pytest.fixture(scope="module")
def slow_simulator() -> Any:
    """Windows of 1 s (time scale 0.1): long enough that loopback jitter cannot blur them."""
    yield from start_simulator(0.1)


def test_burst_of_100_calls_provokes_no_429(slow_simulator: Any) -> None:
    slow_simulator.reset()
    with MediaClient("ddukddak", "dd_live_demo", base_url=slow_simulator.urls["ddukddak"], time_scale=0.1) as dd:
        for _ in range(100):
            dd.check()
    requests = slow_simulator.counters()["ddukddak"]["demo"]["requests"]
    assert requests["GET /auth"] == {"200": 100}


async def test_concurrent_async_burst_across_classes_provokes_no_429(slow_simulator: Any) -> None:
    """100 calls at once from the async client: generation (5/window) and reads (20/window) are paced
    separately, as the Apex docs count them."""
    from airflow_provider_mediagen.client import AsyncMediaClient

    slow_simulator.reset()
    async with AsyncMediaClient("apex", "sk_live_demo", base_url=slow_simulator.urls["apex"],
                                time_scale=0.1) as apex:
        calls = [apex.submit("image", prompt=f"burst {i}") for i in range(20)]
        calls += [apex.usage() for _ in range(80)]
        await asyncio.gather(*calls)
    requests = slow_simulator.counters()["apex"]["demo"]["requests"]
    assert requests["POST /api/generate/image"] == {"200": 20}
    assert requests["GET /api/usage"] == {"200": 80}


def test_client_package_does_not_import_airflow() -> None:
    code = ("import sys, airflow_provider_mediagen.client, airflow_provider_mediagen.catalog, "
            "airflow_provider_mediagen.client.poller; "
            "bad = [m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_user_agent_names_the_package(simulator: Any) -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["User-Agent"])
        return httpx.Response(200, json={"authenticated": True, "user_id": "u"})

    # A mock transport here only captures the outgoing header; the simulator does not echo it.
    with MediaClient("ddukddak", "dd_live_demo", transport=httpx.MockTransport(record)) as client:
        client.check()
    assert seen and seen[0].startswith("airflow-provider-mediagen/")
