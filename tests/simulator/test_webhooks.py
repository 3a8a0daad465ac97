"""Webhook deliveries: documented payloads, retry schedules (time-scaled), SSRF rules, faults.

Timing assertions use only lower bounds that asyncio guarantees (a retry never comes before its
delay) plus ordering and generous upper bounds, never tight timing.
"""

from __future__ import annotations

import itertools
import logging
import socket
from typing import Any

import anyio._core._sockets as anyio_sockets
import httpx
import pytest

from airflow_provider_mediagen.simulator import SimulatorServer

from .conftest import Receiver
from .helpers import APEX, DD, wait_for


def gaps(arrivals: list) -> list[float]:  # type: ignore[type-arg]
    return [b.at - a.at for a, b in itertools.pairwise(arrivals)]


def test_ddukddak_template_image_webhook_retries_1_3_9(
    client: httpx.Client, dd: str, sim: SimulatorServer, receiver: Receiver
) -> None:
    sim.configure(time_scale=0.1)  # 0.1 s, 0.3 s, 0.9 s
    receiver.fail_first = 3
    r = client.post(
        f"{dd}/images",
        headers=DD,
        json={
            "template": "summer-sale-banner",
            "properties": [{"name": "title", "text": "Hi"}],
            "webhook_url": receiver.url,
        },
    )
    assert r.status_code == 201
    arrivals = receiver.wait(4)
    g1, g2, g3 = gaps(arrivals)
    assert g1 >= 0.1 and g2 >= 0.3 and g3 >= 0.9
    assert g1 < g2 < g3 < 10
    payload = arrivals[-1].body
    assert payload == {
        "uid": r.json()["uid"],
        "status": "completed",
        "image_url": r.json()["image_url"],
        "image_url_png": r.json()["image_url"],
        "template": "5b1e2c1a-7a64-4f0e-9d55-3c0b6a2f9e01",
        "template_name": "Summer Sale Banner",
    }
    assert all(a.body == payload for a in arrivals)
    counts = wait_for(lambda: (c := sim.counters()["ddukddak"]["demo"]["webhooks"])["attempted"] == 4 and c)
    assert counts == {"attempted": 4, "delivered": 1, "failed": 3, "withheld": 0}


def test_ddukddak_gives_up_after_three_retries(
    client: httpx.Client, dd: str, sim: SimulatorServer, receiver: Receiver
) -> None:
    receiver.fail_first = 100
    client.post(f"{dd}/images", headers=DD, json={"template": "quote-square", "webhook_url": receiver.url})
    receiver.wait(4)
    wait_for(lambda: sim.counters()["ddukddak"]["demo"]["webhooks"]["failed"] == 4)
    import time

    time.sleep(0.5)  # far longer than the scaled schedule (0.13 s): no fifth attempt comes
    assert len(receiver.arrivals) == 4


def test_ddukddak_ai_and_failed_payloads(
    client: httpx.Client, dd: str, sim: SimulatorServer, receiver: Receiver
) -> None:
    sim.set_faults([{"service": "ddukddak", "fault": "job_fail", "endpoint": "POST /ai/videos"}])
    sim.configure(durations={"ddukddak.ai_video": 30})
    image = client.post(
        f"{dd}/ai/images", headers=DD, json={"prompt": "p", "model": "m", "webhook_url": receiver.url}
    ).json()
    video = client.post(
        f"{dd}/ai/videos", headers=DD, json={"prompt": "p", "model": "m", "duration": "4", "webhook_url": receiver.url}
    ).json()
    bodies = {a.body["uid"]: a.body for a in receiver.wait(2)}
    assert bodies[image["uid"]]["status"] == "completed" and bodies[image["uid"]]["image_url"].startswith("http")
    assert bodies[image["uid"]]["image_url_png"] == bodies[image["uid"]]["image_url"]
    assert bodies[video["uid"]] == {"uid": video["uid"], "status": "failed", "error": "Generation failed"}
    polled = client.get(f"{dd}/ai/videos/{video['uid']}", headers=DD).json()
    assert polled["status"] == "failed" and polled["error"]
    assert sim.counters()["ddukddak"]["demo"]["credits_refunded"] == 1


