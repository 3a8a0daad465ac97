"""The credits ledger over 100,000 task instances (issue 34): the query (``mediagen credits``) and the API
server's route, on SQLite and on PostgreSQL.

For each database: a throwaway AIRFLOW_HOME, ``airflow db migrate``, then one worker process
(``python -m benchmarks.ledger worker N``) that seeds N task instances of 50 DAGs with their XCom
entries (10 % of them a failed, refunded try before the paid one: two entries), spread over the last 7
days, then times the query for every grouping and the route (the real API server app, served by uvicorn
on loopback in the worker, with SimpleAuthManager's all-admins token), median of 5 after one warm-up.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DAGS = 50
REPEATS = 5
FAILED_SHARE = 0.1
PRICE = 30.0  # an Apex 1024x1024 image
BATCH = 5_000


def _entries(i: int, conn_id: str) -> list[dict[str, Any]]:
    paid = {"service": "apex", "kind": "image", "conn_id": conn_id, "job_id": f"job-{i}", "status": "succeeded",
            "credits_estimated": PRICE, "credits_charged": PRICE, "credits_refunded": 0.0}
    if i % int(1 / FAILED_SHARE):
        return [paid]
    return [{**paid, "job_id": f"job-{i}-failed", "status": "failed", "credits_refunded": PRICE}, paid]


def expected(n: int) -> dict[str, float]:
    failed = len(range(0, n, int(1 / FAILED_SHARE)))
    return {"jobs": n + failed, "failed": failed, "charged": (n + failed) * PRICE, "refunded": failed * PRICE}


def seed(n: int) -> float:
    """Inserts the DAGs, runs, task instances and XComs with SQLAlchemy Core in batches; returns seconds."""
    from airflow import settings
    from airflow.models import DagModel, DagRun, TaskInstance
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.xcom import XComModel

    from airflow_provider_mediagen.ledger import XCOM_KEY

    started = time.perf_counter()
    now = datetime.now(timezone.utc)
    span = timedelta(days=7).total_seconds() * 0.99
    with settings.engine.begin() as db:
        db.execute(DagBundleModel.__table__.insert(), [{"name": "ledger-bench"}])
        db.execute(DagModel.__table__.insert(), [
            {"dag_id": f"ledger_bench_{d:02}", "bundle_name": "ledger-bench", "max_active_tasks": 16,
             "max_consecutive_failed_dag_runs": 0, "has_task_concurrency_limits": False} for d in range(DAGS)])
    for start in range(0, n, BATCH):
        runs, tis, xcoms = [], [], []
        for i in range(start, min(n, start + BATCH)):
            dag_id, run_id = f"ledger_bench_{i % DAGS:02}", f"bench__{i:06}"
            at = now - timedelta(seconds=span * (i / n))
            runs.append({"id": i + 1, "dag_id": dag_id, "run_id": run_id, "run_type": "manual", "state": "success",
                         "run_after": at, "logical_date": at, "start_date": at, "end_date": at})
            tis.append({"id": uuid.uuid4(), "task_id": "generate", "dag_id": dag_id, "run_id": run_id,
                        "map_index": -1, "pool": "default_pool", "state": "success", "try_number": 1,
                        "start_date": at, "end_date": at})
            xcoms.append({"dag_run_id": i + 1, "task_id": "generate", "map_index": -1, "key": XCOM_KEY,
                          "dag_id": dag_id, "run_id": run_id, "timestamp": at,
                          # As the execution API stores a pushed value: serialized by the worker's SDK.
                          "value": json.dumps(_entries(i, f"mediagen_apex_{i % 7}"))})
        with settings.engine.begin() as db:
            db.execute(DagRun.__table__.insert(), runs)
            db.execute(TaskInstance.__table__.insert(), tis)
            db.execute(XComModel.__table__.insert(), xcoms)
    if settings.engine.dialect.name == "postgresql":
        with settings.engine.begin() as db:
            from sqlalchemy import text

            db.execute(text("ANALYZE"))
    return time.perf_counter() - started


def _median(run: Any) -> tuple[float, Any]:
    run()  # warm-up (first connection, caches)
    times, out = [], None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _serve() -> tuple[Any, str]:
    import uvicorn
    from airflow.api_fastapi.app import create_app

    from airflow_provider_mediagen.demo.stack import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 120
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def worker(n: int) -> dict[str, Any]:
    import httpx
    from airflow import settings
    from airflow.utils.session import create_session

    from airflow_provider_mediagen.ledger.query import BY, ledger, overview

    out: dict[str, Any] = {"tis": n, "db": settings.engine.dialect.name, "seed_s": seed(n), "query_s": {}}
    since = datetime.now(timezone.utc) - timedelta(days=7, hours=1)
    totals, grouped, out["python_s"], out["python_agrees"] = {}, {}, {}, True
    for by in BY:
        def query(by: str = by, in_database: bool = True) -> Any:
            with create_session() as session:
                return ledger(session, since, by, in_database=in_database)
        out["query_s"][by], report = _median(query)
        totals[by], grouped[by] = report.total.model_dump(), report.groups
        # The same sums made in Python from every entry (the path for other databases): equal, and slower.
        out["python_s"][by], python = _median(lambda by=by: query(by, in_database=False))
        out["python_agrees"] &= python.groups == report.groups and python.total == report.total

    def page() -> Any:
        with create_session() as session:
            return overview(session, since)
    out["overview_s"], seen = _median(page)
    out["overview_total"] = seen.total.model_dump()
    out["overview_agrees"] = all(seen.groups[by] == grouped[by] for by in BY)  # one pass = one query per by
    out["notable_jobs"] = len(seen.jobs)
    out["notable_failed"] = sum(j.status == "failed" and j.credits_refunded == PRICE for j in seen.jobs)
    out["query_1d_s"], day = _median(lambda: ledger_since(datetime.now(timezone.utc) - timedelta(days=1)))
    out["jobs_1d"] = day.total.jobs
    out["total"] = totals["dag"]
    out["groups_agree"] = all(t == totals["dag"] for t in totals.values())
    server, base = _serve()
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            token = client.get("/auth/token").json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            params = {"since": "7d", "by": "dag", "balances": "false"}

            def route() -> Any:
                answer = client.get("/mediagen/credits", params=params, headers=headers)
                answer.raise_for_status()
                return answer.json()

            out["route_s"], body = _median(route)
            out["route_total"] = body["total"]
            out["route_groups"] = len(body["groups"])
    finally:
        server.should_exit = True
    return out


def ledger_since(since: datetime) -> Any:
    from airflow.utils.session import create_session

    from airflow_provider_mediagen.ledger.query import ledger

    with create_session() as session:
        return ledger(session, since, "day")


def run_ledger(n: int, databases: tuple[str, ...] = ("sqlite", "postgresql")) -> list[dict[str, Any]]:
    """One worker per database; returns its measurements (plus the migration's seconds)."""
    from airflow_provider_mediagen.demo.servers import PostgresServer

    rows = []
    for database in databases:
        with tempfile.TemporaryDirectory(prefix="mediagen-ledger-") as home:
            pg = PostgresServer().start() if database == "postgresql" else None
            try:
                url = pg.create_database("airflow") if pg else f"sqlite:///{home}/airflow.db"
                env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {
                    "AIRFLOW_HOME": home, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
                    "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                    "AIRFLOW__CORE__DAGS_FOLDER": str(Path(home) / "dags"),
                }
                if pg is not None:  # psycopg 3 serves Airflow's async engine too (no asyncpg needed)
                    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = url
                t0 = time.perf_counter()
                migrated = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env,
                                          capture_output=True, text=True, timeout=900)
                if migrated.returncode != 0:
                    raise RuntimeError(f"airflow db migrate failed on {database}: {migrated.stderr[-3000:]}")
                migrate_s = time.perf_counter() - t0
                result = Path(home) / "result.json"  # not stdout: Airflow and uvicorn log there too
                done = subprocess.run([sys.executable, "-m", "benchmarks.ledger", "worker", str(n), str(result)],
                                      env=env, capture_output=True, text=True, timeout=1800,
                                      cwd=Path(__file__).resolve().parents[1])
                if done.returncode != 0 or not result.exists():
                    raise RuntimeError(f"ledger worker failed on {database}: {done.stderr[-3000:]}")
                row = json.loads(result.read_text())
                rows.append(row | {"migrate_s": migrate_s, "expected": expected(n)})
            finally:
                if pg is not None:
                    pg.stop()
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        Path(sys.argv[3]).write_text(json.dumps(worker(int(sys.argv[2])), default=str))
    else:
        for row in run_ledger(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000):
            print(json.dumps(row, default=str))
