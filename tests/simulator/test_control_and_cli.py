"""The control API, the config file, ``create_app`` and the ``mediagen sim`` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from airflow_provider_mediagen.simulator import SimulatorConfig, SimulatorServer, create_app, main

from .helpers import APEX, DD, FDB, bearer, facedub_files, wait_for


def test_counters_use_documented_templates(
    client: httpx.Client, dd: str, apex: str, fdb: str, sim: SimulatorServer
) -> None:
    uid = client.post(f"{dd}/ai/images", headers=DD, json={"prompt": "p", "model": "m"}).json()["uid"]
    client.get(f"{dd}/ai/images/{uid}", headers=DD)
    client.get(f"{dd}/ai/videos/vid_missing", headers=DD)
    job_id = client.post(f"{apex}/api/generate/image", headers=APEX, json={"prompt": "p"}).json()["data"]["jobId"]
    client.get(f"{apex}/api/jobs?id={job_id}", headers=APEX)
    client.get(f"{apex}/api/jobs", headers=APEX)
    fjob = client.post(f"{fdb}/jobs", headers=FDB, files=facedub_files()).json()["job_id"]
    client.get(f"{fdb}/jobs/{fjob}", headers=FDB)
    key = client.post(f"{fdb}/api-keys", headers=FDB, json={"name": "x"}).json()
    client.delete(f"{fdb}/api-keys/{key['id']}", headers=FDB)
    counters = sim.counters()
    assert counters["ddukddak"]["demo"]["requests"] == {
        "POST /ai/images": {"202": 1},
        "GET /ai/images/:uid": {"200": 1},
        "GET /ai/videos/:uid": {"404": 1},
    }
    assert counters["apex"]["demo"]["requests"] == {"POST /api/generate/image": {"200": 1}, "GET /api/jobs": {"200": 2}}
    assert counters["facedub"]["demo"]["requests"] == {
        "POST /jobs": {"200": 1},
        "GET /jobs/{job_id}": {"200": 1},
        "POST /api-keys": {"200": 1},
        "DELETE /api-keys/{key_id}": {"200": 1},
    }
    entry = counters["facedub"]["demo"]
    assert entry["jobs_created"] == 1 and entry["credits_charged"] == 1
    assert entry["webhooks"] == {"attempted": 0, "delivered": 0, "failed": 0, "withheld": 0}


def test_reset_restores_everything(client: httpx.Client, apex: str, fdb: str, sim: SimulatorServer) -> None:
    client.post(
        f"{apex}/api/generate/commercial",
        headers=APEX,
        json={"product": "p", "platform": "tv", "duration": 30, "tone": "funny"},
    )
    client.post(f"{apex}/api/settings", headers=APEX, json={"webhookUrl": "https://hooks.example.com/x"})
    created = client.post(f"{fdb}/api-keys", headers=FDB, json={"name": "temp"}).json()["key"]
    sim.add_account(service="apex", key="sk_live_runtime", plan="enterprise", name="runtime")
    sim.set_faults([{"service": "apex", "fault": "status", "status": 500, "endpoint": "GET /api/keys"}])
    sim.configure(time_scale=5)
    sim.reset()
    assert client.get(f"{apex}/api/usage", headers=APEX).json()["data"]["credits"] == 100_000
    assert client.get(f"{apex}/api/jobs", headers=APEX).json()["data"] == []
    assert client.get(f"{apex}/api/keys", headers=APEX).status_code == 200
    assert client.get(f"{fdb}/usage", headers=bearer(created)).status_code == 401
    assert client.get(f"{apex}/api/usage", headers=bearer("sk_live_runtime")).status_code == 401
    assert client.get(f"{sim.base_url}/_sim/config").json()["time_scale"] == 0.01
    assert sim.jobs() == [] and client.get(f"{sim.base_url}/_sim/faults").json() == []
    demo = sim.counters()["apex"]["demo"]
    assert demo["requests"] == {"GET /api/usage": {"200": 1}, "GET /api/jobs": {"200": 1}, "GET /api/keys": {"200": 1}}
    assert demo["jobs_created"] == 0 and demo["credits_charged"] == 0


def test_jobs_listing_shows_finish_times(client: httpx.Client, apex: str, sim: SimulatorServer) -> None:
    job_id = client.post(f"{apex}/api/generate/image", headers=APEX, json={"prompt": "p"}).json()["data"]["jobId"]
    job = wait_for(lambda: next((j for j in sim.jobs() if j["id"] == job_id and j["finished_at"]), None))
    assert (
        job["service"] == "apex"
        and job["kind"] == "image"
        and job["status"] == "completed"
        and job["account"] == "demo"
    )
    assert job["finished_at"] >= job["created_at"]


def test_runtime_config_and_accounts(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    config = sim.configure(durations={"ddukddak.ai_image": 0})
    assert config["durations"]["ddukddak.ai_image"] == 0 and config["durations"]["apex.image"] == 8
    uid = client.post(f"{dd}/ai/images", headers=DD, json={"prompt": "p", "model": "m"}).json()["uid"]
    wait_for(lambda: client.get(f"{dd}/ai/images/{uid}", headers=DD).json()["status"] == "completed", timeout=5)
    assert client.post(f"{sim.base_url}/_sim/config", json={"durations": {"nope": 1}}).status_code == 400
    assert (
        client.post(
            f"{sim.base_url}/_sim/accounts", json={"service": "apex", "key": "bad_key", "plan": "enterprise"}
        ).status_code
        == 400
    )
    sim.add_account(service="ddukddak", key="dd_live_extra", plan="automate", credits=3, name="extra")
    assert client.get(f"{dd}/auth", headers=bearer("dd_live_extra")).status_code == 200
    accounts = client.get(f"{sim.base_url}/_sim/accounts").json()
    assert any(a["name"] == "extra" and a["credits"] == 3 for a in accounts)


def test_config_validation_and_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        SimulatorConfig.model_validate({"accounts": [{"service": "apex", "key": "dd_live_x", "plan": "enterprise"}]})
    with pytest.raises(ValidationError):
        SimulatorConfig.model_validate({"accounts": [{"service": "facedub", "key": "fdb_x", "plan": "platinum"}]})
    path = tmp_path / "sim.json"
    path.write_text(
        json.dumps(
            {
                "time_scale": 0.5,
                "seed": 9,
                "accounts": [{"service": "facedub", "key": "fdb_x", "plan": "pro", "credits": 5}],
                "durations": {"facedub.job": 3},
            }
        )
    )
    config = SimulatorConfig.from_file(path)
    assert config.time_scale == 0.5 and config.duration("facedub.job") == 3 and config.accounts[0].initial_credits == 5


def test_create_app_is_independent() -> None:
    first, second = create_app(), create_app(SimulatorConfig(seed=3))
    assert first.state.sim is not second.state.sim
    paths = {route.path for route in first.routes}  # type: ignore[attr-defined]
    assert {
        "/ddukddak/v1/ai/images/{uid}",
        "/apex/api/generate/image",
        "/apex/api/jobs",
        "/facedub/jobs/{job_id}/stream",
    } <= paths


def test_server_public_base_url_and_restart() -> None:
    with SimulatorServer(SimulatorConfig(time_scale=0.01, public_base_url="http://sim.example:9/")) as server:
        assert server.urls["apex"] == server.base_url + "/apex" and server.keys["facedub"] == "fdb_demo"
        url = httpx.post(server.urls["ddukddak"] + "/images", headers=DD, json={"template": "quote-square"}).json()[
            "image_url"
        ]
        assert url.startswith("http://sim.example:9/_files/")
    server.stop()  # idempotent


def test_main_rejects_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"accounts": [{"service": "apex", "key": "nope", "plan": "enterprise"}]}))
    assert main(["--config", str(bad)]) == 2
    assert "sk_live_" in capsys.readouterr().err


def test_cli_subprocess_ready_line_and_sigterm() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_mediagen.simulator",
            "--port",
            "0",
            "--time-scale",
            "0.01",
            "--seed",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line.rstrip())
            if line.startswith("READY "):
                break
        assert lines and lines[-1].startswith("READY http://127.0.0.1:"), (
            lines,
            proc.stderr.read() if proc.poll() is not None else "",
        )  # type: ignore[union-attr]
        base = lines[-1].split(" ", 1)[1]
        printed = "\n".join(lines)
        for fragment in (
            f"{base}/ddukddak/v1",
            f"{base}/apex",
            f"{base}/facedub",
            "dd_live_demo",
            "sk_live_demo",
            "fdb_demo",
        ):
            assert fragment in printed
        r = httpx.get(f"{base}/facedub/usage", headers=FDB, trust_env=False)
        assert r.status_code == 200 and r.json()["plan"] == "agency"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
