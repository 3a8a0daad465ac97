"""Webhooks at scale (issue 29): the delivery store on PostgreSQL (a real server started here from Debian's
binaries) and on SQLite (the embedded default), behind two receiver processes at once.

The receivers are uvicorn processes serving the receiver app exactly as the provider's plugin mounts it on
every Airflow API server (``create_receiver_app``), with Airflow's own ``settings.engine`` configured by
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``; the rest of the API server (UI, execution API) plays no part in
a delivery. The PostgreSQL cases carry the ``postgres`` marker (``./dev.sh test -m postgres``)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, update

from airflow_provider_mediagen.catalog import Job, NormalizedStatus
from airflow_provider_mediagen.demo.stack import free_port
from airflow_provider_mediagen.webhooks import store as store_module
from airflow_provider_mediagen.webhooks.store import DELIVERIES, MESSAGES, DeliveryStore
from airflow_provider_mediagen.webhooks.tokens import receiver_token, sign, states_token
from airflow_provider_mediagen.demo.servers import PostgresServer, stop_process

SECRET = "whsec-scale-7d1e"
CONN = "mediagen_dd_scale"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'airflow.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"t{os.getpid()}_{int(time.time() * 1000) % 10**9}")


def _job(job_id: str, status: NormalizedStatus, raw: str) -> Job:
    return Job(service="ddukddak", kind="ai_video", id=job_id, status=status, raw_status=raw)


# --- the store alone ---------------------------------------------------------------------------------


def test_store_records_changes_and_cursor_on_each_database(db_url: str) -> None:
    store = DeliveryStore(create_engine(db_url))
    assert store.record("ddukddak", "c", _job("a", NormalizedStatus.RUNNING, "processing")) == "recorded"
    assert store.record("ddukddak", "c", _job("a", NormalizedStatus.RUNNING, "processing")) == "duplicate"
    assert store.record("ddukddak", "c", _job("a", NormalizedStatus.QUEUED, "pending"), "b" * 32) == "stale"
    assert store.record("ddukddak", "c", _job("a", NormalizedStatus.SUCCEEDED, "completed")) == "recorded"
    assert store.by_intent("ddukddak", "c", ["b" * 32])["b" * 32]["status"] == "succeeded"
    _, start = store.changes("ddukddak", "c", None, 10)  # the current end: what comes after it is new
    for i in range(25):
        store.record("ddukddak", "c", _job(f"j{i}", NormalizedStatus.SUCCEEDED, "completed"))
    store.record("ddukddak", "other", _job("x", NormalizedStatus.SUCCEEDED, "completed"))
    seen, cursor, pages = [], start, 0
    while True:
        jobs, cursor = store.changes("ddukddak", "c", cursor, 10)
        pages += 1
        seen += [j["id"] for j in jobs]
        if len(jobs) < 10:
            break
    assert seen == [f"j{i}" for i in range(25)] and pages == 3  # in order, each once, only this connection
    assert store.changes("ddukddak", "c", cursor, 10) == ([], cursor)


def test_retention_prunes_what_it_says_in_batches(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "PRUNE_BATCH", 100)
    engine = create_engine(db_url)
    store = DeliveryStore(engine, retention=7 * 86400.0)
    now = time.time()
    with engine.begin() as db:
        db.execute(DELIVERIES.insert(), [
            {"service": "ddukddak", "conn_id": "c", "job_id": f"old{i}", "status": "succeeded", "job": "{}",
             "deliveries": 1, "updated_at": now - 8 * 86400 - i} for i in range(250)] + [
            {"service": "ddukddak", "conn_id": "c", "job_id": f"new{i}", "status": "running", "job": "{}",
             "deliveries": 1, "updated_at": now - 6 * 86400} for i in range(5)])
        db.execute(MESSAGES.insert(), [
            {"service": "ddukddak", "conn_id": "c", "message_id": f"m{i}", "received_at": now - 3600 * (i % 2)}
            for i in range(10)])
    assert store.prune(now) == {DELIVERIES.name: 250, MESSAGES.name: 5}
    with engine.connect() as db:
        left = db.execute(select(DELIVERIES.c.job_id)).scalars().all()
        assert sorted(left) == sorted(f"new{i}" for i in range(5))
        assert db.execute(select(func.count()).select_from(MESSAGES)).scalar() == 5
    assert store.prune(now) == {DELIVERIES.name: 0, MESSAGES.name: 0}


def test_the_receiver_prunes_after_answering_a_delivery(db_url: str) -> None:
    """No separate process: a delivery's answer is followed by a pruning pass (at most one per
    ``PRUNE_EVERY`` seconds per process)."""
    from airflow_provider_mediagen.webhooks.app import create_receiver_app

    engine = create_engine(db_url)
    DeliveryStore(engine).record("ddukddak", CONN, _job("ancient", NormalizedStatus.SUCCEEDED, "completed"))
    with engine.begin() as db:
        db.execute(update(DELIVERIES).values(updated_at=time.time() - 30 * 86400))
    app = create_receiver_app(get_connection=lambda conn_id: _connection(conn_id, "http://127.0.0.1:9"),
                              get_engine=lambda: engine)
    body, headers = _signed({"uid": "fresh", "status": "completed", "video_url": "https://s.example/f.mp4"}, "m1")

    async def deliver() -> httpx.Response:
        # The ASGI call returns once the app is done, background tasks included.
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver") as client:
            return await client.post(f"/webhooks/ddukddak/{CONN}?token={receiver_token(SECRET, 'ddukddak', CONN)}",
                                     content=body, headers=headers)

    answer = asyncio.run(deliver())
    assert answer.status_code == 200, answer.text
    with engine.connect() as db:
        assert db.execute(select(DELIVERIES.c.job_id)).scalars().all() == ["fresh"]


def _connection(conn_id: str, host: str) -> Any:
    from airflow.models.connection import Connection

    return Connection(conn_id=conn_id, conn_type="mediagen_ddukddak", password="dd_live_scale", host=host,
                      extra=json.dumps({"webhook_secret": SECRET, "require_signature": True}))


# --- two receivers, one database ---------------------------------------------------------------------


class Receiver:
    """The receiver app in its own uvicorn process, on Airflow's engine for ``db_url``."""

    def __init__(self, db_url: str, folder: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        conn = {"conn_type": "mediagen_ddukddak", "password": "dd_live_scale", "host": "http://127.0.0.1:9",
                "extra": {"webhook_secret": SECRET, "require_signature": True}}
        env = dict(os.environ, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=db_url,
                   AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=db_url if "postgresql" in db_url else "",
                   **{f"AIRFLOW_CONN_{CONN.upper()}": json.dumps(conn)})
        if not env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"]:
            del env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"]
        self.log = open(folder / f"receiver-{self.port}.log", "w+")  # noqa: SIM115 - kept for a failure
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "airflow_provider_mediagen.webhooks.app:create_receiver_app",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(self.base + "/", timeout=1)
                break
            except httpx.TransportError:
                assert self.proc.poll() is None and time.monotonic() < deadline, self.output()
                time.sleep(0.1)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-4000:]

    def delivery_url(self) -> str:
        return f"{self.base}/webhooks/ddukddak/{CONN}?token={receiver_token(SECRET, 'ddukddak', CONN)}"

    def states_url(self) -> str:
        return f"{self.base}/webhooks/ddukddak/{CONN}/states?token={states_token(SECRET, 'ddukddak', CONN)}"

    def stop(self) -> None:
        stop_process(self.proc, grace=15)
        self.log.close()


