"""The one lifecycle every generation operator runs, deferrable or not:

1. validate the request against the catalog (static values at parse time, templated ones now);
2. reuse a job an earlier try recorded in ``task_state_store`` instead of submitting again;
3. guard credits if asked, submit in the worker, record the job id at once, push it to XCom;
4. check once if the kind is quick (typically <= 5 s); finish inline if already terminal;
5. wait: defer to :class:`MediaJobTrigger` (shared poller, wall-clock deadline, ``defer(timeout=)``
   backstop), or poll in the worker with the sync client;
6. validate the outcome (unknown status is a failure), stream outputs to ``output_path``, emit asset
   events, return a small JSON result.

The per-kind classes (``ApexImageOperator``...) only bind a service, a kind and an explicit signature
(see :mod:`.factory`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from functools import cached_property
from typing import Any, ClassVar

from airflow.sdk import NEVER_EXPIRE, BaseOperator, conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from ..assets import service_asset
from ..catalog import SERVICES, Completion, Endpoint, Job, JobKind, NormalizedStatus
from ..client import (
    AuthenticationError,
    BadRequestError,
    CreditsExhaustedError,
    MediaClient,
    MediaGenError,
    NotFoundError,
    PlanError,
    SubmissionUncertainError,
    UnsupportedOperationError,
    ValidationError,
)
from ..hooks.mediagen import MediaGenHook, hook_for
from ..triggers.events import parse_event
from ..webhooks.feed import fetch_sync
from ..webhooks.urls import receiver_url, states_url
from .links import MediaOutputLink
from .outputs import destination, write_outputs
from .validation import is_dynamic, reject, validate_rendered, validate_static

__all__ = ["MediaGenerationOperator", "STATE_KEY"]

STATE_KEY = "mediagen_job"
"""``task_state_store`` key holding the job an earlier try of this task instance submitted."""

# A job just submitted is re-read at once only when its kind may already be done: for slower kinds the
# read is budget spent for nothing (Ddukddak's one budget also pays for submits), and the trigger's first
# read comes one poll interval later.
_INLINE_CHECK_MAX_SECONDS = 5.0

# Errors no retry can fix: fail the task at once instead of spending its retries.
_FINAL = (AuthenticationError, CreditsExhaustedError, PlanError, ValidationError, BadRequestError,
          SubmissionUncertainError, UnsupportedOperationError)


def _seconds(value: timedelta | float | int) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class MediaGenerationOperator(BaseOperator):
    """Submit one generation to a media service, wait for it, and hand its outputs on.

    Subclasses bind ``service`` and ``kind``; their request parameters are the catalog's documented
    fields. Common parameters:

    :param conn_id: Airflow connection (default ``mediagen_<service>_default``).
    :param output_path: folder (any ObjectStoragePath URI or local path) to stream the outputs into.
    :param wait_for_completion: wait for the job (default); if False, return as soon as it is submitted.
    :param deferrable: wait in the triggerer, freeing the worker slot (default: Airflow's
        ``[operators] default_deferrable``).
    :param poll_interval: seconds between status reads of this job (default: the cadence the service's
        docs give for the kind, else a tenth of its typical duration, 2-30 s); the shared poller never
        exceeds the service's read budget.
    :param timeout: longest wait for the job, from submission (seconds or timedelta).
    :param check_credits: read the balance first and fail, before submitting, if it cannot cover the
        documented cost. The check and the submission are two steps: tasks guarding one budget in parallel
        can both pass it, so serialise them (e.g. ``max_active_tis_per_dagrun=1``) when the margin matters.
    :param max_credits: fail before submitting if the documented cost is above this.
    :param reserve_credits: with ``check_credits``: fail if the balance would drop below this.
    :param max_transient_failures: consecutive failed status reads tolerated while waiting.
    :param emit_service_asset: also emit an event on the asset ``mediagen://<service>/<kind>``.
    """

    service: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    request_fields: ClassVar[tuple[str, ...]] = ()
    file_fields: ClassVar[tuple[str, ...]] = ()
    common_template_fields: ClassVar[tuple[str, ...]] = ("output_path",)
    template_fields: Any = ()
    operator_extra_links = (MediaOutputLink(),)
    ui_color = "#f4e3ff"

    def __init__(
        self,
        *,
        request: dict[str, Any] | None = None,
        conn_id: str | None = None,
        output_path: str | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | None = None,
        timeout: timedelta | float = timedelta(hours=2),
        check_credits: bool = False,
        max_credits: float | None = None,
        reserve_credits: float = 0.0,
        max_transient_failures: int = 10,
        emit_service_asset: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if emit_service_asset:  # DAGs can schedule on mediagen://<service>/<kind>
            self.outlets = [*self.outlets, service_asset(self.service, self.kind)]
        self.conn_id = conn_id or hook_for(self.service).conn_id
        self.output_path = output_path
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = _seconds(timeout)
        self.check_credits = check_credits
        self.max_credits = max_credits
        self.reserve_credits = reserve_credits
        self.max_transient_failures = max_transient_failures
        request = dict(request or {})
        unknown = set(request) - {*self.request_fields, *self.file_fields}
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected parameter(s) {sorted(unknown)}")
        for name in (*self.request_fields, *self.file_fields):
            setattr(self, name, request.get(name))
        self._check_at_parse_time()

    # --- catalog views --------------------------------------------------------------------------

    @property
    def spec(self) -> JobKind:
        return SERVICES[self.service].kind(self.kind)

    @property
    def endpoint(self) -> Endpoint:
        return SERVICES[self.service].endpoint(self.spec.submit)

    @cached_property
    def hook(self) -> MediaGenHook:
        """One hook per task run, so the connection is read once."""
        return hook_for(self.service, self.conn_id)

    def request_values(self) -> dict[str, Any]:
        return {name: getattr(self, name, None) for name in self.request_fields}

    def _check_at_parse_time(self) -> None:
        service = SERVICES[self.service]
        endpoint = self.endpoint
        validate_static(self.service, endpoint, self.request_values())
        if self.check_credits and not (service.usage_endpoint and service.balance):
            raise reject(self.service, endpoint, "check_credits",
                         f"{service.title} documents no endpoint that reports a credit balance")
        for name in self.file_fields:
            if getattr(self, name, None) is None:
                raise reject(self.service, endpoint, name, "a file (local path or ObjectStoragePath URI) is required")
        if not is_dynamic(self.output_path) and self.output_path is not None:
            destination(self.output_path)  # a bad URI fails the parse, not the paid run

    # --- the lifecycle --------------------------------------------------------------------------

    def execute(self, context: Any) -> dict[str, Any]:
        try:
            return self._execute(context)
        except _FINAL as exc:
            raise AirflowFailException(str(exc)) from None
        except MediaGenError as exc:
            raise AirflowException(str(exc)) from None

    def _execute(self, context: Any) -> dict[str, Any]:
        request = self._with_webhook(validate_rendered(self.service, self.endpoint, self.request_values()))
        store = context.get("task_state_store")
        MediaOutputLink.persist(context, "")  # filled in when outputs exist
        with self.hook.get_conn() as client:
            job = self._reuse(client, store)
            if job is None:
                self._guard_credits(client, request)
                job = self._submit(client, request, store)
            context["ti"].xcom_push(key="job_id", value=job.id)
            if not job.terminal and self.spec.pollable and self.spec.typical_seconds <= _INLINE_CHECK_MAX_SECONDS:
                job = client.get_job(self.kind, job.id)  # check once: quick jobs finish inline
            if job.terminal or not self.wait_for_completion:
                return self._finish(context, client, job, store)
            deadline = time.time() + self.timeout
            if self.deferrable:
                from ..triggers.job import MediaJobTrigger  # core Airflow: imported when deferring, not at parse

                poll_interval = self._poll_interval(client)
                self.defer(
                    trigger=MediaJobTrigger(
                        conn_id=self.conn_id, service=self.service, kind=self.kind, job_id=job.id, deadline=deadline,
                        poll_interval=poll_interval, max_transient_failures=self.max_transient_failures,
                        first_read_at=time.time() + poll_interval),  # it was running a moment ago
                    method_name="execute_complete",
                    timeout=timedelta(seconds=self.timeout + max(60.0, 0.1 * self.timeout)),
                )
            job = self._wait_in_worker(client, job)
            return self._finish(context, client, job, store)

    def execute_complete(self, context: Any, event: Any = None) -> dict[str, Any]:
        try:
            outcome = parse_event(event)
        except ValueError as exc:
            raise AirflowException(str(exc)) from None
        if outcome.service != self.service or outcome.kind != self.kind:
            raise AirflowException(f"the trigger reported on {outcome.service} {outcome.kind}, "
                                   f"not {self.service} {self.kind}")
        if outcome.status in ("timeout", "error"):
            raise AirflowException(f"{self.service} {self.kind} job {outcome.job_id}: {outcome.message}")
        job = Job(service=self.service, kind=self.kind, id=outcome.job_id,
                  status=NormalizedStatus(outcome.status), raw_status=outcome.raw_status or outcome.status,
                  stage=outcome.stage, output_urls=outcome.output_urls, credits=outcome.credits, error=outcome.message)
        try:
            with self.hook.get_conn() as client:
                return self._finish(context, client, job, context.get("task_state_store"))
        except MediaGenError as exc:
            raise AirflowException(str(exc)) from None

    # --- steps ----------------------------------------------------------------------------------

    def _with_webhook(self, request: Any) -> Any:
        """Point a per-request ``webhook_url`` at the receiver when the connection has a webhook setup
        (Ddukddak), unless the user set one; a kind that completes by webhook only cannot wait without it,
        and says so before anything is submitted."""
        url = receiver_url(self.hook.settings, self.conn_id)
        takes_url = "webhook_url" in type(request).model_fields
        if takes_url and url and getattr(request, "webhook_url", None) is None:
            request = request.model_copy(update={"webhook_url": url})
        if self.wait_for_completion and not self.spec.pollable and Completion.SYNC not in self.spec.completion:
            if not (url and takes_url):
                raise reject(self.service, self.endpoint, "wait_for_completion",
                             f"{SERVICES[self.service].title} documents no status endpoint for {self.spec.title} "
                             "jobs: their completion arrives by webhook only, and connection "
                             f"{self.conn_id!r} has no webhook setup (extras webhook_secret and "
                             "webhook_base_url). Nothing was submitted. Configure the receiver, or pass "
                             "wait_for_completion=False to submit and get the job id")
        return request

    def _reuse(self, client: MediaClient, store: Any) -> Job | None:
        """The job an earlier try submitted, if it can still be used."""
        if store is None:
            self.log.warning("task_state_store is not available: a retry would submit a new job")
            return None
        record = store.get(STATE_KEY)
        if not record or record.get("service") != self.service or record.get("kind") != self.kind:
            return None
        job_id = record["job_id"]
        if record.get("result") is not None:
            self.log.info("Reusing %s %s result %s recorded by an earlier try", self.service, self.kind, job_id)
            return client.protocol.job(self.kind, record["result"])
        if not self.spec.pollable:
            self.log.info("Reusing %s %s job %s recorded by an earlier try", self.service, self.kind, job_id)
            return Job(service=self.service, kind=self.kind, id=job_id, status=NormalizedStatus.QUEUED,
                       raw_status=str(record.get("status") or "pending"))
        try:
            job = client.get_job(self.kind, job_id)
        except NotFoundError:
            self.log.warning("Job %s recorded by an earlier try is unknown to %s; submitting a new one",
                             job_id, self.service)
            return None
        if job.status is NormalizedStatus.FAILED:
            self.log.warning("Job %s from an earlier try failed (%s; its credits are refunded); submitting a new "
                             "one", job_id, job.error or job.raw_status)
            return None
        self.log.info("Reusing %s %s job %s (%s) submitted by an earlier try", self.service, self.kind, job_id,
                      job.raw_status)
        return job

    def _guard_credits(self, client: MediaClient, request: Any) -> None:
        if not (self.check_credits or self.max_credits is not None):
            return
        cost = self.endpoint.credit_cost.estimate(request) if self.endpoint.credit_cost else None
        if cost is None:
            self.log.info("%s documents no cost for %s; no credit guard applied", self.service, self.kind)
            return
        if self.max_credits is not None and cost > self.max_credits:
            raise AirflowFailException(
                f"{self.service} {self.kind} costs {cost} credits, over max_credits={self.max_credits}; nothing "
                "was submitted")
        if self.check_credits:
            balance = client.balance()
            if balance - cost < self.reserve_credits:
                raise AirflowFailException(
                    f"{self.service} balance is {balance:g} credits; {self.kind} costs {cost} credits"
                    + (f" and {self.reserve_credits:g} must stay in reserve" if self.reserve_credits else "")
                    + "; nothing was submitted")
            self.log.info("Credit check: balance %g covers %s credits", balance, cost)

    def _submit(self, client: MediaClient, request: Any, store: Any) -> Job:
        with self._open_files() as files:
            job = client.submit(self.kind, request, **files)
        self.log.info("Submitted %s %s job %s (%s)", self.service, self.kind, job.id, job.raw_status)
        if store is not None:
            record: dict[str, Any] = {"service": self.service, "kind": self.kind, "job_id": job.id,
                                      "status": job.raw_status, "submitted_at": time.time()}
            if job.terminal:
                record["result"] = job.raw
            store.set(STATE_KEY, record, retention=NEVER_EXPIRE)
        return job

    @contextmanager
    def _open_files(self) -> Iterator[dict[str, Any]]:
        """Upload sources (local paths or ObjectStoragePath URIs) opened for streaming."""
        with ExitStack() as stack:
            files = {}
            for name in self.file_fields:
                path = destination(getattr(self, name))
                if not path.is_file():
                    raise reject(self.service, self.endpoint, name, f"no such file {str(path)!r}")
                files[name] = (path.name, stack.enter_context(path.open("rb")))
            yield files

    def _poll_interval(self, client: MediaClient) -> float:
        return float(self.poll_interval or client.protocol.default_poll_interval(self.kind) * client.time_scale)

    def _wait_in_worker(self, client: MediaClient, job: Job) -> Job:
        if not self.spec.pollable:
            return self._wait_for_delivery(job)
        started = time.monotonic()
        last_log = [0.0]

        def progress(update: Job) -> None:
            now = time.monotonic()
            if now - last_log[0] >= min(60.0, max(5.0, self.timeout / 20)):
                last_log[0] = now
                self.log.info("%s %s job %s: %s%s (%.0f s)", self.service, self.kind, update.id, update.raw_status,
                              f", stage {update.stage}" if update.stage else "", now - started)

        return client.wait(self.kind, job.id, timeout=self.timeout, poll_interval=self._poll_interval(client),
                           on_update=progress)

    def _wait_for_delivery(self, job: Job) -> Job:
        """Webhook-only kinds in the worker: ask the receiver (never the service) until the delivery
        arrives or the deadline passes."""
        url = states_url(self.hook.settings, self.conn_id)
        assert url is not None  # checked before submitting
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for update in fetch_sync(url, [job.id]):
                if update.terminal:
                    return update.model_copy(update={"kind": self.kind})
            time.sleep(min(1.0, max(0.05, self.timeout / 100)))
        raise AirflowException(f"{self.service} {self.kind} job {job.id} did not finish within "
                               f"{self.timeout:.0f} s (no webhook delivery arrived); it may still finish")

    def _finish(self, context: Any, client: MediaClient, job: Job, store: Any) -> dict[str, Any]:
        if job.status is NormalizedStatus.FAILED:
            raise AirflowException(f"{self.service} {self.kind} job {job.id} failed: {job.error or job.raw_status}")
        written: list[str] = []
        if job.succeeded and self.output_path and job.output_urls:
            written = write_outputs(client, job, self.spec, destination(self.output_path))
            self.log.info("Wrote %s", ", ".join(written))
        if job.output_urls:
            MediaOutputLink.persist(context, job.output_urls[0])
        result = self._result(job, written)
        if job.succeeded:
            self._emit_asset_events(context, result)
            if store is not None:
                store.delete(STATE_KEY)  # done: clearing the task later regenerates on purpose
        return result

    def _result(self, job: Job, written: list[str]) -> dict[str, Any]:
        return {
            "service": self.service, "kind": self.kind, "job_id": job.id,
            "status": job.status.value, "raw_status": job.raw_status,
            "output_urls": list(job.output_urls), "outputs": written,
            "credits": job.credits, "error": job.error,
            "metadata": {k: v for k, v in (job.raw.get("metadata") or {}).items()} if job.raw else {},
        }

    def _emit_asset_events(self, context: Any, result: dict[str, Any]) -> None:
        events = context.get("outlet_events")
        if events is None or not self.outlets:
            return
        extra = {k: result[k] for k in ("service", "kind", "job_id", "output_urls", "outputs", "credits")}
        for outlet in self.outlets:
            try:
                events[outlet].extra.update(extra)
            except (KeyError, TypeError, AttributeError):  # not an asset outlet
                continue