def test_ddukddak_template_video_only_by_webhook(
    client: httpx.Client, dd: str, sim: SimulatorServer, receiver: Receiver
) -> None:
    sim.configure(durations={"ddukddak.template_video": 1})
    r = client.post(
        f"{dd}/videos",
        headers=DD,
        json={
            "template": "product-card",
            "properties": [{"name": "name", "text": "Shoe"}],
            "webhook_url": receiver.url,
        },
    )
    assert r.status_code == 202 and r.json()["video_url"] is None
    body = receiver.wait(1)[0].body
    assert body["uid"] == r.json()["uid"] and body["status"] == "completed" and body["video_url"].startswith("http")
    assert body["template_name"] == "Product Card"
    assert client.get(f"{dd}/videos/{body['uid']}", headers=DD).status_code == 404


def test_apex_webhook_retries_10_60_300(
    client: httpx.Client, apex: str, sim: SimulatorServer, receiver: Receiver
) -> None:
    # time scale 0.01: 0.1 s, 0.6 s, 3 s
    receiver.fail_first = 3
    assert client.post(f"{apex}/api/settings", headers=APEX, json={"webhookUrl": receiver.url}).status_code == 200
    job_id = client.post(
        f"{apex}/api/generate/image",
        headers=APEX,
        json={"prompt": "p", "width": 512, "height": 256, "model": "flux-2-pro"},
    ).json()["data"]["jobId"]
    arrivals = receiver.wait(4, timeout=30)
    g1, g2, g3 = gaps(arrivals)
    assert g1 >= 0.1 and g2 >= 0.6 and g3 >= 3.0
    assert g1 < g2 < g3 < 20
    event = arrivals[-1].body
    assert set(event) == {"event", "timestamp", "data"} and event["event"] == "job.completed"
    data = event["data"]
    assert set(data) == {"jobId", "type", "status", "outputUrl", "outputType", "metadata", "createdAt", "completedAt"}
    assert data["jobId"] == job_id and data["type"] == "image" and data["status"] == "completed"
    assert data["outputType"] == "image/png" and data["metadata"]["model"] == "flux-2-pro"
    assert data["metadata"]["width"] == 512 and data["metadata"]["height"] == 256 and "durationMs" in data["metadata"]
    assert event["timestamp"].endswith("Z") and data["completedAt"] == event["timestamp"]
    counts = wait_for(lambda: (c := sim.counters()["apex"]["demo"]["webhooks"])["attempted"] == 4 and c)
    assert counts == {"attempted": 4, "delivered": 1, "failed": 3, "withheld": 0}


def test_apex_job_failed_event(client: httpx.Client, apex: str, sim: SimulatorServer, receiver: Receiver) -> None:
    sim.set_faults([{"service": "apex", "fault": "job_fail"}])
    client.post(f"{apex}/api/settings", headers=APEX, json={"webhookUrl": receiver.url})
    job_id = client.post(f"{apex}/api/generate/video", headers=APEX, json={"script": "s"}).json()["data"]["jobId"]
    sim.configure()  # no change; just makes sure the control API is responsive meanwhile
    event = receiver.wait(1)[0].body
    assert event["event"] == "job.failed"
    assert event["data"] == {
        "jobId": job_id,
        "type": "video",
        "status": "failed",
        "error": "Generation failed",
        "creditsRefunded": 250,
        "createdAt": event["data"]["createdAt"],
        "failedAt": event["timestamp"],
    }


def test_apex_slow_receiver_counts_as_failure(
    client: httpx.Client, apex: str, sim: SimulatorServer, receiver: Receiver
) -> None:
    receiver.delay_first = 2.5  # beyond the (floored) 1 s answer deadline
    client.post(f"{apex}/api/settings", headers=APEX, json={"webhookUrl": receiver.url})
    client.post(f"{apex}/api/generate/image", headers=APEX, json={"prompt": "p"})
    arrivals = receiver.wait(2, timeout=30)
    assert arrivals[1].at - arrivals[0].at >= 0.1
    counts = wait_for(lambda: (c := sim.counters()["apex"]["demo"]["webhooks"])["delivered"] == 1 and c)
    assert counts["failed"] >= 1


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.example.com/apex", True),
        ("https://93.184.216.34/hook", True),
        ("http://hooks.example.com/apex", False),
        ("https://10.0.0.5/hook", False),
        ("https://192.168.1.1/hook", False),
        ("https://169.254.169.254/latest/meta-data", False),
        ("https://metadata.google.internal/computeMetadata", False),
        ("https://service.internal/hook", False),
        ("https://printer.local/hook", False),
        ("https://localhost/hook", False),
        ("https://127.0.0.1/hook", False),
        ("https://[::1]/hook", False),
        ("ftp://example.com/x", False),
    ],
)
def test_apex_ssrf_rules_without_loopback(
    client: httpx.Client, apex: str, sim: SimulatorServer, url: str, ok: bool
) -> None:
    sim.configure(allow_loopback_webhooks=False)
    r = client.post(f"{apex}/api/settings", headers=APEX, json={"webhookUrl": url})
    if ok:
        assert r.status_code == 200
    else:
        assert r.status_code == 400 and r.json()["code"] == "BAD_REQUEST" and "webhookUrl" in r.json()["error"]


