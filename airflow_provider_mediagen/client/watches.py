"""What a status poller keeps: one :class:`Watch` per waited-on job, its counters (:class:`PollerStats`),
the :class:`Feed` of recorded deliveries it may read, and the error of a released poller. Split from
:mod:`.poller`."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Protocol

from ..catalog import Job

__all__ = ["Feed", "PollerReleasedError", "PollerStats", "Watch"]


class PollerReleasedError(RuntimeError):
    """A wait asked of a poller released for idleness (``shared_poller`` never hands one out)."""


class Feed(Protocol):
    """Somewhere recorded deliveries can be read from (see ``webhooks.feed.DeliveryFeed``)."""

    interval: float

    async def fetch(self, job_ids: list[str]) -> list[Job]: ...

    async def aclose(self) -> None: ...


@dataclass
class Watch:
    """One job a poller reads for its waiters: when it is due, what was last read, how reads fail."""

    kind: str
    job_id: str
    interval: float
    next_due: float
    job: Job | None = None
    error: BaseException | None = None
    failures: int = 0
    listed: bool = True  # seen (or still expected) in the list endpoint's window
    failures_tolerated: int = 10  # consecutive transient read failures
    streaming: bool = False  # a status stream is open: reads can wait longer
    stream_task: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    waiters: int = 0
    woken_rank: int = -1  # the most advanced delivered status a confirming read was already asked for
    since: float = field(default_factory=time.monotonic)  # for read-after-write lag (errors.READ_LAG_GRACE)
    failing_since: float | None = None  # wall clock of the first of the current run of failed reads
    last_error: str | None = None


@dataclass
class PollerStats:
    list_reads: int = 0
    single_reads: int = 0
    reports: int = 0
    confirmations: int = 0  # deliveries that made a job due for a confirming read
    feed_reads: int = 0
    stream_updates: int = 0
    errors: int = 0
