"""FaceDub's SSE stream (JWT auth) and API-key management for FaceDub and Apex."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt

from airflow_provider_mediagen.simulator import SimulatorServer

from .helpers import APEX, FDB, bearer, facedub_files

STAGES = ["queued", "analyzing_motion", "generating_views", "rendering", "done"]


def read_events(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    with client.stream("GET", url, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                assert event == "status"
                events.append(json.loads(line.split(":", 1)[1]))
    return events


def test_stream_follows_stages_and_closes(client: httpx.Client, fdb: str, sim: SimulatorServer) -> None:
    sim.configure(time_scale=0.03)  # 2.7 s job, stages 0.27 s or more apart
    job_id = client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files(), data={"duration": "5"}).json()["job_id"]
    token = sim.facedub_jwt()
    events = read_events(client, f"{fdb}/jobs/{job_id}/stream?token={token}")
    stages = [e["stage"] for e in events]
    assert stages == sorted(set(stages), key=STAGES.index)  # in order, each once
    assert len(stages) >= 3 and stages[-1] == "done"
    assert events[-1]["status"] == "completed" and events[-1]["output_url"].startswith("http")
    assert all(e["id"] == job_id for e in events)
    assert sim.counters()["facedub"]["demo"]["requests"]["GET /jobs/{job_id}/stream"] == {"200": 1}


def test_stream_of_finished_job_sends_one_event(client: httpx.Client, fdb: str, sim: SimulatorServer) -> None:
    sim.configure(durations={"facedub.job": 0})
    job_id = client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files()).json()["job_id"]
    events = read_events(client, f"{fdb}/jobs/{job_id}/stream?token={sim.facedub_jwt()}")
    assert [e["status"] for e in events] == ["completed"]


def test_stream_auth(client: httpx.Client, fdb: str, sim: SimulatorServer) -> None:
    job_id = client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files()).json()["job_id"]
    url = f"{fdb}/jobs/{job_id}/stream"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=FDB).status_code == 401  # an API key is not a JWT
    assert client.get(url, params={"token": "garbage"}).status_code == 401
    expired = sim.facedub_jwt(ttl=-60)
    assert client.get(url, params={"token": expired}).status_code == 401
    forged = jwt.encode(
        {"sub": "usr_x", "exp": 9_999_999_999}, "not-the-simulator-secret-but-32-bytes-long", algorithm="HS256"
    )
    assert client.get(url, params={"token": forged}).status_code == 401
    other = sim.facedub_jwt("fdb_other")
    r = client.get(url, params={"token": other})
    assert r.status_code == 404 and list(r.json()) == ["detail"]
    claims = jwt.decode(sim.facedub_jwt(), options={"verify_signature": False})
    assert claims["sub"].startswith("usr_") and claims["exp"] > claims["iat"]


def test_facedub_key_lifecycle(client: httpx.Client, fdb: str) -> None:
    listed = client.get(f"{fdb}/api-keys", headers=FDB).json()
    assert len(listed) == 1 and set(listed[0]) == {"id", "name", "prefix", "created_at"}
    created = [client.post(f"{fdb}/api-keys", headers=FDB, json={"name": f"k{i}"}).json() for i in range(4)]
    sixth = client.post(f"{fdb}/api-keys", headers=FDB, json={"name": "too many"})
    assert sixth.status_code == 400 and "detail" in sixth.json()
    listed = client.get(f"{fdb}/api-keys", headers=FDB).json()
    assert len(listed) == 5 and all("key" not in k for k in listed)
    assert {k["prefix"] for k in listed} >= {c["prefix"] for c in created}
    new_key = created[0]["key"]
    assert client.get(f"{fdb}/usage", headers=bearer(new_key)).status_code == 200
    revoked = client.delete(f"{fdb}/api-keys/{created[0]['id']}", headers=FDB)
    assert revoked.status_code == 200 and revoked.json() == {"id": created[0]["id"], "revoked": True}
    assert client.get(f"{fdb}/usage", headers=bearer(new_key)).status_code == 401
    assert client.delete(f"{fdb}/api-keys/{created[0]['id']}", headers=FDB).status_code == 404
    assert client.post(f"{fdb}/api-keys", headers=FDB, json={"name": "again"}).status_code == 200
    assert client.post(f"{fdb}/api-keys", headers=FDB, json={}).status_code == 400


def test_apex_created_key_works_and_is_listed_by_prefix(client: httpx.Client, apex: str) -> None:
    created = client.post(f"{apex}/api/keys", headers=APEX, json={"name": "ci"}).json()["data"]
    assert client.get(f"{apex}/api/usage", headers=bearer(created["key"])).status_code == 200
    listed = client.get(f"{apex}/api/keys", headers=APEX).json()["data"]
    mine = next(k for k in listed if k["id"] == created["id"])
    assert mine["prefix"] == created["key"][:12] and "key" not in mine
    assert client.post(f"{apex}/api/keys", headers=APEX, json={"name": ""}).status_code == 400