def test_loopback_admitted_by_default_option(client: httpx.Client, apex: str, dd: str, sim: SimulatorServer) -> None:
    assert (
        client.post(f"{apex}/api/settings", headers=APEX, json={"webhookUrl": "http://127.0.0.1:9/hook"}).status_code
        == 200
    )
    assert (
        client.post(f"{apex}/api/settings", headers=APEX, json={"webhookUrl": "http://10.0.0.1/hook"}).status_code
        == 400
    )
    sim.configure(allow_loopback_webhooks=False)
    r = client.post(
        f"{dd}/images", headers=DD, json={"template": "quote-square", "webhook_url": "http://127.0.0.1:9/h"}
    )
    assert r.status_code == 400 and r.json()["error"].startswith("webhook_url")


def test_webhook_fail_fault_skips_an_attempt(
    client: httpx.Client, dd: str, sim: SimulatorServer, receiver: Receiver
) -> None:
    sim.set_faults([{"service": "ddukddak", "fault": "webhook_fail", "count": 1}])
    client.post(f"{dd}/images", headers=DD, json={"template": "quote-square", "webhook_url": receiver.url})
    receiver.wait(1)
    counts = wait_for(lambda: (c := sim.counters()["ddukddak"]["demo"]["webhooks"])["delivered"] == 1 and c)
    assert counts == {"attempted": 2, "delivered": 1, "failed": 1, "withheld": 0}
    assert len(receiver.arrivals) == 1


def test_webhook_duplicate_fault(client: httpx.Client, apex: str, sim: SimulatorServer, receiver: Receiver) -> None:
    sim.set_faults([{"service": "apex", "fault": "webhook_duplicate"}])
    client.post(f"{apex}/api/settings", headers=APEX, json={"webhookUrl": receiver.url})
    client.post(f"{apex}/api/generate/image", headers=APEX, json={"prompt": "p"})
    first, second = receiver.wait(2)
    assert first.body == second.body and first.body["event"] == "job.completed"


def test_webhook_out_of_order_fault(
    client: httpx.Client, dd: str, apex: str, sim: SimulatorServer, receiver: Receiver
) -> None:
    sim.set_faults(
        [{"service": "ddukddak", "fault": "webhook_out_of_order"}, {"service": "apex", "fault": "webhook_out_of_order"}]
    )
    uid = client.post(
        f"{dd}/images", headers=DD, json={"template": "quote-square", "webhook_url": receiver.url}
    ).json()["uid"]
    final, stale = receiver.wait(2)
    assert final.body["status"] == "completed" and stale.body == {"uid": uid, "status": "pending", "image_url": None}
    client.post(f"{apex}/api/settings", headers=APEX, json={"webhookUrl": receiver.url})
    client.post(f"{apex}/api/generate/image", headers=APEX, json={"prompt": "p"})
    arrivals = receiver.wait(4)
    assert arrivals[2].body["event"] == "job.completed"
    assert arrivals[3].body["event"] == "job.processing" and arrivals[3].body["data"]["status"] == "processing"


