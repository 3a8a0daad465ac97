"""Waiting on a job that already exists (submitted by another task, another system, or a no-code flow)."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowNotFoundException,
    AirflowSensorTimeout,
)
from airflow.triggers.base import StartTriggerArgs

from ..catalog import SERVICES, JobKind
from ..client import MediaGenError
from ..client.protocol import ServiceProtocol
from ..hooks.mediagen import hook_for
from ..job_refs import job_refs, redacted_urls
from ..triggers.events import parse_event
from ..triggers.job import MediaJobTrigger

__all__ = ["MediaJobSensor"]


def _kind_spec(task_id: str, service: str, kind: str) -> JobKind:
    """The catalog's kind, or an error naming the task and what is known (never a bare ``KeyError``)."""
    if service not in SERVICES:
        raise ValueError(f"task {task_id!r}: unknown service {service!r} (known: {', '.join(SERVICES)})")
    try:
        return SERVICES[service].kind(kind)
    except KeyError as exc:
        raise ValueError(f"task {task_id!r}: {exc.args[0]}") from None


class MediaJobSensor(BaseSensorOperator):
    """Succeeds when job ``job_id`` of ``service``/``kind`` has completed; fails when it failed.

    :param service: a name in ``catalog.SERVICES``.
    :param kind: the job kind (``ai_video``, ``image``, ``video``...), which picks the status endpoint.
    :param job_id: the job id (templated, e.g. ``{{ ti.xcom_pull('generate', key='job_id') }}``).
    :param conn_id: Airflow connection (default ``mediagen_<service>_default``).
    :param deferrable: wait in the triggerer through the shared poller.
    :param start_from_trigger: start directly in the triggerer, so the wait never occupies a worker slot
        (the job id is rendered by the triggerer).
    :param poll_interval: seconds between reads of this job, poking or deferred (Airflow's
        ``poke_interval`` may be given instead: it is the same interval); default, the cadence the
        service's docs give for the kind.

    Returns (XCom) the small job dict: service, kind, job_id, status, output_urls, credits. A failed job,
    or an error no retry can fix (a refused key, an unknown job), fails the task without retries.
    """

    template_fields = ("job_id",)
    start_trigger_args = StartTriggerArgs(
        trigger_cls=f"{MediaJobTrigger.__module__}.{MediaJobTrigger.__qualname__}",
        trigger_kwargs={}, next_method="execute_complete", next_kwargs=None, timeout=None)
    start_from_trigger = False
    ui_color = "#e8d5ff"

    def __init__(self, *, service: str, kind: str, job_id: str, conn_id: str | None = None,
                 deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
                 start_from_trigger: bool = False, poll_interval: float | None = None,
                 max_transient_failures: int = 10, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", 2 * 3600)
        task_id = kwargs.get("task_id", "?")
        job_kind = _kind_spec(task_id, service, kind)
        poke = kwargs.get("poke_interval")
        if poll_interval is not None and poke is not None and float(poke) != float(poll_interval):
            raise ValueError(f"task {task_id!r}: poll_interval={poll_interval} and poke_interval={poke} name one "
                             "interval (between reads, poking or deferred): give one of them")
        interval = next((float(v) for v in (poll_interval, poke) if v is not None), None)
        if interval is None:
            interval = ServiceProtocol(SERVICES[service]).default_poll_interval(kind)
        kwargs["poke_interval"] = interval
        super().__init__(**kwargs)
        if not job_kind.pollable:
            raise ValueError(f"{SERVICES[service].title} documents no way to read {job_kind.title} jobs: "
                             "nothing to sense")
        self.service = service
        self.kind = kind
        self.job_id = job_id
        self.conn_id = conn_id or hook_for(service).conn_id
        self.deferrable = deferrable
        self.poll_interval = interval
        self.max_transient_failures = max_transient_failures
        self.start_from_trigger = start_from_trigger
        if start_from_trigger:
            # Replaced, not mutated: the class attribute is shared by every sensor.
            self.start_trigger_args = dataclasses.replace(
                self.start_trigger_args,
                trigger_kwargs=self._trigger_kwargs(deadline=None),
                timeout=timedelta(seconds=float(self.timeout) + 60),
            )

    def _trigger_kwargs(self, deadline: float | None) -> dict[str, Any]:
        return dict(conn_id=self.conn_id, service=self.service, kind=self.kind, job_id=self.job_id,
                    deadline=deadline, timeout=float(self.timeout), poll_interval=self.poll_interval,
                    max_transient_failures=self.max_transient_failures)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        deadline = time.time() + float(self.timeout)
        self.defer(trigger=MediaJobTrigger(**self._trigger_kwargs(deadline)), method_name="execute_complete",
                   timeout=timedelta(seconds=float(self.timeout) + 60))

    def poke(self, context: Any) -> PokeReturnValue:
        try:
            with hook_for(self.service, self.conn_id).get_conn() as client:
                job = client.get_job(self.kind, str(self.job_id))
        except MediaGenError as exc:
            if exc.transient:
                self.log.warning("%s; will read again", exc)
                return PokeReturnValue(is_done=False)
            raise AirflowFailException(f"{self._where()}: {exc}") from None  # no retry can fix it
        except AirflowNotFoundException as exc:  # the connection was deleted or never made
            raise AirflowException(f"{self._where()}: cannot read connection {self.conn_id!r} to check job "
                                   f"{self.job_id} ({exc}); the job keeps running at {self.service}") from None
        self.log.info("%s %s job %s: %s%s", self.service, self.kind, job.id, job.raw_status,
                      f", stage {job.stage}" if job.stage else "")
        if not job.terminal:
            return PokeReturnValue(is_done=False)
        if not job.succeeded:
            raise AirflowFailException(f"{self._where()}: {self.service} {self.kind} job {job.id} failed: "
                                       f"{job.error or job.raw_status}")
        return PokeReturnValue(is_done=True, xcom_value=self._result(job.id, job.status.value, job.raw_status,
                                                                     list(job.output_urls), job.credits))

    def _where(self) -> str:
        return f"{type(self).__name__} task {self.task_id!r} (connection {self.conn_id!r}, job {self.job_id})"

    def execute_complete(self, context: Any, event: Any = None) -> dict[str, Any]:
        try:
            outcome = parse_event(event)
        except ValueError as exc:
            raise AirflowException(str(exc)) from None
        if outcome.status != "succeeded":
            message = (f"{self._where()}: {self.service} {self.kind} job {outcome.job_id}: {outcome.status}"
                       + (f": {outcome.message}" if outcome.message else ""))
            # As when poking: a failed job, or an error no retry can fix, fails the task at once; the
            # sensor's own timeout is Airflow's sensor timeout (no retries either).
            if outcome.status == "timeout":
                raise AirflowSensorTimeout(message)
            if outcome.status == "failed" or outcome.final:
                raise AirflowFailException(message)
            raise AirflowException(message)
        return self._result(outcome.job_id, outcome.status, outcome.raw_status, list(outcome.output_urls),
                            outcome.credits)

    def _result(self, job_id: str, status: str, raw_status: str | None, urls: list[str],
                credits: float | None) -> dict[str, Any]:
        refs = job_refs(self.service, self.kind, job_id, self.conn_id, len(urls)) if status == "succeeded" else []
        return {"service": self.service, "kind": self.kind, "job_id": job_id, "status": status,
                "raw_status": raw_status, "output_urls": redacted_urls(urls), "output_refs": refs,
                "credits": credits}
