"""Webhooks end to end: the simulator delivers to the receiver mounted in a real Airflow 3.3 API server app
on loopback; deferred tasks complete through it with polling set far above the job's duration; bad
deliveries are rejected and record nothing; a lost delivery still completes by polling; FaceDub's SSE
stream is the fast path when the connection has a JWT; the asset watcher trigger fires once per job."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from airflow_provider_mediagen.demo.stack import free_port
from airflow_provider_mediagen.hooks.connection import settings_from_connection
from airflow_provider_mediagen.webhooks.app import MAX_BODY_BYTES
from airflow_provider_mediagen.webhooks.tokens import receiver_token, sign, states_token

from .conftest import TIME_SCALE, run_dag

SECRET = "whsec-test-0c4f2a"


@pytest.fixture(scope="module")
def api_server(simulator: Any) -> Iterator[str]:
    """The real Airflow API server app (execution API, UI routes and plugins) served on loopback."""
    import uvicorn
    from airflow.api_fastapi.app import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    jwt = simulator.facedub_jwt(key="fdb_demo", ttl=3600)
    extras = {"time_scale": TIME_SCALE, "webhook_secret": SECRET, "webhook_base_url": base}
    connections = {
        "mediagen_apex_hooks": ("apex", "sk_live_demo", extras),
        "mediagen_ddukddak_hooks": ("ddukddak", "dd_live_demo", extras),
        "mediagen_apex_signed": ("apex", "sk_live_demo", {**extras, "require_signature": True}),
        "mediagen_facedub_sse": ("facedub", "fdb_demo", {"time_scale": TIME_SCALE, "jwt": jwt}),
    }
    for conn_id, (service, key, extra) in connections.items():
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(
            {"conn_type": f"mediagen_{service}", "password": key, "host": simulator.urls[service], "extra": extra})
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API server did not start"
        time.sleep(0.05)
    yield base
    server.should_exit = True
    thread.join(10)


@pytest.fixture(autouse=True)
def _empty_delivery_store(api_server: str) -> None:
    """The simulator's job ids repeat after each reset (they come from its seed), while the receiver's
    store lives in the metadata DB: start every test with no recorded delivery."""
    from airflow import settings

    from airflow_provider_mediagen.webhooks.store import DELIVERIES

    DELIVERIES.create(bind=settings.engine, checkfirst=True)
    with settings.engine.begin() as db:
        db.execute(DELIVERIES.delete())


def receiver(base: str, service: str, conn_id: str, token: str | None = None) -> str:
    token = token if token is not None else receiver_token(SECRET, service, conn_id)
    return f"{base}/mediagen/webhooks/{service}/{conn_id}?token={token}"


def states_endpoint(base: str, service: str, conn_id: str, token: str | None = None) -> str:
    token = token if token is not None else states_token(SECRET, service, conn_id)
    return f"{base}/mediagen/webhooks/{service}/{conn_id}/states?token={token}"


def states(base: str, service: str, conn_id: str, *job_ids: str) -> list[dict[str, Any]]:
    response = httpx.post(states_endpoint(base, service, conn_id), json={"job_ids": list(job_ids)})
    response.raise_for_status()
    return response.json()["jobs"]


APEX_DONE = {"event": "job.completed", "timestamp": "2026-03-16T12:00:00Z", "data": {
    "jobId": "job-a1", "type": "image", "status": "completed", "outputUrl": "https://cdn.example/a.png",
    "outputType": "image/png", "metadata": {"model": "flux-2-pro"}, "createdAt": "2026-03-16T11:59:50Z",
    "completedAt": "2026-03-16T12:00:00Z", "somethingNew": True}}


def test_bad_deliveries_are_rejected_and_record_nothing(api_server: str) -> None:
    url = receiver(api_server, "apex", "mediagen_apex_hooks")
    forged = receiver(api_server, "apex", "mediagen_apex_hooks", token="not-the-token")
    cases = [
        (httpx.post(forged, json=APEX_DONE), 401),
        (httpx.post(receiver(api_server, "apex", "mediagen_apex_hooks", token=""), json=APEX_DONE), 401),
        (httpx.post(url, content=b"{" + b" " * (MAX_BODY_BYTES + 10) + b"}"), 413),
        (httpx.post(url, content=b"{not json"), 400),
        (httpx.post(url, json={**APEX_DONE, "data": {**APEX_DONE["data"], "jobId": 12}}), 422),
        (httpx.post(url, json={"event": "job.completed"}), 422),
        (httpx.post(url, json=[APEX_DONE]), 422),
        (httpx.post(receiver(api_server, "apex", "mediagen_apex_signed"), json=APEX_DONE), 401),  # unsigned
        (httpx.post(receiver(api_server, "apex", "nope"), json=APEX_DONE), 404),
        (httpx.post(receiver(api_server, "facedub", "mediagen_facedub_sse"), json=APEX_DONE), 404),
    ]
    assert [r.status_code for r, _ in cases] == [code for _, code in cases], [r.text for r, _ in cases]
    assert states(api_server, "apex", "mediagen_apex_hooks", "job-a1") == []
    assert states(api_server, "apex", "mediagen_apex_signed", "job-a1") == []


def test_signed_delivery_replay_and_duplicates(api_server: str) -> None:
    url = receiver(api_server, "apex", "mediagen_apex_signed")
    body = json.dumps({**APEX_DONE, "data": {**APEX_DONE["data"], "jobId": "job-signed"}}).encode()
    now = int(time.time())
    headers = {"content-type": "application/json", "webhook-id": "msg_1", "webhook-timestamp": str(now),
               "webhook-signature": sign(SECRET, "msg_1", now, body)}
    assert httpx.post(url, content=body, headers=headers).json()["result"] == "recorded"
    assert httpx.post(url, content=body, headers=headers).status_code == 409  # replayed
    stale = {**headers, "webhook-id": "msg_2", "webhook-timestamp": str(now - 3600),
             "webhook-signature": sign(SECRET, "msg_2", now - 3600, body)}
    assert httpx.post(url, content=body, headers=stale).status_code == 401  # outside the replay window
    wrong = {**headers, "webhook-id": "msg_3", "webhook-signature": sign("other-secret", "msg_3", now, body)}
    assert httpx.post(url, content=body, headers=wrong).status_code == 401
    [job] = states(api_server, "apex", "mediagen_apex_signed", "job-signed")
    assert job["status"] == "succeeded"

    plain = receiver(api_server, "apex", "mediagen_apex_hooks")
    first = httpx.post(plain, json={**APEX_DONE, "data": {**APEX_DONE["data"], "jobId": "job-dup"}})
    again = httpx.post(plain, json={**APEX_DONE, "data": {**APEX_DONE["data"], "jobId": "job-dup"}})
    assert (first.json()["result"], again.json()["result"]) == ("recorded", "duplicate")
    dd = receiver(api_server, "ddukddak", "mediagen_ddukddak_hooks")
    done = {"uid": "vid_x", "status": "completed", "video_url": "https://storage.example/x.mp4"}
    assert httpx.post(dd, json=done).json()["result"] == "recorded"
    late = httpx.post(dd, json={"uid": "vid_x", "status": "pending", "video_url": None})
    assert late.status_code == 200 and late.json()["result"] == "stale"  # never moves backwards
    [job] = states(api_server, "ddukddak", "mediagen_ddukddak_hooks", "vid_x")
    assert job["status"] == "succeeded" and job["output_urls"] == ["https://storage.example/x.mp4"]


def test_a_delivery_names_its_submission(api_server: str) -> None:
    """The ``intent`` in a receiver URL is kept with the job it delivered, whichever delivery brought it,
    and read back by intent; a malformed one is refused and records nothing."""
    dd = receiver(api_server, "ddukddak", "mediagen_ddukddak_hooks")
    intent, other = "0" * 31 + "a", "f" * 32
    pending = {"uid": "vid_i", "status": "pending", "video_url": None}
    done = {"uid": "vid_i", "status": "completed", "video_url": "https://storage.example/i.mp4"}
    assert httpx.post(dd, json=pending).json()["result"] == "recorded"
    assert httpx.post(f"{dd}&intent={intent}", json=done).json()["result"] == "recorded"
    for bad in ("ABC", "0" * 33, "../x", ""):
        assert httpx.post(f"{dd}&intent={bad}", json={**done, "uid": "vid_bad"}).status_code == 422, bad
    asked = httpx.post(states_endpoint(api_server, "ddukddak", "mediagen_ddukddak_hooks"),
                       json={"job_ids": ["vid_bad"], "intents": [intent, other]})
    assert asked.status_code == 200, asked.text
    assert asked.json()["jobs"] == []
    assert list(asked.json()["intents"]) == [intent]
    assert asked.json()["intents"][intent]["id"] == "vid_i"
    assert asked.json()["intents"][intent]["status"] == "succeeded"
    for bad_read in ({"job_ids": [], "intents": ["nope"]}, {"job_ids": [], "intents": "0" * 32}):
        read = httpx.post(states_endpoint(api_server, "ddukddak", "mediagen_ddukddak_hooks"), json=bad_read)
        assert read.status_code == 400, read.text
    # the delivery token does not read intents either
    assert httpx.post(states_endpoint(api_server, "ddukddak", "mediagen_ddukddak_hooks",
                                      token=receiver_token(SECRET, "ddukddak", "mediagen_ddukddak_hooks")),
                      json={"job_ids": [], "intents": [intent]}).status_code == 401


def test_a_delivery_table_of_an_earlier_version_gains_the_intent_column_and_indexes(tmp_path: Any) -> None:
    from sqlalchemy import create_engine, inspect, text

    from airflow_provider_mediagen.catalog import Job, NormalizedStatus
    from airflow_provider_mediagen.webhooks.store import DeliveryStore

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as db:  # the table as the first version made it
        db.execute(text("CREATE TABLE mediagen_webhook_delivery (id INTEGER PRIMARY KEY, service VARCHAR(32) NOT "
                        "NULL, conn_id VARCHAR(250) NOT NULL, job_id VARCHAR(250) NOT NULL, status VARCHAR(16) NOT "
                        "NULL, job TEXT NOT NULL, deliveries INTEGER NOT NULL, updated_at FLOAT NOT NULL, CONSTRAINT "
                        "mediagen_webhook_delivery_job UNIQUE (service, conn_id, job_id))"))
        db.execute(text("INSERT INTO mediagen_webhook_delivery VALUES (1, 'ddukddak', 'c', 'old', 'succeeded', "
                        "'{}', 1, 0)"))
    store = DeliveryStore(engine)
    assert "intent_id" in {c["name"] for c in inspect(engine).get_columns("mediagen_webhook_delivery")}
    assert {"mediagen_webhook_delivery_changes", "mediagen_webhook_delivery_age"} <= {
        i["name"] for i in inspect(engine).get_indexes("mediagen_webhook_delivery")}
    job = Job(service="ddukddak", kind="ai_image", id="new", status=NormalizedStatus.SUCCEEDED,
              raw_status="completed")
    assert store.record("ddukddak", "c", job, "a" * 32) == "recorded"
    assert store.by_intent("ddukddak", "c", ["a" * 32])["a" * 32]["id"] == "new"
    assert store.count("ddukddak", "c") == 2
    DeliveryStore(engine)  # a second start finds the column and leaves the table alone


@pytest.mark.parametrize("dag_id", ["mediagen_webhook_ddukddak_lost_answer", "mediagen_webhook_ddukddak_store_fails"])
def test_ddukddak_lost_answer_is_adopted_through_the_delivery_that_names_it(dag_id: str, api_server: str,
                                                                           simulator: Any, tmp_path: Any) -> None:
    """Ddukddak lists no jobs. Before: an answer lost after the job was created failed the task for good
    ("no answer was recorded"), and a job id the state store could not keep left the retry nothing to go
    on: paid, no file. Now the receiver URL names the submission, and its delivery names the job."""
    lost = dag_id.endswith("lost_answer")
    if lost:
        simulator.set_faults([{"service": "ddukddak", "endpoint": endpoint, "fault": "lose_response", "count": 1}
                              for endpoint in ("POST /videos", "POST /ai/images")])
    run, tis = _run(dag_id)
    tasks = ["promo", "ai_image"] if lost else ["ai_image"]
    assert {t: tis[t].try_number for t in tasks} == {t: 1 if lost else 2 for t in tasks}
    made = [j for j in simulator.jobs() if j["service"] == "ddukddak"]
    assert len(made) == len(tasks) == simulator.counters()["ddukddak"]["demo"]["jobs_created"]
    for task in tasks:
        written = list((tmp_path / "out" / task).iterdir())
        assert len(written) == 1 and written[0].name.split("-")[0] in {j["id"] for j in made}, written


def _apex_reads(simulator: Any) -> int:
    return sum(simulator.counters()["apex"]["demo"]["requests"].get("GET /api/jobs", {}).values())


def test_apex_job_completes_through_the_webhook_not_polling(api_server: str, simulator: Any) -> None:
    _run("mediagen_webhook_apex")
    jobs = [j for j in simulator.jobs() if j["service"] == "apex"]
    assert len(jobs) == 1 and jobs[0]["status"] == "completed"
    assert _apex_reads(simulator) <= 2  # the worker's check-once and the poller's first read, no more
    hooks = simulator.counters()["apex"]["demo"]["webhooks"]
    assert hooks["delivered"] >= 1
    [job] = states(api_server, "apex", "mediagen_apex_hooks", jobs[0]["id"])
    assert job["status"] == "succeeded"


def test_registered_url_is_the_receivers_public_one_and_ssrf_is_respected(api_server: str, simulator: Any) -> None:
    from airflow_provider_mediagen.client import BadRequestError, MediaClient

    with MediaClient("apex", "sk_live_demo", base_url=simulator.urls["apex"]) as apex:
        answer = apex.call("set_webhook", {"webhook_url": receiver(api_server, "apex", "mediagen_apex_hooks")})
        assert answer.webhook_url.startswith(f"{api_server}/mediagen/webhooks/apex/mediagen_apex_hooks?token=")
        for private in ("https://10.1.2.3/hook", "https://169.254.169.254/latest", "https://db.internal/h"):
            with pytest.raises(BadRequestError):
                apex.call("set_webhook", {"webhook_url": private})


def test_ddukddak_template_video_completes_through_its_webhook(api_server: str, simulator: Any,
                                                              tmp_path: Any) -> None:
    _run("mediagen_webhook_ddukddak")
    for mode in ("deferrable", "worker"):
        assert len(list((tmp_path / "out" / mode).glob("*-template_video.mp4"))) == 1
    assert simulator.counters()["ddukddak"]["demo"]["webhooks"]["delivered"] == 2


def test_template_video_without_a_receiver_fails_before_submitting(simulator: Any) -> None:
    run, tis = _run("mediagen_webhook_missing", expect="failed")
    assert tis["promo"].try_number == 1
    assert simulator.counters()["ddukddak"].get("demo", {}).get("jobs_created", 0) == 0


def test_lost_delivery_still_completes_by_polling(api_server: str, simulator: Any) -> None:
    from airflow_provider_mediagen.client import MediaClient

    with MediaClient("apex", "sk_live_demo", base_url=simulator.urls["apex"]) as apex:
        apex.call("set_webhook", {"webhook_url": receiver(api_server, "apex", "mediagen_apex_hooks")})
    simulator.set_faults([{"service": "apex", "fault": "webhook_fail"}])  # every attempt is lost
    _run("mediagen_webhook_lost")
    assert simulator.counters()["apex"]["demo"]["webhooks"]["delivered"] == 0
    assert _apex_reads(simulator) > 2


async def test_facedub_sse_is_the_fast_path(simulator: Any, sample_photo: Any, sample_video: Any) -> None:
    from airflow_provider_mediagen.client import MediaClient
    from airflow_provider_mediagen.triggers import MediaJobTrigger

    with MediaClient("facedub", "fdb_demo", base_url=simulator.urls["facedub"], time_scale=TIME_SCALE) as fd:
        job = fd.submit("video", character_photo=sample_photo, reference_video=sample_video, duration=3)
    trigger = MediaJobTrigger(conn_id="mediagen_facedub_sse", service="facedub", kind="video", job_id=job.id,
                              deadline=time.time() + 60, poll_interval=3600)
    async for event in trigger.run():
        assert event.payload["status"] == "succeeded" and event.payload["output_urls"]
        break
    requests = simulator.counters()["facedub"]["demo"]["requests"]
    assert requests["GET /jobs/{job_id}/stream"] == {"200": 1}
    reads = sum(requests.get("GET /jobs/{job_id}", {}).values()) + sum(requests.get("GET /jobs", {}).values())
    assert reads <= 1  # the poller's first read at most: the stream carried the rest


class _MemoryAssetState:
    """Stands in for the triggerer's asset state store (same aget/aset contract), so the watermark
    logic is exercised outside a triggerer."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(json.dumps(self.data.get(key, default)))

    async def aset(self, key: str, value: Any) -> None:
        self.data[key] = json.loads(json.dumps(value))