# --- nothing leaves this machine -----------------------------------------------------------------
def test_public_webhook_url_is_accepted_recorded_and_not_sent(
    client: httpx.Client, dd: str, apex: str, sim: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A URL that passes the documented rules is accepted as the real service would accept it, but the
    delivery is withheld: counted, logged once per host (without the path), never sent (the suite's network
    guard fails this test if the simulator so much as resolves the name)."""
    caplog.set_level(logging.WARNING, logger="airflow_provider_mediagen.simulator.webhooks")
    for n in range(2):
        r = client.post(f"{dd}/images", headers=DD, json={
            "template": "quote-square", "webhook_url": f"https://hooks.withheld-{sim.port}.example/in/secret{n}"})
        assert r.status_code == 201
    r = client.post(f"{apex}/api/settings", headers=APEX, json={"webhookUrl": "https://receiver.example.org/apex"})
    assert r.status_code == 200, r.text
    r = client.post(f"{apex}/api/generate/image", headers=APEX, json={"prompt": "a cat", "width": 512, "height": 512})
    assert r.status_code == 200
    dd_hooks = wait_for(lambda: (c := sim.counters()["ddukddak"]["demo"]["webhooks"])["withheld"] == 2 and c)
    apex_hooks = wait_for(lambda: (c := sim.counters()["apex"]["demo"]["webhooks"])["withheld"] == 1 and c)
    assert dd_hooks == {"attempted": 0, "delivered": 0, "failed": 0, "withheld": 2}
    assert apex_hooks == {"attempted": 0, "delivered": 0, "failed": 0, "withheld": 1}
    lines = [rec.getMessage() for rec in caplog.records if "withheld" in rec.getMessage()]
    assert sum(f"hooks.withheld-{sim.port}.example" in line for line in lines) == 1
    assert sum("receiver.example.org" in line for line in lines) == 1
    assert not any("secret" in line for line in lines)


def test_loopback_receivers_still_get_deliveries_with_the_switch_off(
    client: httpx.Client, dd: str, sim: SimulatorServer, receiver: Receiver
) -> None:
    assert sim.configure()["deliver_public_webhooks"] is False
    r = client.post(f"{dd}/images", headers=DD, json={"template": "quote-square", "webhook_url": receiver.url})
    assert r.status_code == 201
    receiver.wait(1)
    counts = wait_for(lambda: (c := sim.counters()["ddukddak"]["demo"]["webhooks"])["delivered"] == 1 and c)
    assert counts["withheld"] == 0


def test_deliver_public_webhooks_really_sends(
    client: httpx.Client, dd: str, sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The opt-in: a delivery to a public name really goes out. A patched resolver maps the name to a raw
    TCP listener on loopback (so nothing leaves), which records the TLS ClientHello the sender opens with;
    it carries the public name (SNI). The handshake then fails, so the attempts count as failed."""
    public = "catch.hooks.example.com"
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    # the resolver the simulator's HTTP client asks (httpcore -> anyio; below it the event loop resolves,
    # in libuv when uvicorn runs on uvloop, so socket.getaddrinfo is not on the path)
    real = anyio_sockets.getaddrinfo

    async def resolver(host: Any, port: Any, **kwargs: Any) -> Any:
        named = host.decode() if isinstance(host, bytes) else host
        return await real("127.0.0.1" if named == public else host, port, **kwargs)

    monkeypatch.setattr(anyio_sockets, "getaddrinfo", resolver)
    assert sim.configure(deliver_public_webhooks=True)["deliver_public_webhooks"] is True
    url = f"https://{public}:{listener.getsockname()[1]}/hook"
    with listener:
        r = client.post(f"{dd}/images", headers=DD, json={"template": "quote-square", "webhook_url": url})
        assert r.status_code == 201
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(10)
            hello = conn.recv(4096)
    assert hello[:1] == b"\x16" and public.encode() in hello  # a TLS handshake record naming the host
    # the retries run out (refused) while the patched resolver is still in place
    wait_for(lambda: client.get(f"{sim.base_url}/_sim/memory").json()["webhook_tasks"] == 0)
    counts = sim.counters()["ddukddak"]["demo"]["webhooks"]
    assert counts == {"attempted": 4, "delivered": 0, "failed": 4, "withheld": 0}


def test_the_switch_is_a_cli_flag_and_off_by_default() -> None:
    from airflow_provider_mediagen.simulator.cli import build_parser, load_config

    assert load_config(build_parser().parse_args([])).deliver_public_webhooks is False
    assert load_config(build_parser().parse_args(["--deliver-public-webhooks"])).deliver_public_webhooks is True