@pytest.fixture
def receivers(db_url: str, tmp_path: Path) -> Iterator[list[Receiver]]:
    DeliveryStore(create_engine(db_url))  # the tables exist before two servers race to make them
    started = [Receiver(db_url, tmp_path) for _ in range(2)]
    yield started
    for receiver in started:
        receiver.stop()


def _signed(body: dict[str, Any], message_id: str) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    now = int(time.time())
    return raw, {"content-type": "application/json", "webhook-id": message_id, "webhook-timestamp": str(now),
                 "webhook-signature": sign(SECRET, message_id, now, raw)}


def test_two_receivers_take_1000_deliveries_for_200_jobs_at_once(receivers: list[Receiver]) -> None:
    """Each job gets pending, processing, its end (completed, or failed for every fifth) and two copies
    of the end under new message ids, in random order and all at once, alternating between the two
    servers (32 requests in flight):
    no 5xx, every job ends in its terminal state, each verdict as the store saw it; then 100 of the
    signed deliveries are replayed to the *other* server and refused there."""
    rng = random.Random(29)
    deliveries = []
    for j in rng.sample(range(200), 200):
        end = "failed" if j % 5 == 0 else "completed"
        # A job's five deliveries side by side, in random order: they are in flight together, on both
        # servers, so first inserts and updates of one row race each other.
        group = [(f"vid_{j}", status, f"msg_{j}_{n}") for n, status in enumerate(["pending", "processing", end, end, end])]
        deliveries += rng.sample(group, len(group))
    sent: list[tuple[int, bytes, dict[str, str]]] = []

    async def deliver_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            gate = asyncio.Semaphore(32)

            async def one(i: int, job_id: str, status: str, message_id: str) -> httpx.Response:
                body, headers = _signed({"uid": job_id, "status": status, "video_url": (
                    f"https://storage.example/{job_id}.mp4" if status == "completed" else None)}, message_id)
                sent.append((i % 2, body, headers))
                async with gate:
                    return await http.post(receivers[i % 2].delivery_url(), content=body, headers=headers)

            return await asyncio.gather(*(one(i, *d) for i, d in enumerate(deliveries)))

    answers = asyncio.run(deliver_all())
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: 1000}, (statuses, [a.text for a in answers if a.status_code != 200][:3],
                                     receivers[0].output(), receivers[1].output())
    verdicts = Counter(a.json()["result"] for a in answers)
    # Per job: the first delivery and every advance are "recorded"; the rest duplicate or stale.
    assert 200 <= verdicts["recorded"] <= 600 and sum(verdicts.values()) == 1000, verdicts
    for receiver in receivers:
        answer = httpx.post(receiver.states_url(), json={"job_ids": [f"vid_{j}" for j in range(200)]})
        assert answer.status_code == 200
        final = {job["id"]: job["status"] for job in answer.json()["jobs"]}
        assert final == {f"vid_{j}": ("failed" if j % 5 == 0 else "succeeded") for j in range(200)}

    replays = rng.sample(sent, 100)

    async def replay_all() -> list[int]:
        async with httpx.AsyncClient(timeout=60) as http:
            return [(await http.post(receivers[1 - side].delivery_url(), content=body, headers=headers)).status_code
                    for side, body, headers in replays]

    assert Counter(asyncio.run(replay_all())) == {409: 100}


