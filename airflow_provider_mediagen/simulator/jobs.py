"""Asynchronous jobs and the clock that drives their lifecycle.

A job is created with a schedule of phases (status and, for FaceDub, stage) at fractions of its
duration, ending in a terminal phase (``completed``, or ``failed`` when a fault asked for it). Phases
are applied by :meth:`JobStore.advance`, which runs from a background ticker in the server's event
loop *and* before every read, so a poll never sees a stale status. When a job reaches its terminal
phase the service's ``on_finish`` callback runs first (it attaches outputs, refunds credits and
queues webhooks), then watchers (SSE streams) are woken.

Durations are fixed when the job is created (``documented seconds × time_scale`` at that moment);
changing the time scale later affects new jobs only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .accounts import Account
from .clock import Clock

TERMINAL = frozenset({"completed", "failed"})


@dataclass(frozen=True)
class Phase:
    """A status (and optional stage) that starts at ``fraction`` of the job's duration."""

    fraction: float
    status: str
    stage: str | None = None


@dataclass
class Job:
    """One job of any service; ``data`` holds the service's own request fields and results."""

    service: str
    id: str
    kind: str
    account: Account
    endpoint: str
    created_at: float  # wall clock
    created_mono: float
    duration: float  # real seconds
    phases: list[Phase]
    final: Phase
    will_fail: bool
    data: dict[str, Any] = field(default_factory=dict)
    on_finish: Callable[[Job], None] | None = None
    phase_index: int = 0
    finished_at: float | None = None
    watchers: set[asyncio.Queue[None]] = field(default_factory=set)

    @property
    def current(self) -> Phase:
        return self.final if self.finished_at is not None else self.phases[self.phase_index]

    @property
    def status(self) -> str:
        return self.current.status

    @property
    def stage(self) -> str | None:
        return self.current.stage

    @property
    def terminal(self) -> bool:
        return self.finished_at is not None

    def _due(self, fraction: float) -> float:
        return self.created_mono + fraction * self.duration

    def advance(self, now_mono: float, now_wall: float) -> bool:
        """Apply every phase that is due; return whether anything changed."""
        if self.terminal:
            return False
        changed = False
        while self.phase_index + 1 < len(self.phases) and now_mono >= self._due(
            self.phases[self.phase_index + 1].fraction
        ):
            self.phase_index += 1
            changed = True
        if now_mono >= self._due(1.0):
            self.finished_at = now_wall
            if self.on_finish is not None:
                self.on_finish(self)
            changed = True
        if changed:
            for queue in list(self.watchers):
                queue.put_nowait(None)
        return changed


class JobStore:
    """All jobs of all services, plus the ticker that advances them."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._jobs: dict[tuple[str, str], Job] = {}
        self._active: dict[tuple[str, str], Job] = {}
        self._wakeup = asyncio.Event()

    def create(
        self,
        *,
        service: str,
        job_id: str,
        kind: str,
        account: Account,
        endpoint: str,
        documented_seconds: float,
        phases: list[Phase],
        success: Phase,
        failure: Phase,
        will_fail: bool,
        data: dict[str, Any],
        on_finish: Callable[[Job], None] | None,
    ) -> Job:
        job = Job(
            service=service,
            id=job_id,
            kind=kind,
            account=account,
            endpoint=endpoint,
            created_at=self._clock.wall(),
            created_mono=self._clock.monotonic(),
            duration=self._clock.scaled(documented_seconds),
            phases=phases,
            final=failure if will_fail else success,
            will_fail=will_fail,
            data=data,
            on_finish=on_finish,
        )
        self._jobs[(service, job_id)] = job
        self._active[(service, job_id)] = job
        self._wakeup.set()
        return job

    def get(self, service: str, job_id: str) -> Job | None:
        self.advance()
        return self._jobs.get((service, job_id))

    def list(self, service: str | None = None, account: Account | None = None) -> list[Job]:
        """Jobs newest first, optionally of one service / account."""
        self.advance()
        jobs = [
            j
            for j in self._jobs.values()
            if (service is None or j.service == service) and (account is None or j.account is account)
        ]
        return sorted(jobs, key=lambda j: j.created_mono, reverse=True)

    def running(self, service: str, account: Account) -> list[Job]:
        self.advance()
        return [j for j in self._active.values() if j.service == service and j.account is account]

    def advance(self) -> None:
        now_mono, now_wall = self._clock.monotonic(), self._clock.wall()
        for key, job in list(self._active.items()):
            job.advance(now_mono, now_wall)
            if job.terminal:
                self._active.pop(key, None)

    def clear(self) -> None:
        for job in self._jobs.values():
            for queue in job.watchers:
                queue.put_nowait(None)
        self._jobs.clear()
        self._active.clear()

    async def run_ticker(self, interval: float = 0.01) -> None:
        """Advance jobs forever: every ``interval`` while some are active, else sleep until one is."""
        while True:
            self.advance()
            if self._active:
                await asyncio.sleep(interval)
            else:
                self._wakeup.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=1.0)