async def test_asset_watcher_trigger_fires_once_per_new_completion(simulator: Any) -> None:
    from airflow_provider_mediagen.client import AsyncMediaClient
    from airflow_provider_mediagen.triggers import MediaCompletionsTrigger

    async with AsyncMediaClient("apex", "sk_live_demo", base_url=simulator.urls["apex"],
                                time_scale=TIME_SCALE) as apex:
        old = await apex.submit_and_wait("image", prompt="history", poll_interval=0.05, timeout=30)
        store = _MemoryAssetState()

        async def events(limit: int, seconds: float) -> list[dict[str, Any]]:
            trigger = MediaCompletionsTrigger(service="apex", conn_id="mediagen_apex_default", poll_interval=0.05)
            trigger.asset_state_store = store  # injected by the triggerer
            found: list[dict[str, Any]] = []

            async def collect() -> None:
                async for event in trigger.run():
                    found.append(event.payload)
                    if len(found) >= limit:
                        return

            try:
                await asyncio.wait_for(collect(), timeout=seconds)
            except asyncio.TimeoutError:
                pass
            return found

        assert await events(1, 0.5) == []  # what finished before the watcher started is not news
        new = [await apex.submit("image", prompt=f"news {i}") for i in range(2)]
        fired = await events(2, 15)
        assert sorted(e["job_id"] for e in fired) == sorted(j.id for j in new)
        assert await events(1, 0.5) == []  # a restarted trigger does not fire them again
        assert old.id in store.data["mediagen_fired_job_ids"]


