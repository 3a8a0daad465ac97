"""The trigger as the triggerer runs it: made from its serialized kwargs, ``run()`` iterated on one event
loop. A trigger re-created mid-job (a triggerer restart) finishes the same job with reads only; many
triggers share one poller that stays within the read budget; one bad job never stalls the others."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from typing import Any

import pytest

from airflow_provider_mediagen.client import MediaClient
from airflow_provider_mediagen.triggers import MediaJobTrigger
from airflow_provider_mediagen.triggers.pollers import pollers_of_this_loop

from .conftest import TIME_SCALE


def revive(trigger: MediaJobTrigger) -> MediaJobTrigger:
    """What the triggerer does: the classpath and kwargs from the DB, JSON round-tripped."""
    classpath, kwargs = trigger.serialize()
    kwargs = json.loads(json.dumps(kwargs))
    module, name = classpath.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)(**kwargs)


async def first_event(trigger: MediaJobTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("the trigger ended without an event")


def submit(simulator: Any, kind: str = "text2video", **request: Any) -> str:
    with MediaClient("apex", "sk_live_demo", base_url=simulator.urls["apex"], time_scale=TIME_SCALE) as apex:
        return apex.submit(kind, **(request or {"script": "restart me"})).id


def make_trigger(job_id: str, kind: str = "text2video", deadline: float | None = None) -> MediaJobTrigger:
    return MediaJobTrigger(conn_id="mediagen_apex_default", service="apex", kind=kind, job_id=job_id,
                           deadline=deadline or time.time() + 60, poll_interval=0.05)


def test_kwargs_hold_no_secret_and_survive_json() -> None:
    trigger = make_trigger("job-1")
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_mediagen.triggers.job.MediaJobTrigger"
    assert set(kwargs) == {"conn_id", "service", "kind", "job_id", "deadline", "timeout", "poll_interval",
                           "max_transient_failures", "progress_interval", "first_read_at"}
    assert "sk_live" not in json.dumps(kwargs)
    assert revive(trigger).serialize() == (classpath, kwargs)


async def test_trigger_recreated_mid_job_finishes_the_same_job(simulator: Any) -> None:
    job_id = submit(simulator)  # 120 s documented = 1.2 s here
    trigger = make_trigger(job_id)
    first = asyncio.ensure_future(first_event(trigger))
    await asyncio.sleep(0.3)
    assert not first.done()
    first.cancel()  # the triggerer stops: its trigger is cancelled mid-wait
    with pytest.raises(asyncio.CancelledError):
        await first
    event = await first_event(revive(trigger))
    assert event["status"] == "succeeded" and event["job_id"] == job_id and event["output_urls"]
    counters = simulator.counters()["apex"]["demo"]
    assert counters["jobs_created"] == 1
    assert counters["requests"]["POST /api/generate/text2video"] == {"200": 1}  # never a second POST
    assert set(counters["requests"]) == {"POST /api/generate/text2video", "GET /api/jobs"}


async def test_deadline_gives_a_timeout_event_naming_the_job(simulator: Any) -> None:
    job_id = submit(simulator, "commercial", product="p", platform="tv", duration=60, tone="funny")
    event = await first_event(make_trigger(job_id, "commercial", deadline=time.time() + 0.3))
    assert event["status"] == "timeout" and event["job_id"] == job_id
    assert job_id in event["message"]


async def test_unknown_job_is_an_error_event_and_does_not_stall_others(simulator: Any) -> None:
    good = submit(simulator, "image", prompt="fine")
    events = await asyncio.gather(first_event(make_trigger("no-such-job", "image")),
                                  first_event(make_trigger(good, "image")))
    assert events[0]["status"] == "error" and "404" in events[0]["message"]
    assert events[1]["status"] == "succeeded"


async def test_failed_job_is_reported_as_failed(simulator: Any) -> None:
    simulator.set_faults([{"service": "apex", "fault": "job_fail", "count": 1}])
    job_id = submit(simulator, "image", prompt="doomed")
    event = await first_event(make_trigger(job_id, "image"))
    assert event["status"] == "failed" and event["message"]
    assert simulator.counters()["apex"]["demo"]["credits_refunded"] == 10


async def test_200_waits_share_one_poller_within_the_read_budget(simulator: Any) -> None:
    """200 jobs waited on at once in one event loop, as mapped deferred tasks in one triggerer: no 429,
    and no more status reads than the documented 20 per 10 s (time-scaled) allow over the run."""
    from airflow_provider_mediagen.client import AsyncMediaClient

    simulator.configure(durations={"apex.image": 300})  # 3 s each here
    async with AsyncMediaClient("apex", "sk_live_demo", base_url=simulator.urls["apex"],
                                time_scale=TIME_SCALE) as apex:
        jobs = await asyncio.gather(*(apex.submit("image", prompt=f"job {i}") for i in range(200)))
    started = time.monotonic()
    triggers = [revive(make_trigger(job.id, "image", deadline=time.time() + 120)) for job in jobs]
    events = await asyncio.gather(*(first_event(t) for t in triggers))
    elapsed = time.monotonic() - started
    assert [e["status"] for e in events] == ["succeeded"] * 200
    reads = simulator.counters()["apex"]["demo"]["requests"]["GET /api/jobs"]
    assert set(reads) == {"200"}, reads  # no 429 at all
    window = 10 * TIME_SCALE
    allowed = 20 * (int(elapsed / window) + 2)
    print(f"200 waits: {reads['200']} status reads in {elapsed:.2f} s (allowed {allowed})")
    assert reads["200"] <= allowed, (reads, elapsed)
    pollers = [p for key, p in pollers_of_this_loop().items() if key == ("apex", "mediagen_apex_default")]
    assert pollers and max(p.stats.list_reads for p in pollers) > 0  # the list endpoint did the heavy lifting


async def test_pollers_of_many_connections_are_made_one_at_a_time(simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each new connection's lookup masks its secrets synchronously on the loop (Airflow's masker
    recompiles one regex of every secret so far), so triggers of many distinct connections starting
    together must make their pollers one after another, never all in one loop iteration."""
    from airflow_provider_mediagen.triggers import pollers

    conn_ids = [f"mediagen_apex_many_{i}" for i in range(8)]
    for conn_id in conn_ids:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
            "conn_type": "mediagen_apex", "password": "sk_live_demo",
            "host": simulator.urls["apex"], "extra": {"time_scale": TIME_SCALE}}))
    in_progress, most = 0, 0
    real_hook_for = pollers.hook_for

    def spying_hook_for(service: str, conn_id: str) -> Any:
        hook = real_hook_for(service, conn_id)
        real_asettings = hook.asettings

        async def asettings() -> Any:
            nonlocal in_progress, most
            in_progress += 1
            most = max(most, in_progress)
            try:
                return await real_asettings()
            finally:
                in_progress -= 1

        hook.asettings = asettings  # type: ignore[method-assign]
        return hook

    monkeypatch.setattr(pollers, "hook_for", spying_hook_for)
    job_ids = [submit(simulator, "image", prompt=f"conn {i}") for i in range(len(conn_ids))]
    triggers = [revive(MediaJobTrigger(conn_id=conn_id, service="apex", kind="image", job_id=job_id,
                                       deadline=time.time() + 60, poll_interval=0.05))
                for conn_id, job_id in zip(conn_ids, job_ids)]
    events = await asyncio.gather(*(first_event(t) for t in triggers))
    assert [e["status"] for e in events] == ["succeeded"] * len(conn_ids)
    assert most == 1, f"{most} connection lookups ran at once"
    made = {key for key in pollers_of_this_loop() if key[1] in conn_ids}
    assert made == {("apex", conn_id) for conn_id in conn_ids}


