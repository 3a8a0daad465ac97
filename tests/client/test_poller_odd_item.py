"""One odd item in a list answer fails only its own waiter (issue: files whole, item 3): the shared poller
reads Apex's job list item by item, so a job whose status the docs do not know (the simulator's
``unknown_status`` fault, on every read of the list and of that job) fails the wait of that job alone,
naming it and the status, while the 19 other waits of the same connection finish. Before, one unreadable
item failed the whole list read, and so every waiter of the connection."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from airflow_provider_mediagen.client import MediaGenError
from airflow_provider_mediagen.client.poller import StatusPoller

WAITERS = 20


async def test_one_odd_list_item_fails_only_its_own_waiter(make_client: Any, make_async_client: Any,
                                                           simulator: Any) -> None:
    apex = make_client("apex")
    ids = [apex.submit("image", prompt=f"odd one out {n}", width=512, height=512).id for n in range(WAITERS)]
    # One job, named: by default the rule rewrites the first non-terminal item listed, which moves when
    # jobs finish out of order (it did once under the full suite's load).
    odd = ids[-1]
    simulator.set_faults([{"service": "apex", "endpoint": "GET /api/jobs", "fault": "unknown_status",
                           "value": "weird", "job_id": odd}])
    async with make_async_client("apex") as client:
        poller = StatusPoller(client)
        outcomes = await asyncio.gather(
            *(poller.wait("image", job_id, deadline=time.time() + 120, poll_interval=0.2,
                          max_transient_failures=3) for job_id in ids),
            return_exceptions=True)
    by_id = dict(zip(ids, outcomes))
    error = by_id.pop(odd)
    assert isinstance(error, MediaGenError), error
    assert odd in str(error) and "weird" in str(error)
    assert all(not isinstance(job, BaseException) and job is not None and job.succeeded
               for job in by_id.values()), by_id
    assert poller.stats.list_reads >= 1