# --- the triggers' feed ----------------------------------------------------------------------------


def test_the_feed_serves_20000_waiting_jobs_without_413_one_request_per_tick(receivers: list[Receiver],
                                                                              db_url: str) -> None:
    """20,000 jobs wait on one connection, 5,000 already delivered. Naming them all in one read passes the
    receiver's 64 KiB cap (413: today's trigger learnt nothing); the feed looks each id up once, in
    pages, then reads only the changes: 300 new deliveries arriving at the *other* server are learnt in
    one request."""
    from airflow_provider_mediagen.webhooks.feed import DeliveryFeed, id_pages

    waiting = [f"vid_{i:05d}_{'x' * 20}" for i in range(20_000)]
    now = time.time()
    rows = []
    for job_id in waiting[:5000]:
        job = _job(job_id, NormalizedStatus.RUNNING, "processing")
        rows.append({"service": "ddukddak", "conn_id": CONN, "job_id": job_id, "status": "running",
                     "job": json.dumps(job.model_dump(mode="json", exclude={"raw"}) | {"raw": {}}),
                     "deliveries": 1, "updated_at": now - 60})  # delivered a minute ago
    with create_engine(db_url).begin() as db:
        db.execute(DELIVERIES.insert(), rows)

    whole = httpx.post(receivers[0].states_url(), json={"job_ids": waiting}, timeout=60)
    assert whole.status_code == 413  # the control: one read naming every waiting id

    async def ticks() -> tuple[list[Job], int, list[Job], int, list[Job], int]:
        feed = DeliveryFeed(receivers[0].states_url(), timeout=60)
        try:
            first = await feed.fetch(waiting)
            first_requests = feed.requests
            async with httpx.AsyncClient(timeout=60) as http:
                for n, job_id in enumerate(waiting[10_000:10_300]):
                    body, headers = _signed({"uid": job_id, "status": "completed",
                                             "video_url": f"https://storage.example/{n}.mp4"}, f"feed_{n}")
                    answer = await http.post(receivers[1].delivery_url(), content=body, headers=headers)
                    assert answer.status_code == 200, answer.text
            second = await feed.fetch(waiting)
            second_requests = feed.requests - first_requests
            third = await feed.fetch(waiting)
            return first, first_requests, second, second_requests, third, feed.requests - first_requests - second_requests
        finally:
            await feed.aclose()

    first, first_requests, second, second_requests, third, third_requests = asyncio.run(ticks())
    assert {j.id for j in first} == set(waiting[:5000])
    assert first_requests == len(list(id_pages(waiting))) <= 20
    assert {j.id for j in second} >= set(waiting[10_000:10_300]) and second_requests == 1
    assert all(j.status == NormalizedStatus.SUCCEEDED for j in second if j.id in set(waiting[10_000:10_300]))
    # A quiet tick: one request, and only what the overlap re-reads (nothing older than it).
    assert third_requests == 1 and {j.id for j in third} <= set(waiting[10_000:10_300])


