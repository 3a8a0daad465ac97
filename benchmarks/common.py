"""What every part of the benchmark shares: the services as the benchmark drives them, the documented
budgets (read from the catalog, so the bound follows the docs the provider was built from), the
budget-derived bounds and small statistics helpers.

All durations below are *documented* seconds (what the real service takes); the harness multiplies
them by the time scale when it runs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

SERVICES = ("ddukddak", "apex", "facedub")


@dataclass(frozen=True)
class BenchService:
    name: str
    kind: str  # the catalog job kind waited for
    duration_key: str  # the simulator's durations key for that kind
    read_class: str  # the catalog rate-limit class of its status reads
    list_page: int  # jobs one list read reports (0: no list endpoint)
    per_account: int | None  # jobs one account may have in flight (FaceDub: 2)
    key_prefix: str
    plan: str


BENCH = {
    # AI video: 240 s typical, polled every 30 s by default (the docs' advice); status reads share the one 30 / 10 s budget.
    "ddukddak": BenchService("ddukddak", "ai_video", "ddukddak.ai_video", "all", 0, None, "dd_live_", "enterprise"),
    # Video: 120 s typical, polled every 2 s by default (the docs' example); GET /api/jobs lists the 50 newest, ?id= reads one; 20 / 10 s.
    "apex": BenchService("apex", "video", "apex.video", "read", 50, None, "sk_live_", "enterprise"),
    # Video: 90 s typical, polled every 5 s by default (the docs' example); GET /jobs lists 50; 60 / min sliding; 2 jobs in flight per user.
    "facedub": BenchService("facedub", "video", "facedub.job", "job_reads", 50, 2, "fdb_", "agency"),
}


def catalog_limit(service: str, cls: str) -> tuple[int, float]:
    """(limit, window seconds) of a documented rate-limit class, from the provider's catalog."""
    from airflow_provider_mediagen.catalog import get_service

    spec = get_service(service).rate_limits[cls]
    return spec.limit, spec.window_seconds


def paced_target(target: float, bound: float, windows: int, scale: float, transit_s: float) -> float:
    """A makespan target over a documented bound, widened by what the client's transit allowance
    (``transit_s`` real seconds per window, recorded with the row: 0 for rows measured before it existed)
    adds to the ``windows`` rate windows the bound waits out: 2.5 % of a 10 s window at scale 1, 25 % at
    scale 0.1."""
    return target * (1 + windows * transit_s / scale / bound) if bound else target


def transit_seconds() -> float:
    """The client's transit allowance now, recorded with each row it paces."""
    from airflow_provider_mediagen.client.ratelimit import TRANSIT_SECONDS

    return TRANSIT_SECONDS


def submit_windows(service: str, n: int) -> int:
    """The rate windows n submissions wait out at the documented submit limit (none for FaceDub, whose
    bound is its 2 jobs in flight)."""
    if service == "facedub":
        return 0
    limit, _ = submit_limit(service)
    return math.ceil(n / limit) - 1


def read_interval(service: str) -> float:
    """Documented seconds between two reads when the read budget is spent exactly."""
    limit, window = catalog_limit(service, BENCH[service].read_class)
    return window / limit


def submit_class(service: str) -> str:
    return {"ddukddak": "all", "apex": "generation", "facedub": "create_job"}[service]


def submit_limit(service: str) -> tuple[int, float]:
    return catalog_limit(service, submit_class(service))


def default_poll_interval(service: str) -> float:
    """What the operators pass to the trigger by default (the provider's own rule)."""
    from airflow_provider_mediagen.catalog import get_service
    from airflow_provider_mediagen.client.protocol import ServiceProtocol

    return ServiceProtocol(get_service(service)).default_poll_interval(BENCH[service].kind)


def reads_per_sweep(service: str, jobs_on_account: int) -> int:
    """The fewest documented reads that report every one of ``jobs_on_account`` jobs of one account once.

    Ddukddak has no list endpoint: one read per job. Apex and FaceDub list the 50 newest jobs in one
    read; older ones need one read each (Apex ``?id=``, FaceDub ``/jobs/{id}``)."""
    page = BENCH[service].list_page
    if jobs_on_account <= 0:
        return 0
    if not page:
        return jobs_on_account
    return 1 + max(0, jobs_on_account - page)


def budget_bound(service: str, jobs_on_account: int) -> float:
    """Documented seconds an ideal reader spending the *whole* documented read budget of one account
    needs to read every job once: the worst-case time to learn that a job finished (a job that finishes
    just after its read is seen one sweep later). For many accounts the accounts' budgets are
    independent, so the bound of a scenario is the largest per-account bound."""
    return reads_per_sweep(service, jobs_on_account) * read_interval(service)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def pin(cpu: int | None) -> None:
    """Pin this process to one CPU (when the machine has it)."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    try:
        if cpu in os.sched_getaffinity(0) or cpu < (os.cpu_count() or 1):
            os.sched_setaffinity(0, {cpu})
    except OSError:
        pass


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "inf"
        return f"{value:.{digits}f}"
    return str(value)
