"""The trigger that waits for one generation job, read-only.

It never sends a POST (a triggerer restart re-runs it from its kwargs: a POST here would charge twice);
its kwargs hold no secret (they are stored as plain JSON in the metadata DB), only the connection id,
the service, the kind, the job id, a wall-clock deadline and the poll settings. Reads go through the
shared poller of its connection.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ..catalog import Job
from ..client import AuthenticationError, MediaGenError
from ..client.poller import PollerReleasedError
from .events import JobEvent
from .pollers import shared_poller

__all__ = ["MediaJobTrigger"]


class MediaJobTrigger(BaseTrigger):
    """Waits for job ``job_id`` of ``service``/``kind`` until it finishes or ``deadline`` (epoch seconds,
    wall clock, so it survives a triggerer restart) passes; then fires one small :class:`JobEvent`.

    ``timeout`` (seconds) is used instead of ``deadline`` when the deadline cannot be known in advance
    (a sensor started from the triggerer); it counts from the trigger's start.

    ``first_read_at`` (epoch seconds) is when the job is first read: the operator has just seen it
    running, so reading it again before one poll interval has passed spends the read budget (which
    a service may share with submits) for nothing. A triggerer restart keeps it (a past instant means read
    at once).
    """

    template_fields = ("job_id",)

    def __init__(self, *, conn_id: str, service: str, kind: str, job_id: str, deadline: float | None = None,
                 timeout: float | None = None, poll_interval: float = 10.0, max_transient_failures: int = 10,
                 progress_interval: float = 60.0, first_read_at: float | None = None) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.service = service
        self.kind = kind
        self.job_id = job_id
        self.deadline = deadline
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.max_transient_failures = max_transient_failures
        self.progress_interval = progress_interval
        self.first_read_at = first_read_at

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {
            "conn_id": self.conn_id, "service": self.service, "kind": self.kind, "job_id": self.job_id,
            "deadline": self.deadline, "timeout": self.timeout, "poll_interval": self.poll_interval,
            "max_transient_failures": self.max_transient_failures, "progress_interval": self.progress_interval,
            "first_read_at": self.first_read_at,
        })

    def _event(self, status: str, message: str, started: float, final: bool | None = None) -> TriggerEvent:
        event = JobEvent(status=status, service=self.service, kind=self.kind, job_id=str(self.job_id),  # type: ignore[arg-type]
                         message=message, elapsed=round(time.time() - started, 3), final=final)
        return TriggerEvent(event.payload())

    async def run(self) -> AsyncIterator[TriggerEvent]:
        started = time.time()
        deadline = self.deadline if self.deadline is not None else started + (self.timeout or 24 * 3600)

        async def progress(job: Job | None, changed: bool) -> None:
            elapsed = time.time() - started
            trouble = None if changed else poller.trouble(str(self.job_id))
            if trouble is not None:  # not "no change": nothing was read
                seconds, error = trouble
                known = f"last known status {job.raw_status}" if job is not None else "no status read yet"
                self.log.warning("%s %s job %s: could not read its status for %.0f s (%s); %s (%.0f s)",
                                 self.service, self.kind, self.job_id, seconds, error, known, elapsed)
            elif job is None:
                self.log.info("Waiting for %s %s job %s: no status yet (%.0f s)", self.service, self.kind,
                              self.job_id, elapsed)
            else:
                self.log.info("%s %s job %s: %s%s (%.0f s)%s", self.service, self.kind, self.job_id,
                              job.raw_status, f", stage {job.stage}" if job.stage else "", elapsed,
                              "" if changed else ", no change")

        try:
            poller = await shared_poller(self.service, self.conn_id)
        except Exception as exc:  # a missing or broken connection: say so with the job it leaves waiting
            yield self._event("error", f"cannot read connection {self.conn_id!r} to wait for job {self.job_id} "
                              f"({type(exc).__name__}: {exc}); the job keeps running at {self.service}", started)
            return
        try:
            while True:
                try:
                    job = await poller.wait(self.kind, str(self.job_id), deadline=deadline,
                                            poll_interval=self.poll_interval,
                                            max_transient_failures=self.max_transient_failures,
                                            heartbeat=self.progress_interval, on_update=progress,
                                            not_before=self.first_read_at)
                    break
                except PollerReleasedError:  # released (idle) between our asking and waiting
                    poller = await shared_poller(self.service, self.conn_id)
        except AuthenticationError as exc:  # the key was rotated or revoked while the job ran
            yield self._event("error", f"{exc}: connection {self.conn_id!r} was refused while waiting for job "
                              f"{self.job_id} (was its key rotated or revoked?); the job keeps running at "
                              f"{self.service}", started, final=True)
            return
        except (MediaGenError, ValueError) as exc:
            yield self._event("error", str(exc), started,
                              final=isinstance(exc, ValueError) or not getattr(exc, "transient", False))
            return
        if job is None:
            yield self._event("timeout", f"job {self.job_id} did not finish before the deadline "
                              f"({time.time() - started:.0f} s waited); it may still finish at the service", started)
            return
        yield TriggerEvent(JobEvent.from_job(job, elapsed=round(time.time() - started, 3)).payload())

    async def on_kill(self) -> None:
        """None of the services documents a way to cancel a job, so a killed task leaves it running
        (and charged) at the service; say so where the user will look."""
        self.log.warning("%s job %s keeps running at %s: the service documents no cancel endpoint",
                         self.kind, self.job_id, self.service)
