"""A webhook delivery is a wake-up, not a verdict, for kinds the poller can read itself.

Everything is real and on loopback: the simulator (with its ``webhook_forge`` fault, which POSTs a
forged ``completed`` delivery with the right URL token before the real one), the receiver app served
by uvicorn over HTTP with a SQLite delivery store, and the shared :class:`StatusPoller` reading the
receiver's ``/states`` through :class:`DeliveryFeed`. The forged delivery is recorded by the receiver
(the token was right), so only the poller's refusal to take it as a verdict keeps it from finishing
the job.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_mediagen.client import AsyncMediaClient, MediaClient
from airflow_provider_mediagen.client.poller import StatusPoller
from airflow_provider_mediagen.hooks.connection import ConnectionSettings
from airflow_provider_mediagen.webhooks.feed import DeliveryFeed
from airflow_provider_mediagen.webhooks.urls import receiver_url, states_url

from benchmarks.receiver import ServedReceiver, free_port

from .conftest import KEYS, TIME_SCALE

SECRET = "whsec-trust-5d1e9b"


@pytest.fixture(scope="module")
def receiver(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedReceiver]:
    """The receiver app mounted where the plugin mounts it, with Airflow connections handed in directly and a
    SQLite file as the delivery store, served on loopback."""
    port = free_port()
    extra = {"webhook_secret": SECRET, "webhook_base_url": f"http://127.0.0.1:{port}", "time_scale": TIME_SCALE}
    connections = {
        f"trust_{service}": {"conn_type": f"mediagen_{service}", "password": KEYS[service],
                             "host": simulator.urls[service], "extra": extra}
        for service in ("apex", "ddukddak")
    }
    with ServedReceiver(port, connections, Path(tmp_path_factory.mktemp("deliveries")) / "store.db") as served:
        yield served


@pytest.fixture(autouse=True)
def _no_deliveries(receiver: ServedReceiver) -> None:
    """The simulator's job ids repeat after each reset (they come from its seed): start every test with
    an empty delivery store, so one test's forgery is not another's."""
    from airflow_provider_mediagen.webhooks.store import DELIVERIES

    DELIVERIES.create(bind=receiver.engine, checkfirst=True)
    with receiver.engine.begin() as db:
        db.execute(DELIVERIES.delete())


def _wait_for(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def _real_outputs(simulator: Any, job_id: str) -> tuple[str, list[str]]:
    [job] = [j for j in simulator.jobs() if j["id"] == job_id]
    return job["status"], [o["url_path"] for o in job["outputs"]]


async def _wait(settings: ConnectionSettings, conn_id: str, kind: str, job_id: str,
                poll_interval: float) -> tuple[Any, StatusPoller]:
    feed_url = states_url(settings, conn_id)
    assert feed_url is not None
    feed = DeliveryFeed(feed_url, interval=0.05)
    async with AsyncMediaClient(settings.service, settings.api_key.get(), base_url=settings.base_url,
                                time_scale=TIME_SCALE) as client:
        poller = StatusPoller(client, feed=feed)
        try:
            job = await poller.wait(kind, job_id, deadline=time.time() + 60, poll_interval=poll_interval)
        finally:
            await feed.aclose()
    return job, poller


async def test_forged_completion_of_a_pollable_job_waits_for_the_service(simulator: Any, receiver: ServedReceiver) -> None:
    """The forged ``completed`` (attacker's output URL) is in the receiver before the wait starts and the
    job is still running at the service: the poller reads the job at once instead of finishing it, and
    the wait ends only when the service itself says completed, with the service's own output."""
    conn_id = "trust_apex"
    settings = receiver.settings("apex", conn_id)
    with MediaClient("apex", KEYS["apex"], base_url=simulator.urls["apex"], time_scale=TIME_SCALE) as apex:
        apex.call("set_webhook", {"webhook_url": receiver_url(settings, conn_id)})
        simulator.set_faults([{"service": "apex", "fault": "webhook_forge"}])
        submitted = apex.submit("video", script="the real one")
    forged = _wait_for(lambda: receiver.recorded("apex", conn_id, submitted.id))
    assert forged[0]["status"] == "succeeded" and "/_sim/attacker/" in forged[0]["output_urls"][0], forged
    assert _real_outputs(simulator, submitted.id)[0] != "completed"  # the forgery came first

    job, poller = await _wait(settings, conn_id, "video", submitted.id, poll_interval=0.2)

    status, paths = _real_outputs(simulator, submitted.id)
    assert status == "completed" and job.succeeded, (status, job)
    assert [httpx.URL(u).path for u in job.output_urls] == paths, job.output_urls
    assert not any("/_sim/attacker/" in u for u in job.output_urls)
    assert poller.stats.confirmations == 1, poller.stats  # woken once by the claim, not once per feed read
    counters = simulator.counters()
    assert counters["apex"]["demo"]["webhooks_forged"] == 1 and simulator.attacker_hits() == 0


async def test_delivery_wakes_a_pollable_wait_for_one_confirming_read(simulator: Any, receiver: ServedReceiver) -> None:
    """An honest delivery still ends a wait whose polling is set far above the job's duration: it makes
    the job due for one read, and that read (the service's answer) finishes it."""
    conn_id = "trust_apex"
    settings = receiver.settings("apex", conn_id)
    with MediaClient("apex", KEYS["apex"], base_url=simulator.urls["apex"], time_scale=TIME_SCALE) as apex:
        apex.call("set_webhook", {"webhook_url": receiver_url(settings, conn_id)})
        submitted = apex.submit("video", script="honest")

    started = time.monotonic()
    job, poller = await _wait(settings, conn_id, "video", submitted.id, poll_interval=3600)

    assert job.succeeded and time.monotonic() - started < 30
    assert [httpx.URL(u).path for u in job.output_urls] == _real_outputs(simulator, submitted.id)[1]
    assert poller.stats.confirmations == 1
    assert poller.stats.list_reads + poller.stats.single_reads == 2, poller.stats  # the first read, the confirming one


async def test_webhook_only_kind_still_finishes_from_its_delivery(simulator: Any, receiver: ServedReceiver) -> None:
    """Ddukddak template videos have no status endpoint: the delivery is all there is, so it finishes the
    wait, and the poller never reads the service."""
    conn_id = "trust_ddukddak"
    settings = receiver.settings("ddukddak", conn_id)
    with MediaClient("ddukddak", KEYS["ddukddak"], base_url=simulator.urls["ddukddak"], time_scale=TIME_SCALE) as dd:
        submitted = dd.submit("template_video", template="summer-sale-banner",
                              properties=[{"name": "title", "text": "Hi"}],
                              webhook_url=receiver_url(settings, conn_id))
    assert not submitted.terminal

    job, poller = await _wait(settings, conn_id, "template_video", submitted.id, poll_interval=3600)

    status, paths = _real_outputs(simulator, submitted.id)
    assert status == "completed" and job.succeeded
    assert [httpx.URL(u).path for u in job.output_urls] == paths
    assert poller.stats.list_reads + poller.stats.single_reads == 0 and poller.stats.confirmations == 0
