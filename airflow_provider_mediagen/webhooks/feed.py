"""What a waiting trigger learns from the receiver: the recorded state of the jobs it waits for, read
from the API server (no service read budget spent).

A tick costs what *changed*, not what waits: each job id is looked up once when its wait starts (in
pages that fit the receiver's 64 KiB body cap), and from then on one request per tick asks for the
connection's deliveries recorded after a cursor. So 20,000 waiting jobs cost ~15 requests once and one
request per tick after, where one request naming every id would pass the cap at ~1,600 ids and be refused.

Cursors are the receiver's (row time, row id). Every tick reads again what was stamped in the last
:data:`OVERLAP` seconds (by the receiver's clock), so a delivery committed by another API server a moment
after a later one was read (or stamped by a server whose clock runs a little behind) is still seen; a
repeat costs the poller nothing. Every
:data:`RESYNC` seconds all waiting ids are looked up again, the net under anything else.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx

from ..catalog import Job
from ..client import http_pool
from ..client.core import ClientCore
from ..client.secrets import Secret, install_log_filter
from .payloads import MAX_BODY_BYTES, MAX_IDS

__all__ = ["DeliveryFeed", "fetch_sync", "id_pages", "job_of_intent_sync"]

log = logging.getLogger("airflow_provider_mediagen.webhooks")

#: Bytes of job ids one request carries (the receiver refuses bodies over MAX_BODY_BYTES, 64 KiB; the rest
#: is headroom for the request's other fields).
PAGE_BYTES = 60_000
assert PAGE_BYTES < MAX_BODY_BYTES
#: Changes asked for per request, and requests one tick may make for changes.
CHANGES_LIMIT = 1000
MAX_CHANGE_PAGES = 10
OVERLAP = 2.0
RESYNC = 300.0


def id_pages(job_ids: list[str], budget: int = PAGE_BYTES) -> Iterator[list[str]]:
    """``job_ids`` in pages whose JSON stays within ``budget`` bytes."""
    page: list[str] = []
    size = 0
    for job_id in job_ids:
        cost = len(json.dumps(job_id)) + 2
        if page and (size + cost > budget or len(page) >= MAX_IDS):
            yield page
            page, size = [], 0
        page.append(job_id)
        size += cost
    if page:
        yield page


class DeliveryFeed:
    def __init__(self, states_url: str, *, interval: float = 0.5, timeout: float = 5.0) -> None:
        # Held for the feed's lifetime, so the read token stays masked in logs and errors while used.
        self._token = Secret(states_url.rsplit("token=", 1)[-1])
        install_log_filter()
        self._url = states_url
        self.interval = interval
        self._timeout = timeout
        # The loop's shared pool, as the status reads use (see ``client.http_pool``).
        shared = http_pool.lease(**ClientCore._shared_client_kwargs())
        self._shared = shared is not None
        self._http = shared or httpx.AsyncClient(timeout=timeout)
        self._closed = False
        self._cursor: tuple[float, int] | None = None
        self._looked_up: set[str] = set()
        self._resync_at = time.monotonic() + RESYNC
        self.requests = 0  # for tests and benchmarks: what the feed cost the API server

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        self.requests += 1
        response = await self._http.post(self._url, json=body, timeout=self._timeout)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    async def fetch(self, job_ids: list[str]) -> list[Job]:
        """Jobs among ``job_ids`` the receiver has a delivery for (new ones looked up, known ones through
        the changes since the last tick); an unreachable receiver yields nothing (polling stays the
        source of truth) and the next tick asks again from the same cursor."""
        if not job_ids:
            return []
        wanted = set(job_ids)
        self._looked_up &= wanted  # ended waits are forgotten
        if time.monotonic() >= self._resync_at:
            self._resync_at = time.monotonic() + RESYNC
            self._looked_up.clear()
        new = [j for j in job_ids if j not in self._looked_up]
        try:
            found = await self._read(new)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("webhook receiver unreachable (%s); polling continues", type(exc).__name__)
            return []
        self._looked_up.update(new)
        jobs: dict[str, Job] = {}
        for item in found:
            job = Job.model_validate(item)
            if job.id in wanted:
                jobs[job.id] = job  # the latest of a job read twice (a lookup and a change) wins
        return list(jobs.values())

    async def _read(self, new: list[str]) -> list[dict[str, Any]]:
        """Looks ``new`` up and reads the changes since the cursor, which moves only once every request
        of the tick succeeded (a failed tick is read again in full)."""
        pages = list(id_pages(new))
        cursor = self._cursor
        after = None if cursor is None else list(cursor)
        found: list[dict[str, Any]] = []
        for n in range(max(len(pages), MAX_CHANGE_PAGES)):
            body: dict[str, Any] = {"job_ids": pages[n] if n < len(pages) else []}
            asking_changes = after is not None or n == 0
            if asking_changes:
                # The tick's first read starts OVERLAP seconds back (the receiver's clock); its next
                # pages go on exactly where the previous one ended.
                body["changes"] = {"after": after, "limit": CHANGES_LIMIT, "overlap": OVERLAP if n == 0 else 0.0}
            answer = await self._post(body)
            found += answer["jobs"]
            more = False
            if asking_changes:
                changes = answer["changes"]
                found += changes["jobs"]
                cursor = (float(changes["cursor"][0]), int(changes["cursor"][1]))
                more = bool(changes["more"])
                after = list(cursor) if more else None
            if n + 1 >= len(pages) and not more:
                break
        self._cursor = cursor
        return found

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True  # a shared pool's lease is given back once
        if self._shared:
            await http_pool.give_back(self._http)
        else:
            await self._http.aclose()


def fetch_sync(states_url: str, job_ids: list[str], *, timeout: float = 5.0) -> list[Job]:
    """The same read for a worker waiting without a triggerer (a few ids: looked up, in pages)."""
    try:
        jobs = []
        for page in id_pages(job_ids):
            response = httpx.post(states_url, json={"job_ids": page}, timeout=timeout)
            response.raise_for_status()
            jobs += [Job.model_validate(item) for item in response.json()["jobs"]]
        return jobs
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        log.warning("webhook receiver unreachable (%s); will ask again", type(exc).__name__)
        return []


def job_of_intent_sync(states_url: str, intent_id: str, *, timeout: float = 5.0) -> Job | None:
    """The job a delivery said the submission ``intent_id`` created, once one has arrived."""
    try:
        response = httpx.post(states_url, json={"job_ids": [], "intents": [intent_id]}, timeout=timeout)
        response.raise_for_status()
        found = response.json().get("intents", {}).get(intent_id)
        return None if found is None else Job.model_validate(found)
    except (httpx.HTTPError, ValueError, KeyError, AttributeError) as exc:
        log.warning("webhook receiver unreachable (%s); will ask again", type(exc).__name__)
        return None
