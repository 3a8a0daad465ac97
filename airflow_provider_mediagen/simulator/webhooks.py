"""Webhook delivery with each service's retry schedule, run as background tasks in the event loop.

A delivery is one payload for one URL. The first attempt is immediate; after a failed attempt (a
non-2xx answer, a connection error, or no answer within the timeout) the sender waits the next delay
of the schedule (documented seconds × time scale) and tries again: Ddukddak 1 s, 3 s, 9 s;
Apex 10 s, 60 s, 300 s with a 10 s answer deadline. After the last retry the delivery is given up.

The answer deadline is time-scaled too, but never below ``MIN_TIMEOUT`` real seconds: a loopback
receiver on a busy machine must not be declared dead by a 0.1 s deadline in a fast test run.

Faults (see ``faults.py``), decided per delivery attempt or per successful delivery:

- ``webhook_fail``: the attempt fails without reaching the receiver; the schedule continues.
- ``webhook_duplicate``: after a successful delivery the same payload is delivered once more.
- ``webhook_out_of_order``: after a successful delivery of the final event, a *stale* payload that
  describes the job's earlier, non-terminal state is delivered (Ddukddak: ``status: "pending"`` and a
  null URL; Apex: ``event: "job.processing"`` with ``data.status: "processing"`` and the job's
  creation time as ``timestamp``). A correct consumer must never move a finished job backwards.
- ``webhook_forge``: when the job is created, a forged ``completed`` payload is POSTed once to the
  same URL without the delivery's extra headers (so never signed), by :meth:`WebhookSender.send_forged`;
  the real delivery names that task in ``after`` and starts only once it is over, so the forgery
  always arrives first. A consumer must not believe a payload it cannot authenticate.

Every HTTP attempt of the service (including duplicates and stale events) is counted: attempted /
delivered / failed. Forged deliveries are the attacker's, not the service's: they count only as
``webhooks_forged``.

Nothing leaves this machine unless asked: a URL that passes the documented rules but whose host is not
``localhost`` or a loopback address is accepted (the real service would accept it), and each delivery to
it is recorded, not sent: counted as ``withheld`` (no attempt, no retries) and logged once per host.
``deliver_public_webhooks`` (``mediagen sim --deliver-public-webhooks``) really sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from .clock import Clock
from .counters import Counters
from .faults import FaultInjector
from .urls import is_on_this_machine

log = logging.getLogger(__name__)

MIN_TIMEOUT = 1.0
#: Real seconds the forger waits for an answer (it does not retry, so there is no schedule to keep).
FORGE_TIMEOUT = 10.0


@dataclass
class Delivery:
    service: str
    account: str
    url: str
    payload: dict[str, Any]
    retry_delays: tuple[float, ...]
    timeout: float
    stale_payload: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: A task to wait for before the first attempt (the forged delivery of ``webhook_forge``).
    after: asyncio.Task[Any] | None = None


USER_AGENT = "mediagen-simulator-webhooks/1"


class WebhookSender:
    """Sends deliveries without blocking requests; owns the background tasks it starts."""

    def __init__(
        self,
        clock: Clock,
        counters: Counters,
        faults: FaultInjector,
        deliver_public: Callable[[], bool] = lambda: False,
    ) -> None:
        self._clock = clock
        self._counters = counters
        self._faults = faults
        self._deliver_public = deliver_public
        self._withheld_hosts: set[str] = set()
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def close(self) -> None:
        self.cancel_all()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    def pending(self) -> int:
        """Deliveries (and forgeries) still in flight."""
        return len(self._tasks)

    def send(self, delivery: Delivery) -> asyncio.Task[Any]:
        """Start delivering in the background (must be called from the event loop)."""
        return self._start(self._deliver(delivery))

    def send_forged(self, url: str, payload: dict[str, Any]) -> asyncio.Task[Any]:
        """POST a forged payload once, unsigned and uncounted as an attempt (``webhook_forge``)."""
        return self._start(self._forge(url, payload))

    def _start(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _may_reach(self, url: str) -> bool:
        """Loopback receivers always; any other host only with ``deliver_public_webhooks`` (logged once
        per host otherwise, without the path, which may hold a token)."""
        if is_on_this_machine(url) or self._deliver_public():
            return True
        host = urlsplit(url).hostname or "(no host)"
        if host not in self._withheld_hosts:
            self._withheld_hosts.add(host)
            log.warning(
                "webhook deliveries to %s are recorded as withheld, not sent: it is not this machine and "
                "deliver_public_webhooks is off (mediagen sim --deliver-public-webhooks sends them)",
                host,
            )
        return False

    async def _forge(self, url: str, payload: dict[str, Any]) -> bool:
        return self._may_reach(url) and await self._post(url, payload, {}, FORGE_TIMEOUT)

    async def _post(self, url: str, payload: dict[str, Any], headers: dict[str, str], timeout: float) -> bool:
        """One HTTP attempt; True on a 2xx answer."""
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        with contextlib.suppress(httpx.HTTPError, OSError):
            response = await self._client.post(
                url, json=payload, headers={"User-Agent": USER_AGENT, **headers}, timeout=timeout
            )
            return 200 <= response.status_code < 300
        return False

    async def _deliver(self, delivery: Delivery) -> None:
        if not self._may_reach(delivery.url):
            self._counters.webhook_withheld(delivery.service, delivery.account)
            return
        if delivery.after is not None:
            await asyncio.wait({delivery.after})  # never raises for the awaited task's own outcome
        delivered = False
        for delay in (0.0, *delivery.retry_delays):
            if delay:
                await asyncio.sleep(self._clock.scaled(delay))
            delivered = await self._attempt(delivery, delivery.payload, allow_fault=True)
            if delivered:
                break
        if not delivered:
            return
        if self._faults.webhook_fault("webhook_duplicate", delivery.service, delivery.account):
            await self._attempt(delivery, delivery.payload, allow_fault=False)
        if delivery.stale_payload is not None and self._faults.webhook_fault(
            "webhook_out_of_order", delivery.service, delivery.account
        ):
            await self._attempt(delivery, delivery.stale_payload, allow_fault=False)

    async def _attempt(self, delivery: Delivery, payload: dict[str, Any], allow_fault: bool) -> bool:
        if allow_fault and self._faults.webhook_fault("webhook_fail", delivery.service, delivery.account):
            self._counters.webhook(delivery.service, delivery.account, delivered=False)
            return False
        timeout = max(self._clock.scaled(delivery.timeout), MIN_TIMEOUT)
        ok = await self._post(delivery.url, payload, delivery.headers, timeout)
        self._counters.webhook(delivery.service, delivery.account, delivered=ok)
        return ok