async def test_no_read_before_first_read_at_even_after_a_restart(simulator: Any) -> None:
    """The operator has just seen the job running: the trigger's first read waits for ``first_read_at``
    (kept in its kwargs, so a restarted triggerer waits too), then polls as usual."""
    job_id = submit(simulator)  # 1.2 s here
    first_read_at = time.time() + 0.6
    trigger = MediaJobTrigger(conn_id="mediagen_apex_default", service="apex", kind="text2video", job_id=job_id,
                              deadline=time.time() + 60, poll_interval=0.05, first_read_at=first_read_at)
    waiting = asyncio.ensure_future(first_event(revive(trigger)))
    await asyncio.sleep(0.3)
    waiting.cancel()  # a triggerer restart mid-wait
    with pytest.raises(asyncio.CancelledError):
        await waiting
    reads = simulator.counters()["apex"]["demo"]["requests"].get("GET /api/jobs", {})
    assert reads == {}, reads
    event = await first_event(revive(trigger))
    assert event["status"] == "succeeded" and event["job_id"] == job_id
    assert simulator.counters()["apex"]["demo"]["requests"]["GET /api/jobs"]["200"] >= 1


async def test_progress_says_the_service_could_not_be_reached(simulator: Any,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    """Before: "queued (121 s), no change", as if the status had been read (issue: first hour, item 11)."""
    job_id = submit(simulator)
    simulator.set_faults([{"service": "apex", "endpoint": "GET /api/jobs", "fault": "status", "status": 503}])
    trigger = MediaJobTrigger(conn_id="mediagen_apex_default", service="apex", kind="text2video", job_id=job_id,
                              deadline=time.time() + 2.5, poll_interval=0.05, progress_interval=0.5,
                              max_transient_failures=1000)
    event = await first_event(trigger)  # the trigger logs through structlog, to the captured stdout
    assert event["status"] == "timeout"
    lines = capfd.readouterr().out.splitlines()
    unreachable = [line for line in lines if "could not read its status for" in line]
    assert len(unreachable) >= 3 and "503" in unreachable[-1] and job_id in unreachable[-1]
    assert not any("no change" in line for line in lines)


async def test_a_missing_connection_or_a_rotated_key_names_the_job_and_the_connection(
        simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The error event of a trigger that lost its connection (deleted, or its key rotated while the job ran)
    says which job is left waiting, on which connection, and that the job may still be running."""
    job_id = submit(simulator)
    missing = MediaJobTrigger(conn_id="mediagen_apex_gone", service="apex", kind="text2video", job_id=job_id,
                              deadline=time.time() + 30, poll_interval=0.05)
    event = await first_event(revive(missing))
    assert event["status"] == "error" and event["job_id"] == job_id
    assert job_id in event["message"] and "'mediagen_apex_gone'" in event["message"]
    rotated = {"conn_type": "mediagen_apex", "password": "sk_live_rotated", "host": simulator.urls["apex"],
               "extra": {"time_scale": TIME_SCALE}}
    monkeypatch.setenv("AIRFLOW_CONN_MEDIAGEN_APEX_ROTATED", json.dumps(rotated))
    trigger = MediaJobTrigger(conn_id="mediagen_apex_rotated", service="apex", kind="text2video", job_id=job_id,
                              deadline=time.time() + 30, poll_interval=0.05)
    event = await first_event(revive(trigger))
    assert event["status"] == "error" and event["job_id"] == job_id
    assert job_id in event["message"] and "'mediagen_apex_rotated'" in event["message"], event["message"]
    assert "sk_live_rotated" not in json.dumps(event)
