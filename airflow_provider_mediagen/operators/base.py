"""The one lifecycle every generation operator runs, deferrable or not:

1. validate the request against the catalog (static values at parse time, templated ones now) and
   the output location, before anything is paid for;
2. reuse a job an earlier try recorded in ``task_state_store`` instead of submitting again; an earlier
   try that was interrupted mid-submission is reconciled through the service's list endpoint, or fails
   as uncertain, never resubmitted quietly;
3. guard credits if asked, record the intent, submit in the worker, record the job id at once (even from
   an answer that cannot be read), push it to XCom;
4. check once if the kind is quick (typically <= 5 s); finish inline if already terminal;
5. wait: defer to :class:`MediaJobTrigger` (shared poller, wall-clock deadline, ``defer(timeout=)``
   backstop), or poll in the worker with the sync client;
6. validate the outcome (unknown status is a failure), stream outputs to ``output_path``, emit asset
   events, return a small JSON result.

The per-kind classes (``<Service><Kind>Operator``) only bind a service, a kind and an explicit signature
(see :mod:`.factory`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from functools import cached_property
from typing import Any, ClassVar

from airflow.sdk import BaseOperator, conf
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
from ..hooks.connection import ConnectionConfigError
from ..hooks.mediagen import MediaGenHook, hook_for
from ..triggers.events import parse_event
from ..webhooks.feed import fetch_sync
from ..webhooks.urls import receiver_url, states_url
from ..job_refs import JobRef, is_job_ref
from .credits import CreditsMixin
from .links import MediaOutputLink
from .outputs import destination
from .output_location import checked_destination, checked_output_name
from .results import ResultMixin
from .lineage import LineageMixin
from .submission import STATE_KEY, SubmitOnceMixin
from .validation import is_dynamic, parameter_error, reject, validate_rendered, validate_static

__all__ = ["MediaGenerationOperator", "STATE_KEY"]

# A job just submitted is re-read at once only when its kind may already be done: for slower kinds the
# read is budget spent for nothing (where one budget also pays for submits, doubly), and the trigger's first
# read comes one poll interval later.
_INLINE_CHECK_MAX_SECONDS = 5.0

# Errors no retry can fix: fail the task at once instead of spending its retries.
_FINAL = (AuthenticationError, CreditsExhaustedError, PlanError, ValidationError, BadRequestError,
          SubmissionUncertainError, UnsupportedOperationError)


def _seconds(value: timedelta | float | int) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class MediaGenerationOperator(SubmitOnceMixin, CreditsMixin, LineageMixin, ResultMixin, BaseOperator):
    """Submit one generation to a media service, wait for it, and hand its outputs on.

    Subclasses bind ``service`` and ``kind``; their request parameters are the catalog's documented
    fields. Common parameters:

    :param conn_id: Airflow connection (default ``mediagen_<service>_default``).
    :param output_path: folder (any ObjectStoragePath URI or local path) to stream the outputs into.
    :param output_name: templated file stem for the outputs in ``output_path`` (e.g.
        ``"{{ params.sku }}-banner"``); the extension comes from the media type, several files get ``-2``,
        ``-3``... An existing file of that name is refused before submitting. Default:
        ``<job_id>-<kind>``.
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
    :param strict_outputs: fail the task (after writing what came back) when a job asked for several
        outputs returns fewer; by default that is a warning, since the job was charged either way.
    """

    service: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    request_fields: ClassVar[tuple[str, ...]] = ()
    file_fields: ClassVar[tuple[str, ...]] = ()
    common_template_fields: ClassVar[tuple[str, ...]] = ("output_path", "output_name")
    template_fields: Any = ()
    operator_extra_links = (MediaOutputLink(),)
    ui_color = "#f4e3ff"

    def __init__(
        self,
        *,
        request: dict[str, Any] | None = None,
        conn_id: str | None = None,
        output_path: str | None = None,
        output_name: str | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | None = None,
        timeout: timedelta | float = timedelta(hours=2),
        check_credits: bool = False,
        max_credits: float | None = None,
        reserve_credits: float = 0.0,
        max_transient_failures: int = 10,
        emit_service_asset: bool = False,
        strict_outputs: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if poll_interval is not None and not poll_interval > 0:
            raise ValueError(f"{self._where()}: poll_interval must be a positive number of seconds, "
                             f"got {poll_interval!r}")
        if not _seconds(timeout) > 0:
            raise ValueError(f"{self._where()}: timeout must be positive, got {timeout!r}")
        if poll_interval is not None and (limit := _seconds(timeout)) < poll_interval:
            raise ValueError(f"{self._where()}: timeout ({limit:g} s) is shorter than poll_interval "
                             f"({poll_interval:g} s): the job could not be read even once before giving up")
        if emit_service_asset:  # DAGs can schedule on mediagen://<service>/<kind>
            self.outlets = [*self.outlets, service_asset(self.service, self.kind)]
        self.conn_id = conn_id or hook_for(self.service).conn_id
        self.output_path = output_path
        self.output_name = output_name
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = _seconds(timeout)
        self.check_credits = check_credits
        self.max_credits = max_credits
        self.reserve_credits = reserve_credits
        self.max_transient_failures = max_transient_failures
        self.strict_outputs = strict_outputs
        request = dict(request or {})
        unknown = set(request) - {*self.request_fields, *self.file_fields}
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected parameter(s) {sorted(unknown)}")
        for name in (*self.request_fields, *self.file_fields):
            setattr(self, name, request.get(name))
        try:
            self._check_at_parse_time()
        except ValidationError as exc:  # also raised in the worker when a mapped task is unmapped
            raise parameter_error(exc, self._where()) from None

    def _where(self, job_id: str | None = None) -> str:
        """Who is speaking, for every message a user sees: the operator, the task, the connection and the
        job once there is one."""
        conn = getattr(self, "conn_id", None)
        details = ", ".join(p for p in (f"connection {conn!r}" if conn else "", f"job {job_id}" if job_id else "") if p)
        return f"{type(self).__name__} task {self.task_id!r}" + (f" ({details})" if details else "")

    # --- catalog views --------------------------------------------------------------------------

    @property
    def job_kind(self) -> JobKind:
        return SERVICES[self.service].kind(self.kind)

    @property
    def endpoint(self) -> Endpoint:
        return SERVICES[self.service].endpoint(self.job_kind.submit)

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
            checked_destination(self.service, endpoint, self.output_path, create=False)  # fails the parse
        if self.output_name is not None:
            if self.output_path is None:
                raise reject(self.service, endpoint, "output_name", "names files in output_path, which is not set")
            if not is_dynamic(self.output_name):
                checked_output_name(self.service, endpoint, self.output_name)

    # --- the lifecycle --------------------------------------------------------------------------

    _job_id: str | None = None  # the job of this run, once known (for messages)
    _receiver: str | None = None  # the receiver URL this operator put in the request, if it did

    def execute(self, context: Any) -> dict[str, Any]:
        try:
            return self._execute(context)
        except ConnectionConfigError as exc:  # before any request; a retry would find the same connection
            raise AirflowFailException(f"{self._where()}: {exc}") from None
        except _FINAL as exc:
            self._push_unfinished(context, self._job_id or exc.job_id)
            raise AirflowFailException(self._message(exc)) from None
        except MediaGenError as exc:
            self._push_unfinished(context, self._job_id or exc.job_id)
            raise AirflowException(self._message(exc)) from None
        except AirflowException:
            self._push_unfinished(context, self._job_id)
            raise

    def _message(self, exc: MediaGenError) -> str:
        job_id = self._job_id if self._job_id and self._job_id != exc.job_id else None
        return f"{self._where(job_id)}: {exc}"

    def _execute(self, context: Any) -> dict[str, Any]:
        values = self._resolve_refs(self.request_values())
        request = self._with_webhook(validate_rendered(self.service, self.endpoint, values))
        store = context.get("task_state_store")
        if self.output_path is not None:  # after templating, before anything is paid for
            folder = checked_destination(self.service, self.endpoint, self.output_path)
            earlier = store.get(STATE_KEY) if store is not None else None  # a retry may find its own file
            checked_output_name(self.service, self.endpoint, self.output_name, None if earlier else folder)
        self._estimated(request)
        with self.hook.get_conn() as client:
            job = self._reuse(client, store, request, context)
            if job is None:
                self._guard_credits(client, request)
                job = self._submit(client, request, store, context)
            self._job_id, self._last_job = job.id, job
            context["ti"].xcom_push(key="job_id", value=job.id)
            quick = self.job_kind.typical_seconds <= _INLINE_CHECK_MAX_SECONDS
            if not job.terminal and self.job_kind.pollable and quick:
                try:
                    job = self._last_job = client.get_job(self.kind, job.id)  # check once: quick jobs finish inline
                except NotFoundError:  # not readable yet (read-after-write lag): the wait reads it again
                    self.log.info("Job %s is not readable yet; waiting for it", job.id)
            if job.terminal or not self.wait_for_completion:
                return self._finish(context, client, job, store)
            deadline = self._deadline(store)
            if self.deferrable:
                from ..triggers.job import MediaJobTrigger  # core Airflow: imported when deferring, not at parse

                poll_interval = self._poll_interval(client)
                self.defer(
                    trigger=MediaJobTrigger(
                        conn_id=self.conn_id, service=self.service, kind=self.kind, job_id=job.id, deadline=deadline,
                        poll_interval=poll_interval, max_transient_failures=self.max_transient_failures,
                        first_read_at=time.time() + poll_interval),  # it was running a moment ago
                    method_name="execute_complete",
                    timeout=timedelta(seconds=max(1.0, deadline - time.time()) + max(60.0, 0.1 * self.timeout)),
                )
            job = self._wait_in_worker(client, job, deadline)
            return self._finish(context, client, job, store)

    def _deadline(self, store: Any) -> float:
        """``timeout`` counts from the job's submission, not from this try: a retry does not restart it."""
        record = store.get(STATE_KEY) if store is not None else None
        submitted = record.get("submitted_at") if isinstance(record, dict) else None
        return (float(submitted) if isinstance(submitted, (int, float)) else time.time()) + self.timeout

    def execute_complete(self, context: Any, event: Any = None) -> dict[str, Any]:
        try:
            outcome = parse_event(event)
        except ValueError as exc:
            raise AirflowException(str(exc)) from None
        if outcome.service != self.service or outcome.kind != self.kind:
            raise AirflowException(f"{self._where()}: the trigger reported on {outcome.service} {outcome.kind}, "
                                   f"not {self.service} {self.kind}")
        self._job_id = outcome.job_id
        if outcome.status in ("timeout", "error"):
            message = (f"{self._where(outcome.job_id)}: {self.service} {self.kind} job {outcome.job_id}: "
                       f"{outcome.message}")
            self._push_unfinished(context, outcome.job_id)
            # An error no retry can fix (a refused key, a non-transient answer) fails the task at once, as
            # it does when raised in execute; a timeout or a passing trouble may be retried.
            raise (AirflowFailException if outcome.final else AirflowException)(message)
        job = Job(service=self.service, kind=self.kind, id=outcome.job_id,
                  status=NormalizedStatus(outcome.status), raw_status=outcome.raw_status or outcome.status,
                  stage=outcome.stage, output_urls=outcome.output_urls, credits=outcome.credits,
                  credits_charged=outcome.credits_charged, credits_refunded=outcome.credits_refunded,
                  error=outcome.message)
        self._last_job = job
        try:
            with self.hook.get_conn() as client:
                return self._finish(context, client, self._with_fresh_urls(client, job),
                                    context.get("task_state_store"))
        except _FINAL as exc:
            self._push_unfinished(context, outcome.job_id)
            raise AirflowFailException(self._message(exc)) from None
        except MediaGenError as exc:
            self._push_unfinished(context, outcome.job_id)
            raise AirflowException(self._message(exc)) from None

    def _with_fresh_urls(self, client: MediaClient, job: Job) -> Job:
        """A trigger's event carries output URLs masked (it is stored in Airflow's database): read them
        again where they are kept, the service for kinds it lets us read, else the webhook receiver."""
        if not (job.succeeded and job.output_urls):
            return job
        if self.job_kind.pollable:
            fresh = client.get_job(self.kind, job.id)
            return fresh if fresh.succeeded else job
        url = states_url(self.hook.settings, self.conn_id)
        for delivered in fetch_sync(url, [job.id]) if url else []:
            if delivered.succeeded:
                return delivered.model_copy(update={"kind": self.kind})
        return job

    # --- steps ----------------------------------------------------------------------------------

    def _resolve_refs(self, values: dict[str, Any]) -> dict[str, Any]:
        """Media inputs given as job references (an upstream task's ``output_refs``) become the job's
        output URL, read from the service now: fresh, however long ago the upstream job finished. The
        rendered field keeps the reference, so no signed URL is stored with the task."""
        resolved = dict(values)
        for name, value in values.items():
            if not is_job_ref(value):
                continue
            try:
                ref = JobRef.parse(value)
            except ValueError as exc:
                raise reject(self.service, self.endpoint, name, str(exc)) from None
            kind = SERVICES[ref.service].kind(ref.kind)
            if not kind.pollable:
                raise reject(self.service, self.endpoint, name,
                             f"{SERVICES[ref.service].title} {kind.title} jobs cannot be read back for a fresh URL; "
                             "pass the upstream task's stored file ('outputs') instead")
            try:
                with hook_for(ref.service, ref.conn_id).get_conn() as client:
                    job = client.get_job(ref.kind, ref.job_id)
            except MediaGenError as exc:  # its class (final or transient) kept, the field named
                exc.message = f"field '{name}' ({value}): reading the job for a fresh output URL: {exc.message}"
                raise
            if not job.succeeded or len(job.output_urls) <= ref.output:
                raise reject(self.service, self.endpoint, name,
                             f"job {ref.job_id} ({job.raw_status}) has no output {ref.output} to pass on")
            self.log.info("Field %r: output %d of %s job %s (read now for a fresh URL)", name, ref.output,
                          ref.service, ref.job_id)
            resolved[name] = job.output_urls[ref.output]
        return resolved

    def _with_webhook(self, request: Any) -> Any:
        """Point the request's per-request webhook URL (the catalog's ``Endpoint.webhook_field``) at the
        receiver when the connection has a webhook setup, unless the user set one; a kind that completes
        by webhook only cannot wait without it, and says so before anything is submitted."""
        url = receiver_url(self.hook.settings, self.conn_id)
        field = self.endpoint.webhook_field
        takes_url = field is not None
        if field is not None and url and getattr(request, field, None) is None:
            request = request.model_copy(update={field: url})
            self._receiver = url
        if self.wait_for_completion and not self.job_kind.pollable and Completion.SYNC not in self.job_kind.completion:
            if not (url and takes_url):
                raise reject(self.service, self.endpoint, "wait_for_completion",
                             f"{SERVICES[self.service].title} documents no status endpoint for {self.job_kind.title} "
                             "jobs: their completion arrives by webhook only, and connection "
                             f"{self.conn_id!r} has no webhook setup (extras webhook_secret and "
                             "webhook_base_url). Nothing was submitted. Configure the receiver, or pass "
                             "wait_for_completion=False to submit and get the job id")
        return request

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

    def _wait_in_worker(self, client: MediaClient, job: Job, deadline: float) -> Job:
        if not self.job_kind.pollable:
            return self._wait_for_delivery(job, deadline)
        started = time.monotonic()
        last_log = [0.0]

        def progress(update: Job) -> None:
            self._last_job = update
            now = time.monotonic()
            if now - last_log[0] >= min(60.0, max(5.0, self.timeout / 20)):
                last_log[0] = now
                self.log.info("%s %s job %s: %s%s (%.0f s)", self.service, self.kind, update.id, update.raw_status,
                              f", stage {update.stage}" if update.stage else "", now - started)

        return client.wait(self.kind, job.id, timeout=max(0.0, deadline - time.time()),
                           poll_interval=self._poll_interval(client), on_update=progress)

    def _wait_for_delivery(self, job: Job, deadline: float) -> Job:
        """Webhook-only kinds in the worker: ask the receiver (never the service) until the delivery
        arrives or the deadline passes."""
        url = states_url(self.hook.settings, self.conn_id)
        assert url is not None  # checked before submitting
        while time.time() < deadline:
            for update in fetch_sync(url, [job.id]):
                if update.terminal:
                    return update.model_copy(update={"kind": self.kind})
            time.sleep(min(1.0, max(0.05, self.timeout / 100)))
        raise AirflowException(f"{self.service} {self.kind} job {job.id} did not finish within "
                               f"{self.timeout:.0f} s (no webhook delivery arrived); it may still finish")
