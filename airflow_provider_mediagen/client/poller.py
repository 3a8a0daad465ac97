"""One status poller per (service, credentials) per event loop, shared by every waiting job.

Thousands of deferred tasks in one triggerer must not become thousands of polling loops: the services'
read budgets are tiny (20 reads per 10 s, 60 per minute, or one budget of 30 per 10 s for everything).
The poller keeps one loop that spends a share of the documented read budget and no more, prefers the
list endpoints (``JobKind.list``: up to 50 jobs in one read),
falls back to one-job reads for jobs the list no longer shows, honours Retry-After (through the
client), and fans each result out to the waiters of that job. A failing job or a cancelled waiter
never stalls the others.

Faster paths than polling plug in here, with polling kept as the source of truth (a lost webhook costs
latency, never a stuck wait): a *feed* (the webhook receiver's recorded deliveries, read in one local
request per tick without spending the service's budget) and, for services with a status stream
(``JobKind.stream``, given a JWT), one stream per job. Neither ever moves a job backwards.

A delivery from the feed is not trusted as a verdict: anyone who learns the receiver's URL token (it
sits in URLs that proxies log and that the services store) can post one. For a kind that can be polled,
:meth:`StatusPoller.report` only makes the job due for an immediate confirming read, and the service's
own answer is the verdict; only webhook-only kinds (no status or list endpoint) are finished by a delivery.
Stream updates come from the service itself (over TLS, authenticated with the JWT) and are applied as
they come.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from ..catalog import Job
from . import errors
from .aio import AsyncMediaClient
from .watches import Feed, PollerReleasedError, PollerStats, Watch

__all__ = ["DEFAULT_READ_SHARE", "READ_SHARE_RANGE", "PollerReleasedError", "PollerStats", "StatusPoller"]

#: The part of the documented read budget a poller spends by default; the rest is left to submits
#: (a service with one budget for every endpoint spends it on both), workers' own reads and other clients of the key.
DEFAULT_READ_SHARE = 0.8
#: Seconds a poller with nothing to wait for keeps its client before it is released (closed, forgotten).
IDLE_RELEASE = 30.0
#: Seconds between two re-reads of the connection after the service refused the key.
RENEW_EVERY = 30.0
#: Seconds between two re-reads of the connection asked for by new waits (a changed key or base URL is
#: picked up by the next wait at most this long after the change, without a triggerer restart): far
#: apart, since a lookup masks the connection's secrets again, which is costly with thousands of them.
REFRESH_EVERY = 120.0
READ_SHARE_RANGE = (0.05, 1.0)

log = logging.getLogger("airflow_provider_mediagen.poller")


class StatusPoller:
    """Coalesced status reads for one service account.

    ``read_share`` is the part of the documented read budget this poller may spend (the rest is left to
    workers checking jobs and to other processes); ``max_transient_failures`` is how many consecutive
    transient failures a job's reads may see before its waiters get the error.
    """

    def __init__(self, client: AsyncMediaClient, *, read_share: float = DEFAULT_READ_SHARE, max_transient_failures: int = 10,
                 list_page: int = 50, feed: Feed | None = None, stream_token: str | None = None,
                 renew: Callable[[], Awaitable[AsyncMediaClient | None]] | None = None,
                 on_release: Callable[[StatusPoller], None] | None = None,
                 idle_release: float | None = None) -> None:
        self.client = client
        self.renew = renew
        self.on_release = on_release
        self.idle_release = IDLE_RELEASE if idle_release is None else idle_release
        self.released = False
        self._renewed_at = 0.0
        self._refreshed_at = time.monotonic()
        self._refresh_wanted = False
        self.feed = feed
        self.stream_token = stream_token
        self._last_feed = 0.0
        self.service = client.service
        self.read_share = read_share
        self.max_transient_failures = max_transient_failures
        self.list_page = list_page
        self.stats = PollerStats()
        self._watches: dict[str, Watch] = {}
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._list_kind = next((k.name for k in self.service.kinds.values() if k.list), None)
        self._spacing = self._read_spacing()

    def _read_spacing(self) -> float:
        """Seconds between two reads so that the poller spends ``read_share`` of the tightest budget its
        reads fall in (list and single reads share a class in every documented service)."""
        classes = {self.service.endpoint(k.status or k.list or "").rate_limit
                   for k in self.service.kinds.values() if k.pollable}
        self._read_class = max(classes, key=lambda c: self.service.rate_limits[c].min_interval, default=None)
        spacing = max((self.service.rate_limits[c].min_interval for c in classes), default=1.0)
        return spacing * self.client.time_scale / max(0.01, self.read_share)

    # --- waiting --------------------------------------------------------------------------------

    async def wait(self, kind: str, job_id: str, *, deadline: float, poll_interval: float,
                   max_transient_failures: int | None = None, heartbeat: float = 60.0,
                   on_update: Callable[[Job | None, bool], Awaitable[None] | None] | None = None,
                   not_before: float | None = None) -> Job | None:
        """The job once terminal, or ``None`` when the wall-clock ``deadline`` (epoch seconds) passes.
        Its first read is not before the wall-clock ``not_before``, if given.

        ``on_update(job, changed)`` is called on every change, and every ``heartbeat`` seconds without
        one (for progress logs). Raises the job's error when its reads keep failing (not found, auth,
        more than ``max_transient_failures`` transient failures in a row)."""
        if self.released:
            raise PollerReleasedError("this poller was released (idle); ask for the shared poller again")
        watch = self._watches.get(job_id)
        if watch is None:
            first = time.monotonic() + (max(0.0, not_before - time.time()) if not_before else 0.0)
            watch = Watch(kind=kind, job_id=job_id, interval=poll_interval, next_due=first,
                           failures_tolerated=self.max_transient_failures if max_transient_failures is None
                           else max_transient_failures)
            self._watches[job_id] = watch
            self._open_stream(watch)
        else:
            watch.interval = min(watch.interval, poll_interval)
        watch.waiters += 1
        self._ensure_running()
        self._wakeup.set()
        last_seen: Job | None = None
        first_beat = True
        try:
            while True:
                if watch.error is not None:
                    raise watch.error
                changed = watch.job is not None and watch.job is not last_seen
                if changed:
                    last_seen = watch.job
                    await self._notify(on_update, watch.job, True)
                    if watch.job is not None and watch.job.terminal:
                        return watch.job
                left = deadline - time.time()
                if left <= 0:
                    return None
                watch.changed.clear()
                # The first heartbeat is spread out, so waits that start together (a triggerer restart)
                # do not all log in the same loop iteration.
                beat = heartbeat * random.uniform(0.5, 1.0) if last_seen is None and first_beat else heartbeat
                first_beat = False
                try:
                    await asyncio.wait_for(watch.changed.wait(), timeout=min(left, beat))
                except asyncio.TimeoutError:
                    if not watch.changed.is_set():
                        await self._notify(on_update, watch.job, False)
        finally:
            watch.waiters -= 1
            if watch.waiters <= 0:
                self._watches.pop(job_id, None)
                if watch.stream_task is not None:
                    watch.stream_task.cancel()

    @staticmethod
    async def _notify(callback: Callable[[Job | None, bool], Awaitable[None] | None] | None, job: Job | None,
                      changed: bool) -> None:
        if callback is not None:
            result = callback(job, changed)
            if asyncio.iscoroutine(result):
                await result

    def report(self, job: Job) -> None:
        """Take a status a webhook delivery claims. A delivery is only authenticated by a URL token that
        leaks easily, so for a kind that can be polled it is a wake-up, never a verdict: the job becomes
        due for a confirming read at once (still paced by the read budget), and only the service's own
        answer finishes it, with the service's own output URLs. Only webhook-only kinds, which nothing
        else can confirm, take the delivery as it is. Either way a job never moves backwards, and a
        delivery that claims nothing new (the feed repeats it on every tick) costs no read."""
        watch = self._watches.get(job.id)
        self.stats.reports += 1
        if watch is None:
            return
        if not self.service.kind(watch.kind).pollable:
            self._update(watch, job.model_copy(update={"kind": watch.kind}))
            return
        self._confirm(watch, job)

    def _confirm(self, watch: Watch, claimed: Job) -> None:
        """Make ``watch`` due now for a read that confirms (or not) what a delivery ``claimed``."""
        if watch.error is not None or (watch.job is not None and watch.job.terminal):
            return
        rank = claimed.status.rank
        known = watch.job.status.rank if watch.job is not None else -1
        if rank <= max(known, watch.woken_rank):
            return  # nothing the poller does not know, or a read for it was already asked for
        watch.woken_rank = rank
        self.stats.confirmations += 1
        watch.next_due = min(watch.next_due, time.monotonic())
        self._wakeup.set()

    @property
    def waiting(self) -> int:
        return len(self._watches)

    # --- the loop -------------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mediagen-poller-{self.service.name}")

    async def _run(self) -> None:
        idle_since: float | None = None
        while True:
            now = time.monotonic()
            if not self._watches:
                idle_since = idle_since or now
                if now - idle_since > self.idle_release:
                    await self._release()
                    return
            else:
                idle_since = None
            if self._refresh_wanted:
                await self._renew()
            if self.feed is not None and now - self._last_feed >= self.feed.interval:
                await self._read_feed()
            due = [w for w in self._watches.values() if w.next_due <= now and w.error is None
                   and not (w.job and w.job.terminal) and self.service.kind(w.kind).pollable]
            if not due:
                await self._idle(now)
                continue
            started = now  # pacing counts the scan for due jobs too
            try:
                if self._read_class is not None:  # the pollers' share across triggerers (shared budget only)
                    await self.client.acquire_share_async(self._read_class, self.read_share)
                await self._read(due)
            except Exception:  # never let one bad read end the loop
                log.exception("status read failed")
            # Pace reads to the budget share, whatever the read took.
            await asyncio.sleep(max(0.0, self._spacing - (time.monotonic() - started)))

    async def _idle(self, now: float) -> None:
        pending = [w.next_due for w in self._watches.values()
                   if w.error is None and self.service.kind(w.kind).pollable]
        timeout = max(0.0, min(pending) - now) if pending else min(5.0, self.idle_release)
        if self.feed is not None and self._watches:
            timeout = min(timeout, max(0.0, self._last_feed + self.feed.interval - now))
        self._wakeup.clear()
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout=timeout)
        except asyncio.TimeoutError:
            pass

    async def _release(self) -> None:
        """Nothing waited for a while: give the client (its pool, its limiter) and the feed back, so a
        triggerer that waited on thousands of connections holds only those still in use. The next wait
        of this connection makes a new poller, with the connection read again (a rotated key with it)."""
        self.released = True
        if self.on_release is not None:
            self.on_release(self)  # synchronously, before any await: no wait can find this poller after
        if self.feed is not None:
            await self.feed.aclose()
        await self.client.aclose()

    def request_refresh(self) -> None:
        """A new wait arrived: read the connection again soon (at most every :data:`REFRESH_EVERY` s), so
        a key or base URL changed since this poller was made is used without a triggerer restart."""
        if time.monotonic() - self._refreshed_at >= REFRESH_EVERY:
            self._refresh_wanted = True
            self._wakeup.set()

    async def _renew(self, *, after_refusal: bool = False) -> bool:
        """Read the connection again and, if it changed (another key, another base URL), read with a
        client of the new one. After the service refused the key at most every :data:`RENEW_EVERY` s,
        else when a new wait asked for it (:meth:`request_refresh`)."""
        now = time.monotonic()
        if self.renew is None or (after_refusal and now - self._renewed_at < RENEW_EVERY):
            return False
        self._renewed_at = self._refreshed_at = now
        self._refresh_wanted = False
        try:
            client = await self.renew()
        except Exception:  # a connection that cannot be read now: the current client stands
            log.warning("reading the connection again failed; the waits keep the current one", exc_info=True)
            return False
        if client is None:
            return False
        old, self.client = self.client, client
        log.warning("%s: the connection changed (%s); the waits read through the new one from now on",
                    self.service.title, "the key was refused" if after_refusal else "read again for a new wait")
        await old.aclose()
        return True

    async def _read_feed(self) -> None:
        assert self.feed is not None
        self._last_feed = time.monotonic()
        waiting = [w.job_id for w in self._watches.values() if not (w.job and w.job.terminal)]
        if not waiting:
            return
        self.stats.feed_reads += 1
        try:
            for job in await self.feed.fetch(waiting):
                self.report(job)  # a wake-up for pollable kinds: the confirming read is the verdict
        except Exception:  # the feed only ever speeds things up
            log.exception("reading webhook deliveries failed; polling continues")

    def _open_stream(self, watch: Watch) -> None:
        if not self.stream_token or self.service.kind(watch.kind).stream is None:
            return

        async def consume() -> None:
            try:
                watch.streaming = True
                async for job in self.client.stream_job(watch.job_id, self.stream_token or "", kind=watch.kind):
                    # Applied as they come, unlike deliveries: the stream is the service's own answer
                    # (over TLS, authenticated with the JWT), as trustworthy as a status read.
                    self.stats.stream_updates += 1
                    self._update(watch, job)
                    if job.terminal:
                        return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # fall back to polling
                log.warning("status stream of job %s dropped (%s); polling continues", watch.job_id, exc)
            finally:
                watch.streaming = False
                watch.next_due = min(watch.next_due, time.monotonic())
                self._wakeup.set()

        watch.stream_task = asyncio.get_running_loop().create_task(consume(), name=f"mediagen-sse-{watch.job_id}")

    async def _read(self, due: list[Watch]) -> None:
        listed = [w for w in due if w.listed]
        if self._list_kind and (len(listed) >= 2 or (listed and not self._single_read_possible(listed[0]))):
            await self._list_read(due)
        else:
            target = min(due, key=lambda w: w.next_due)
            await self._single_read(target)

    def _single_read_possible(self, watch: Watch) -> bool:
        return self.service.kind(watch.kind).status is not None

    async def _list_read(self, due: list[Watch]) -> None:
        self.stats.list_reads += 1
        problems: dict[str, errors.MediaGenError] = {}
        try:
            jobs = await self.client.list_jobs(self._list_kind, problems=problems)
        except errors.MediaGenError as exc:
            await self._read_failed(due, exc)
            return
        by_id = {job.id: job for job in jobs}
        full_page = len(jobs) + len(problems) >= self.list_page
        for watch in due:
            job = by_id.get(watch.job_id)
            if watch.job_id in problems:  # only this job's waiters see its odd item
                self._fail_reads([watch], problems[watch.job_id])
            elif job is not None:
                self._update(watch, job.model_copy(update={"kind": watch.kind}))
            elif full_page or self._single_read_possible(watch):
                # Older than the list's window (or not there yet): read it on its own next time.
                watch.listed = False
                watch.next_due = time.monotonic()

    async def _single_read(self, watch: Watch) -> None:
        self.stats.single_reads += 1
        try:
            job = await self.client.get_job(watch.kind, watch.job_id)
        except errors.MediaGenError as exc:
            await self._read_failed([watch], exc)
            return
        self._update(watch, job)

    async def _read_failed(self, watches: list[Watch], exc: errors.MediaGenError) -> None:
        """A refused key is first checked against the connection (a rotation: read again at once with the
        new one); any other failure, or a key still refused, counts against the jobs read."""
        if isinstance(exc, errors.AuthenticationError) and await self._renew(after_refusal=True):
            for watch in watches:
                watch.next_due = time.monotonic()
            return
        self._fail_reads(watches, exc)

    def _fail_reads(self, watches: list[Watch], exc: errors.MediaGenError) -> None:
        self.stats.errors += 1
        for watch in watches:
            if errors.is_read_lag(exc, watch.job is not None, watch.since):
                watch.next_due = time.monotonic() + min(watch.interval, 1.0)  # acknowledged a moment ago
                continue
            watch.failures += 1
            watch.failing_since = watch.failing_since or time.time()
            watch.last_error = str(exc)
            if not exc.transient or watch.failures > watch.failures_tolerated:
                watch.error = exc
                watch.changed.set()
            else:
                backoff = min(60.0, watch.interval * 2 ** min(watch.failures, 6))
                watch.next_due = time.monotonic() + backoff
        log.warning("%s (%d job(s) affected)", exc, len(watches))

    def trouble(self, job_id: str) -> tuple[float, str] | None:
        """``(seconds, last error)`` while the reads of ``job_id`` keep failing (the service cannot be
        reached, or answers errors), so progress logs say so instead of "no change"; else None."""
        watch = self._watches.get(job_id)
        if watch is None or watch.failing_since is None or watch.last_error is None:
            return None
        return time.time() - watch.failing_since, watch.last_error

    def _update(self, watch: Watch, job: Job) -> None:
        watch.failures = 0
        watch.failing_since = watch.last_error = None
        previous = watch.job
        if previous is not None and previous.terminal:
            return
        if previous is not None and job.status.rank < previous.status.rank:
            return  # a stale report (e.g. an out-of-order webhook) never moves a job backwards
        watch.job = job
        watch.next_due = time.monotonic() + watch.interval * (4 if watch.streaming else 1)
        if previous is None or job != previous:
            watch.changed.set()
        if job.terminal:
            watch.changed.set()
