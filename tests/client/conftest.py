from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_mediagen.client import AsyncMediaClient, MediaClient

from ..conftest import start_simulator

TIME_SCALE = 0.01
KEYS = {"ddukddak": "dd_live_demo", "apex": "sk_live_demo", "facedub": "fdb_demo"}


@pytest.fixture(scope="module")
def simulator() -> Iterator[Any]:
    yield from start_simulator(TIME_SCALE)


@pytest.fixture(autouse=True)
def _fresh(simulator: Any) -> None:
    simulator.reset()


@pytest.fixture
def make_client(simulator: Any) -> Iterator[Any]:
    made: list[MediaClient] = []

    def make(service: str, key: str | None = None, **options: Any) -> MediaClient:
        options.setdefault("time_scale", TIME_SCALE)
        client = MediaClient(service, key or KEYS[service], base_url=simulator.urls[service], **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def make_async_client(simulator: Any) -> Any:
    def make(service: str, key: str | None = None, **options: Any) -> AsyncMediaClient:
        options.setdefault("time_scale", TIME_SCALE)
        return AsyncMediaClient(service, key or KEYS[service], base_url=simulator.urls[service], **options)

    return make


def requests_of(simulator: Any, service: str, account: str = "demo") -> dict[str, dict[str, int]]:
    return simulator.counters()[service].get(account, {}).get("requests", {})


def total_requests(simulator: Any) -> int:
    counters = simulator.counters()
    return sum(n for svc in counters.values() for acct in svc.values()
               for statuses in acct["requests"].values() for n in statuses.values())