def _run(dag_id: str, expect: str = "success") -> tuple[Any, dict[str, Any]]:
    run, tis = run_dag(dag_id, file="mediagen_webhook_dags.py")
    assert run.state == expect, {k: v.state for k, v in tis.items()}
    return run, tis


def test_receiver_settings_come_from_the_connection(api_server: str) -> None:
    from airflow.models.connection import Connection

    settings = settings_from_connection("apex", Connection.get_connection_from_secrets("mediagen_apex_hooks"))
    assert settings.webhook_base_url == api_server and settings.webhook_secret is not None
    assert SECRET not in repr(settings)


def test_states_and_delivery_tokens_are_not_interchangeable(api_server: str) -> None:
    """The delivery token is handed to the service and sits in URLs proxies log: it must not read what
    was delivered; the states token (kept inside the deployment) must not post deliveries."""
    service, conn_id = "apex", "mediagen_apex_hooks"
    delivery, reading = receiver_token(SECRET, service, conn_id), states_token(SECRET, service, conn_id)
    assert delivery != reading
    body = {**APEX_DONE, "data": {**APEX_DONE["data"], "jobId": "job-tokens"}}
    assert httpx.post(receiver(api_server, service, conn_id, token=reading), json=body).status_code == 401
    assert httpx.post(receiver(api_server, service, conn_id, token=delivery), json=body).status_code == 200
    ask = {"job_ids": ["job-tokens"]}
    assert httpx.post(states_endpoint(api_server, service, conn_id, token=delivery), json=ask).status_code == 401
    answer = httpx.post(states_endpoint(api_server, service, conn_id, token=reading), json=ask)
    assert answer.status_code == 200 and [j["id"] for j in answer.json()["jobs"]] == ["job-tokens"]

    from airflow.models.connection import Connection

    from airflow_provider_mediagen.webhooks.urls import receiver_url, states_url

    settings = settings_from_connection(service, Connection.get_connection_from_secrets(conn_id))
    assert receiver_url(settings, conn_id) == receiver(api_server, service, conn_id)
    assert states_url(settings, conn_id) == states_endpoint(api_server, service, conn_id)


