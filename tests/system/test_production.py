"""The production shape, started and stopped by this test: PostgreSQL 15 (metadata DB, webhook store,
Celery results), Redis (Celery's broker and the shared rate budget), CeleryExecutor with two workers,
scheduler, dag-processor, two triggerers and two API servers behind a round-robin balancer that both the
workers' Execution API calls and the simulator's webhook deliveries go through.

The simulator runs in this process, time-scaled; it counts every request, so the checks are the service's
view: one job per task, no 429 on the shared key, and reads within the documented budget.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediagen.demo.balancer import RoundRobinBalancer
from airflow_provider_mediagen.demo.environment import job_durations
from airflow_provider_mediagen.demo.stack import AirflowStack, Shape
from benchmarks.servers import PostgresServer, RedisServer

pytestmark = [pytest.mark.system, pytest.mark.production]
TIME_SCALE = 0.1
DAG_ID = "mediagen_production"
DAGS = Path(__file__).parent / "dags"
WEBHOOK_SECRET = "whsec-production-7d1e"


@dataclass
class Production:
    stack: AirflowStack
    sim: Any
    balancer: RoundRobinBalancer
    redis: RedisServer


def _connections(sim: Any, redis_url: str, webhook_base: str) -> dict[str, str]:
    common = {"time_scale": TIME_SCALE, "rate_limit_url": redis_url}
    extras = {
        "apex": common,
        "ddukddak": {**common, "webhook_secret": WEBHOOK_SECRET, "webhook_base_url": webhook_base},
        "facedub": common,
    }
    return {f"AIRFLOW_CONN_MEDIAGEN_{service.upper()}_PROD": json.dumps({
        "conn_type": f"mediagen_{service}", "host": sim.urls[service], "password": sim.keys[service],
        "extra": extra}) for service, extra in extras.items()}


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    from airflow_provider_mediagen.simulator import SimulatorConfig, SimulatorServer

    root = tmp_path_factory.mktemp("production")
    config = SimulatorConfig(time_scale=TIME_SCALE, durations=job_durations(TIME_SCALE, 3.0))
    with PostgresServer() as postgres, RedisServer(root / "redis") as redis, \
            SimulatorServer(config) as sim:
        database = postgres.create_database("airflow")
        shape = Shape(api_servers=2, triggerers=2, celery_workers=2, celery_concurrency=4,
                      database_url=database, broker_url=redis.url)
        stack = AirflowStack(root / "home", DAGS, {"MEDIAGEN_PRODUCTION_OUTPUT": str(root / "outputs")},
                             shape=shape)
        balancer = RoundRobinBalancer(stack.api_urls).start()
        stack.extra_env.update(_connections(sim, redis.url.rsplit("/", 1)[0] + "/1", balancer.url))
        # Workers report through the balancer too, as they would to a load-balanced API.
        stack.extra_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"{balancer.url}/execution/"
        try:
            stack.migrate()
            stack.start()
            stack.wait_ready([DAG_ID], timeout=300)
            stack.set_pool("mediagen_facedub_prod", 2, "FaceDub: 2 concurrent jobs", True)
            yield Production(stack, sim, balancer, redis)
        finally:
            stack.stop()
            balancer.stop()
            assert all(p.poll() is not None for p in stack.processes.values())


def _answers(sim: Any) -> dict[str, dict[str, int]]:
    """Per service: how many answers of each status code the simulator gave."""
    totals: dict[str, dict[str, int]] = {}
    for service, accounts in sim.counters().items():
        for account in accounts.values():
            for statuses in account.get("requests", {}).values():
                for status, n in statuses.items():
                    totals.setdefault(service, {})[str(status)] = totals.get(service, {}).get(str(status), 0) + n
    return totals


def _jobs_created(sim: Any) -> dict[str, int]:
    return {service: sum(a.get("jobs_created", 0) for a in accounts.values())
            for service, accounts in sim.counters().items()}


def test_the_shape_runs_ten_tasks(production: Production) -> None:
    stack, sim = production.stack, production.sim
    counts = {"apex": 6, "ddukddak": 2, "facedub": 2}
    stack.unpause(DAG_ID)
    run_id = stack.trigger(DAG_ID, conf=counts)
    run = stack.wait_run(DAG_ID, run_id, timeout=600)
    tis = stack.task_instances(DAG_ID, run_id)
    failed = {(t["task_id"], t["map_index"]): t["state"] for t in tis if t["state"] != "success"}
    assert run["state"] == "success" and not failed, failed
    mapped = {service: sum(1 for t in tis if t["task_id"] == service) for service in counts}
    assert mapped == counts
    assert _jobs_created(sim) == counts  # one job per task, none twice
    answers = _answers(sim)
    assert all(statuses.get("429", 0) == 0 for statuses in answers.values()), answers
    # Both API servers served: the workers' Execution API calls and the webhook deliveries alternate.
    assert all(production.balancer.counts[url] > 0 for url in stack.api_urls), production.balancer.counts
