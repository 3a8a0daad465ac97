"""Fault injection: each kind behaves as described, and the same seed gives the same sequence."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from airflow_provider_mediagen.simulator import SimulatorServer

from .helpers import APEX, DD, FDB, bearer, facedub_files, wait_for


def statuses(client: httpx.Client, url: str, headers: dict[str, str], n: int) -> list[int]:
    return [client.get(url, headers=headers).status_code for _ in range(n)]


def test_same_seed_same_fault_sequence(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    sim.configure(time_scale=0.0001)  # keep the 30 / 10 s limit out of the way
    rules: list[dict[str, Any]] = [
        {"service": "ddukddak", "endpoint": "GET /auth", "fault": "status", "status": 500, "probability": 0.5}
    ]
    sim.set_faults(rules, seed=123)
    first = statuses(client, f"{dd}/auth", DD, 40)
    sim.set_faults(rules, seed=123)
    second = statuses(client, f"{dd}/auth", DD, 40)
    assert first == second
    assert 5 < first.count(500) < 35
    sim.set_faults(rules, seed=124)
    assert statuses(client, f"{dd}/auth", DD, 40) != first
    # Traffic that matches no rule does not shift the sequence.
    sim.set_faults(rules, seed=123)
    mixed = []
    for _ in range(40):
        client.get(f"{dd}/ai/images/img_x", headers=DD)
        mixed.append(client.get(f"{dd}/auth", headers=DD).status_code)
    assert mixed == first


def test_seed_from_config_after_reset(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    rules = [{"service": "ddukddak", "fault": "status", "status": 503, "probability": 0.3}]
    sim.configure(time_scale=0.0001)
    sim.set_faults(rules)
    first = statuses(client, f"{dd}/auth", DD, 30)
    sim.reset()
    sim.configure(time_scale=0.0001)
    sim.set_faults(rules)
    assert statuses(client, f"{dd}/auth", DD, 30) == first


def test_status_fault_shapes_and_count(client: httpx.Client, apex: str, fdb: str, sim: SimulatorServer) -> None:
    sim.set_faults(
        [
            {
                "service": "apex",
                "endpoint": "GET /api/jobs",
                "fault": "status",
                "status": 503,
                "retry_after": 2,
                "count": 2,
            },
            {"service": "facedub", "fault": "status", "status": 429},
        ]
    )
    first = client.get(f"{apex}/api/jobs?id=abc", headers=APEX)
    assert first.status_code == 503 and first.json() == {"error": "Service unavailable", "code": "SERVICE_UNAVAILABLE"}
    assert first.headers["Retry-After"] == "2" and "X-RateLimit-Remaining" in first.headers
    assert client.get(f"{apex}/api/jobs", headers=APEX).status_code == 503
    assert client.get(f"{apex}/api/jobs", headers=APEX).status_code == 200
    limited = client.get(f"{fdb}/usage", headers=FDB)
    assert limited.status_code == 429 and list(limited.json()) == ["detail"]
    assert float(limited.headers["Retry-After"]) == pytest.approx(0.6)  # 60 s scaled by 0.01
    described = client.get(f"{sim.base_url}/_sim/faults").json()
    assert described[0]["fired"] == 2 and described[0]["remaining"] == 0


def test_account_specific_rule(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    sim.set_faults([{"service": "ddukddak", "account": "free", "fault": "status", "status": 500}])
    assert client.get(f"{dd}/auth", headers=DD).status_code == 200
    assert client.get(f"{dd}/auth", headers=bearer("dd_live_free")).status_code == 500
    client.delete(f"{sim.base_url}/_sim/faults")
    assert client.get(f"{dd}/auth", headers=bearer("dd_live_free")).status_code == 200


def test_drop_closes_connection(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    sim.set_faults([{"service": "ddukddak", "fault": "drop", "count": 1}])
    with pytest.raises(httpx.TransportError):
        client.get(f"{dd}/auth", headers=DD)
    assert client.get(f"{dd}/auth", headers=DD).status_code == 200
    assert sim.counters()["ddukddak"]["demo"]["requests"]["GET /auth"] == {"0": 1, "200": 1}


def test_malformed_json(client: httpx.Client, apex: str, sim: SimulatorServer) -> None:
    sim.set_faults([{"service": "apex", "endpoint": "POST /api/generate/image", "fault": "malformed", "count": 1}])
    r = client.post(f"{apex}/api/generate/image", headers=APEX, json={"prompt": "x"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    with pytest.raises(ValueError):
        r.json()


def test_slow_response(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    sim.set_faults([{"service": "ddukddak", "fault": "slow", "delay": 0.3, "count": 1}])
    start = time.monotonic()
    assert client.get(f"{dd}/auth", headers=DD).status_code == 200
    assert time.monotonic() - start >= 0.3


def test_job_fail_facedub(client: httpx.Client, fdb: str, sim: SimulatorServer) -> None:
    sim.set_faults([{"service": "facedub", "fault": "job_fail", "count": 1}])
    failing = client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files(), data={"duration": "10"}).json()["job_id"]
    fine = client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files()).json()["job_id"]
    job = wait_for(lambda: (j := client.get(f"{fdb}/jobs/{failing}", headers=FDB).json())["status"] == "failed" and j)
    assert job["stage"] == "failed" and job["error"] and job["output_url"] is None
    wait_for(lambda: client.get(f"{fdb}/jobs/{fine}", headers=FDB).json()["status"] == "completed")
    assert client.get(f"{fdb}/usage", headers=FDB).json()["credits_used"] == 1  # the failed 2 were refunded
    assert sim.counters()["facedub"]["demo"]["credits_refunded"] == 2


def test_invalid_rules_refused(client: httpx.Client, sim: SimulatorServer) -> None:
    r = client.post(f"{sim.base_url}/_sim/faults", json=[{"service": "apex", "fault": "explode"}])
    assert r.status_code == 400


def test_slow_request_is_handled_even_when_its_client_is_gone(apex: str, sim: SimulatorServer) -> None:
    """A server that has received a request handles it even if the client hangs up while it waits: the job
    is created and charged, and only the answer is lost (what a killed worker leaves behind)."""
    import json
    import socket
    from urllib.parse import urlsplit

    sim.set_faults([{"service": "apex", "fault": "slow", "delay": 0.5, "count": 1,
                     "endpoint": "POST /api/generate/image"}])
    url = urlsplit(apex)
    body = json.dumps({"prompt": "a cat", "width": 512, "height": 512}).encode()
    head = (f"POST {url.path}/api/generate/image HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: {APEX['Authorization']}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port)) as conn:
        conn.sendall(head + body)
        time.sleep(0.1)  # received, now held
    # the client is gone; the held request is still handled
    created = wait_for(lambda: (c := sim.counters()["apex"].get("demo", {})).get("jobs_created", 0) == 1 and c)
    assert created["requests"]["POST /api/generate/image"] == {"200": 1}
    assert created["credits_charged"] > 0