def test_receiver_answers_4xx_to_hostile_inputs(api_server: str) -> None:
    """Deeply nested JSON, bytes that are not UTF-8, non-ASCII signature headers and over-long job ids
    get a clear 4xx (never a 500) and record nothing."""
    url = receiver(api_server, "apex", "mediagen_apex_hooks")
    signed = receiver(api_server, "apex", "mediagen_apex_signed")
    body = json.dumps(APEX_DONE).encode()
    now = str(int(time.time())).encode()
    good = {"webhook-id": b"msg_ok", "webhook-timestamp": now,
            "webhook-signature": sign(SECRET, "msg_ok", int(now), body).encode()}
    long_id = "j" * 300
    cases = {
        "nested": (url, b"[" * 20_000 + b"]" * 20_000, {}, 400),
        "nested in an object": (url, b'{"event": "job.completed", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                                {}, 400),
        "not utf-8": (url, b'{"event": "job.completed", "x": "\xff\xfe"}', {}, 400),
        "signature": (signed, body, {**good, "webhook-signature": "v1,ünïcödé".encode()}, 401),
        "signature list": (signed, body, {**good, "webhook-signature": good["webhook-signature"] + " v1,é".encode()},
                           401),
        "id": (signed, body, {**good, "webhook-id": "msg_é".encode()}, 401),
        "timestamp": (signed, body, {**good, "webhook-timestamp": "١٧٠٠".encode()}, 401),
        "unsigned receiver, signature header": (url, body, {"webhook-signature": "v1,é".encode()}, 401),
        "long job id": (url, json.dumps({**APEX_DONE, "data": {**APEX_DONE["data"], "jobId": long_id}}).encode(),
                        {}, 422),
    }
    answers = {name: httpx.post(target, content=content, headers={"content-type": "application/json", **headers})
               for name, (target, content, headers, _) in cases.items()}
    assert {n: a.status_code for n, a in answers.items()} == {n: c[-1] for n, c in cases.items()}, (
        {n: a.text[:200] for n, a in answers.items()})
    assert all(a.json().get("detail") for a in answers.values())  # a reason, not an empty reject
    reads = [httpx.post(states_endpoint(api_server, "apex", "mediagen_apex_hooks"), content=content)
             for content in (json.dumps({"job_ids": [long_id]}).encode(), b"[" * 20_000 + b"]" * 20_000,
                             b'{"job_ids": ["\xff"]}')]
    assert [r.status_code for r in reads] == [400, 400, 400], [r.text[:200] for r in reads]
    assert states(api_server, "apex", "mediagen_apex_hooks", "job-a1") == []


async def test_forged_completed_delivery_does_not_finish_a_pollable_job(api_server: str, simulator: Any) -> None:
    """A "completed" delivery posted with the right token before the real job is done (anyone who saw
    the URL can) only wakes the poller: the service's own read is the verdict, so the wait goes on and
    ends with the service's real outputs, never the forged URL."""
    from airflow_provider_mediagen.client import MediaClient
    from airflow_provider_mediagen.triggers import MediaJobTrigger

    with MediaClient("apex", "sk_live_demo", base_url=simulator.urls["apex"], time_scale=TIME_SCALE) as apex:
        job = apex.submit("video", script="the real one")
    assert not job.terminal
    forged_url = "https://forged.invalid/steal.mp4"  # never fetched: triggers do not download
    forged = {**APEX_DONE, "data": {**APEX_DONE["data"], "jobId": job.id, "type": "video", "outputUrl": forged_url}}
    answer = httpx.post(receiver(api_server, "apex", "mediagen_apex_hooks"), json=forged)
    assert answer.status_code == 200 and answer.json()["result"] == "recorded"  # the token was right
    trigger = MediaJobTrigger(conn_id="mediagen_apex_hooks", service="apex", kind="video", job_id=job.id,
                              deadline=time.time() + 60, poll_interval=0.2)
    async for event in trigger.run():
        payload = event.payload
        break
    real = next(j for j in simulator.jobs() if j["id"] == job.id)
    assert real["status"] == "completed", (real, payload)  # the wait ended when the service said so
    assert payload["status"] == "succeeded"
    assert payload["output_urls"] and forged_url not in payload["output_urls"], payload
    assert [httpx.URL(u).path for u in payload["output_urls"]] == [o["url_path"] for o in real["outputs"]], payload


def test_a_rotated_secret_keeps_deliveries_in_flight_for_the_stated_grace(api_server: str, simulator: Any,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Deliveries already promised to the old URL (a Ddukddak job submitted before the rotation) are accepted
    until ``webhook_secret_previous_until``; after it, and for ``/states`` reads at any time, the old
    secret's tokens open nothing."""
    old, new = "whsec-before-rotation-1", "whsec-after-rotation-2"
    conn = {"conn_type": "mediagen_ddukddak", "password": "dd_live_demo", "host": simulator.urls["ddukddak"]}
    done = {"uid": "vid_rot", "status": "completed", "video_url": "https://storage.example/r.mp4"}
    base = f"{api_server}/mediagen/webhooks/ddukddak/mediagen_dd_rotated"

    def configure(until: Any) -> None:
        extra = {"webhook_secret": new, "webhook_base_url": api_server, "webhook_secret_previous": old,
                 "webhook_secret_previous_until": until}
        monkeypatch.setenv("AIRFLOW_CONN_MEDIAGEN_DD_ROTATED", json.dumps({**conn, "extra": extra}))

    def deliver(secret: str) -> int:
        token = receiver_token(secret, "ddukddak", "mediagen_dd_rotated")
        return httpx.post(f"{base}?token={token}", json=done).status_code

    def read(secret: str) -> int:
        token = states_token(secret, "ddukddak", "mediagen_dd_rotated")
        return httpx.post(f"{base}/states?token={token}", json={"job_ids": ["vid_rot"]}).status_code

    configure("2999-01-01T00:00:00Z")
    assert (deliver(new), deliver(old), deliver("some-other-secret")) == (200, 200, 401)
    assert (read(new), read(old)) == (200, 401)  # triggers read with the new secret only
    configure(time.time() - 1)  # the grace is over
    assert (deliver(new), deliver(old)) == (200, 401)
    configure("not a time")  # a grace without a readable end is refused, not taken as for ever
    assert deliver(old) == 404 and deliver(new) == 404
