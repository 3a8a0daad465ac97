"""Rate limits exactly as documented: N allowed per window, then 429 with the right headers.

Each test first stretches the time scale so a window lasts far longer than the test needs (windows
open at the first request of a bucket), which makes "N then 429" deterministic.
"""

from __future__ import annotations

import httpx

from airflow_provider_mediagen.simulator import SimulatorServer

from .helpers import APEX, DD, FDB, bearer, facedub_files


def test_ddukddak_30_per_10_seconds_all_endpoints(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    sim.configure(time_scale=3.0)  # window: 30 s
    for _ in range(5):  # 401s never consume a key's quota
        assert client.get(f"{dd}/auth", headers=bearer("dd_live_wrong")).status_code == 401
    for i in range(30):
        endpoint = f"{dd}/auth" if i % 2 else f"{dd}/ai/images/img_missing"
        assert client.get(endpoint, headers=DD).status_code in (200, 404)
    r = client.get(f"{dd}/auth", headers=DD)
    assert r.status_code == 429
    assert r.json() == {"error": r.json()["error"]} and r.json()["error"]
    assert float(r.headers["Retry-After"]) == 30.0  # "retry after 10 seconds", time-scaled x3
    # Another key has its own window.
    assert client.get(f"{dd}/auth", headers=bearer("dd_live_free")).status_code == 200


def test_ddukddak_window_reopens(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    sim.configure(time_scale=0.1)  # window: 1 s
    statuses = []
    for _ in range(200):
        statuses.append(client.get(f"{dd}/auth", headers=DD).status_code)
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429 and statuses.count(200) >= 30
    retry = float(client.get(f"{dd}/auth", headers=DD).headers.get("Retry-After", "0.5"))
    import time

    time.sleep(retry + 0.05)
    assert client.get(f"{dd}/auth", headers=DD).status_code == 200


def test_apex_generation_class_5_per_10_seconds(client: httpx.Client, apex: str, sim: SimulatorServer) -> None:
    sim.configure(time_scale=3.0)
    remaining = []
    for _ in range(5):
        r = client.post(f"{apex}/api/generate/image", headers=APEX, json={"prompt": "x"})
        assert r.status_code == 200
        assert r.headers["X-RateLimit-Limit"] == "5"
        remaining.append(int(r.headers["X-RateLimit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    r = client.post(f"{apex}/api/generate/voice", headers=APEX, json={"text": "x"})
    assert r.status_code == 429
    assert r.json() == {"error": "Too many requests", "code": "RATE_LIMITED"}
    assert r.headers["X-RateLimit-Remaining"] == "0" and r.headers["X-RateLimit-Limit"] == "5"
    assert 0 < float(r.headers["Retry-After"]) <= 30
    assert int(r.headers["X-RateLimit-Reset"]) > 0
    # Reads are another class with their own budget.
    read = client.get(f"{apex}/api/jobs", headers=APEX)
    assert read.status_code == 200 and read.headers["X-RateLimit-Limit"] == "20"


def test_apex_read_class_20_per_10_seconds(client: httpx.Client, apex: str, sim: SimulatorServer) -> None:
    sim.configure(time_scale=3.0)
    for i in range(20):
        r = client.get(f"{apex}/api/usage" if i % 2 else f"{apex}/api/jobs", headers=APEX)
        assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == str(19 - i)
    r = client.get(f"{apex}/api/keys", headers=APEX)
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_apex_headers_on_every_response(client: httpx.Client, apex: str) -> None:
    responses = [
        client.get(f"{apex}/api/jobs", headers=APEX),  # 200
        client.get(f"{apex}/api/jobs"),  # 401
        client.get(f"{apex}/api/jobs?id=missing", headers=APEX),  # 404
        client.post(f"{apex}/api/generate/image", headers=APEX, json={"prompt": ""}),  # 400
        client.get(f"{apex}/api/jobs", headers=bearer("sk_live_pro")),  # 403
        client.get(f"{apex}/api/nothing", headers=APEX),  # unknown
    ]
    for r in responses:
        for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            assert header in r.headers, (r.status_code, r.url)
    assert [r.status_code for r in responses] == [200, 401, 404, 400, 403, 404]
    assert "Retry-After" not in responses[0].headers


def test_facedub_other_endpoints_120_per_minute(client: httpx.Client, fdb: str, sim: SimulatorServer) -> None:
    sim.configure(time_scale=1.0)
    for _ in range(120):
        assert client.get(f"{fdb}/usage", headers=FDB).status_code == 200
    r = client.get(f"{fdb}/api-keys", headers=FDB)
    assert r.status_code == 429 and "detail" in r.json()
    assert 0 < float(r.headers["Retry-After"]) <= 60
    # GET /jobs* has its own 60/min budget.
    assert client.get(f"{fdb}/jobs", headers=FDB).status_code == 200


def test_facedub_get_jobs_60_per_minute(client: httpx.Client, fdb: str, sim: SimulatorServer) -> None:
    sim.configure(time_scale=1.0)
    for i in range(60):
        path = "/jobs" if i % 2 else "/jobs/unknown"
        assert client.get(f"{fdb}{path}", headers=FDB).status_code in (200, 404)
    r = client.get(f"{fdb}/jobs", headers=FDB)
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_facedub_post_jobs_10_per_minute(client: httpx.Client, fdb: str, sim: SimulatorServer) -> None:
    sim.configure(time_scale=1.0, durations={"facedub.job": 0})  # instant jobs: concurrency never binds
    for _ in range(10):
        assert client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files()).status_code == 200
    r = client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files())
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert "concurrency" not in r.json()["detail"].lower()


def test_facedub_third_concurrent_job_refused(client: httpx.Client, fdb: str, sim: SimulatorServer) -> None:
    sim.configure(time_scale=1.0)  # jobs take 90 s
    for _ in range(2):
        assert client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files()).status_code == 200
    third = client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files())
    assert third.status_code == 429
    assert "concurrency" in third.json()["detail"].lower()
    assert 0 < float(third.headers["Retry-After"]) <= 90
    # Another user is not affected.
    assert client.post(f"{fdb}/jobs", headers=bearer("fdb_other"), files=facedub_files()).status_code == 200
    counters = sim.counters()["facedub"]["demo"]
    assert counters["jobs_created"] == 2 and counters["requests"]["POST /jobs"] == {"200": 2, "429": 1}
