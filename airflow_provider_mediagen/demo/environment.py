"""What the example DAGs expect around them, in one place for the demo, the example tests and the
system test: simulator accounts, Airflow connections pointing at the simulator, the Variable naming
the output destination, and the pool that keeps FaceDub within its two concurrent jobs.

Nothing here imports Airflow, so the demo can build an Airflow home before Airflow reads it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "BUDGET_ACCOUNT",
    "EXAMPLE_ACCOUNTS",
    "OUTPUT_VARIABLE",
    "POOLS",
    "connection_env",
    "connections",
    "job_durations",
    "variable_env",
]

#: An Apex account with a small balance: example 5's guard stops its batch at 20 credits left.
BUDGET_ACCOUNT: dict[str, Any] = {"service": "apex", "key": "sk_live_budget-demo", "plan": "enterprise",
                                  "credits": 60, "name": "budget"}

#: Accounts the simulator needs beyond its defaults (``SimulatorConfig(accounts=...)``).
EXAMPLE_ACCOUNTS: list[dict[str, Any]] = [BUDGET_ACCOUNT]

#: ``(name, slots, description, include_deferred)``: FaceDub processes at most 2 jobs per account.
POOLS: list[tuple[str, int, str, bool]] = [
    ("facedub", 2, "FaceDub: at most 2 concurrent jobs per account", True),
]

#: Airflow Variable the example DAGs render their output destination from.
OUTPUT_VARIABLE = "mediagen_output"


def connections(urls: Mapping[str, str], keys: Mapping[str, str], time_scale: float,
                rate_limit_url: str | None = None) -> dict[str, dict[str, Any]]:
    """``conn_id -> connection`` (Airflow's JSON form) for the simulator at ``urls`` with ``keys``; with
    ``rate_limit_url``, every process spends one rate budget per key (kept in that Redis)."""
    extra: dict[str, Any] = {"time_scale": time_scale} if time_scale != 1 else {}
    if rate_limit_url:
        extra["rate_limit_url"] = rate_limit_url
    conns = {f"mediagen_{service}_default": {"conn_type": f"mediagen_{service}", "host": urls[service],
                                             "password": keys[service], "extra": extra}
             for service in ("ddukddak", "apex", "facedub")}
    conns["mediagen_apex_budget"] = {"conn_type": "mediagen_apex", "host": urls["apex"],
                                     "password": BUDGET_ACCOUNT["key"], "extra": extra}
    return conns


def connection_env(urls: Mapping[str, str], keys: Mapping[str, str], time_scale: float,
                   rate_limit_url: str | None = None) -> dict[str, str]:
    """The same connections as ``AIRFLOW_CONN_*`` environment variables."""
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn)
            for conn_id, conn in connections(urls, keys, time_scale, rate_limit_url).items()}


def variable_env(output: str) -> dict[str, str]:
    return {f"AIRFLOW_VAR_{OUTPUT_VARIABLE.upper()}": output}


def job_durations(time_scale: float, floor_seconds: float) -> dict[str, float]:
    """Simulator durations (documented seconds) under which no job finishes in less than ``floor_seconds``
    of real time at ``time_scale``.

    Why a floor: when a trigger fires within about a second of its task's deferral, Airflow 3.3's
    scheduler can take the stale "success" of the deferring worker process for the resumed try and
    fail it as "killed externally" (LocalExecutor reuses the try's key). Real renders take far longer
    than that; a time-scaled 8-second image would not.
    """
    from ..simulator.config import default_durations

    floor = floor_seconds / time_scale
    return {kind: max(seconds, floor) for kind, seconds in default_durations().items()}
