"""The triggerer's shared pollers over time (issue 30): a poller nothing waits on is released (its client
closed, the registry without it) and the next wait makes a new one; a key rotated while jobs wait is
picked up without a restart (the service refuses the old key, the poller reads the connection again and
carries on with the new one). Real simulator over HTTP; no timing assertions."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_mediagen.client import MediaClient
from airflow_provider_mediagen.client import poller as poller_module
from airflow_provider_mediagen.triggers.pollers import pollers_of_this_loop, shared_poller

from .conftest import TIME_SCALE


def _connect(monkeypatch: pytest.MonkeyPatch, conn_id: str, service: str, key: str, base_url: str) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
        "conn_type": f"mediagen_{service}", "password": key, "host": base_url, "extra": {"time_scale": TIME_SCALE}}))


async def test_an_idle_poller_is_released_and_the_next_wait_makes_a_new_one(
        simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(poller_module, "IDLE_RELEASE", 0.3)
    _connect(monkeypatch, "mediagen_apex_idle", "apex", "sk_live_demo", simulator.urls["apex"])
    with MediaClient("apex", "sk_live_demo", base_url=simulator.urls["apex"], time_scale=TIME_SCALE) as client:
        job = client.submit("image", {"prompt": "released when idle"})
    poller = await shared_poller("apex", "mediagen_apex_idle")
    done = await poller.wait("image", job.id, deadline=time.time() + 60, poll_interval=0.05)
    assert done is not None and done.terminal
    assert pollers_of_this_loop()[("apex", "mediagen_apex_idle")] is poller
    for _ in range(100):  # released about IDLE_RELEASE after its last wait ended
        if poller.released:
            break
        await asyncio.sleep(0.05)
    assert poller.released and poller.client.is_closed
    assert ("apex", "mediagen_apex_idle") not in pollers_of_this_loop()
    with pytest.raises(poller_module.PollerReleasedError):
        await poller.wait("image", job.id, deadline=time.time() + 1, poll_interval=0.05)
    again = await shared_poller("apex", "mediagen_apex_idle")
    assert again is not poller and not again.released
    assert (await again.wait("image", job.id, deadline=time.time() + 60, poll_interval=0.05)).terminal


async def test_a_key_rotated_while_jobs_wait_is_picked_up_without_a_restart(
        simulator: Any, monkeypatch: pytest.MonkeyPatch, sample_photo: Path, sample_video: Path) -> None:
    simulator.add_account(service="facedub", key="fdb_rotate_old", plan="agency", name="rotating")
    base = simulator.urls["facedub"]
    _connect(monkeypatch, "mediagen_facedub_rotating", "facedub", "fdb_rotate_old", base)
    with MediaClient("facedub", "fdb_rotate_old", base_url=base, time_scale=TIME_SCALE) as client:
        job = client.submit("video", character_photo=str(sample_photo), reference_video=str(sample_video))
    poller = await shared_poller("facedub", "mediagen_facedub_rotating")
    first_client = poller.client
    waiting = asyncio.ensure_future(poller.wait("video", job.id, deadline=time.time() + 120, poll_interval=0.05))
    await asyncio.sleep(0.2)
    assert not waiting.done()

    # The rotation, as an operator does it: a new key, the connection updated, the old key revoked.
    async with httpx.AsyncClient(base_url=base) as http:
        old = {"Authorization": "Bearer fdb_rotate_old"}
        new_key = (await http.post("/api-keys", json={"name": "rotated"}, headers=old)).json()["key"]
        _connect(monkeypatch, "mediagen_facedub_rotating", "facedub", new_key, base)
        old_id = next(k["id"] for k in (await http.get("/api-keys", headers=old)).json() if k["name"] != "rotated")
        assert (await http.delete(f"/api-keys/{old_id}", headers=old)).status_code == 200

    done = await asyncio.wait_for(waiting, timeout=120)
    assert done is not None and done.terminal and done.status.value == "succeeded"
    assert poller.client is not first_client and first_client.is_closed  # the same poller, a new key
    refused = simulator.counters()["facedub"].get("anonymous", {}).get("requests", {})
    assert any(counts.get("401") for counts in refused.values()), refused  # the old key was refused first


async def test_a_new_base_url_is_picked_up_by_the_next_wait_without_a_restart(
        simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection is pointed elsewhere (here: a proxy in front of the same simulator) while its poller
    lives: the next wait has the poller read the connection again, and from then on it reads through the
    new URL, the old client closed. Before, the poller kept the URL it was made with until released."""
    from airflow_provider_mediagen.demo.balancer import RoundRobinBalancer

    monkeypatch.setattr(poller_module, "REFRESH_EVERY", 0.0)
    _connect(monkeypatch, "mediagen_apex_moving", "apex", "sk_live_demo", simulator.urls["apex"])
    with MediaClient("apex", "sk_live_demo", base_url=simulator.urls["apex"], time_scale=TIME_SCALE) as client:
        first, second = (client.submit("image", {"prompt": f"moving {i}"}) for i in range(2))
    poller = await shared_poller("apex", "mediagen_apex_moving")
    first_client = poller.client
    assert (await poller.wait("image", first.id, deadline=time.time() + 60, poll_interval=0.05)).terminal
    with RoundRobinBalancer([simulator.base_url]) as proxy:
        _connect(monkeypatch, "mediagen_apex_moving", "apex", "sk_live_demo", proxy.url + "/apex")
        assert await shared_poller("apex", "mediagen_apex_moving") is poller  # the same poller, asked to refresh
        done = await poller.wait("image", second.id, deadline=time.time() + 60, poll_interval=0.05)
        assert done is not None and done.status.value == "succeeded"
        assert poller.client is not first_client and first_client.is_closed
        assert poller.client.base_url == proxy.url + "/apex"
        assert sum(proxy.counts.values()) > 0, "no read went through the new base URL"