def test_a_late_commit_is_seen_by_the_overlap_and_an_older_one_by_the_resync(
        receivers: list[Receiver], db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows a cursor has passed, committed late (another API server's slow transaction, or a clock a
    little behind): within the overlap the next tick sees them; beyond it, the periodic re-lookup does."""
    from airflow_provider_mediagen.webhooks import feed as feed_module
    from airflow_provider_mediagen.webhooks.feed import DeliveryFeed

    engine = create_engine(db_url)
    store = DeliveryStore(engine)
    waiting = ["first", "late", "older"]

    def commit_late(job_id: str, stamp: float) -> None:
        store.record("ddukddak", CONN, _job(job_id, NormalizedStatus.SUCCEEDED, "completed"))
        with engine.begin() as db:
            db.execute(update(DELIVERIES).where(DELIVERIES.c.job_id == job_id).values(updated_at=stamp))

    async def ticks() -> list[set[str]]:
        feed = DeliveryFeed(receivers[0].states_url(), timeout=60)
        seen = []
        try:
            seen.append({j.id for j in await feed.fetch(waiting)})  # the cursor is now the end
            store.record("ddukddak", CONN, _job("first", NormalizedStatus.SUCCEEDED, "completed"))
            seen.append({j.id for j in await feed.fetch(waiting)})  # the cursor passes "first"
            commit_late("late", time.time() - 1.0)  # stamped before "first"'s row, within the overlap
            commit_late("older", time.time() - 30.0)  # far behind: only a re-lookup finds it
            seen.append({j.id for j in await feed.fetch(waiting)})
            monkeypatch.setattr(feed_module, "RESYNC", 0.0)
            feed._resync_at = 0.0
            seen.append({j.id for j in await feed.fetch(waiting)})
        finally:
            await feed.aclose()
        return seen

    empty, first, late, resync = asyncio.run(ticks())
    assert (empty, first) == (set(), {"first"})
    assert "late" in late and "older" not in late
    assert resync == {"first", "late", "older"}
