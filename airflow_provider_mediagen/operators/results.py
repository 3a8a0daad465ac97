"""The end of the operators' lifecycle: a finished job checked (a failure fails the task), its outputs
streamed to ``output_path``, asset events emitted and the small JSON result returned. Split from
:mod:`.base`; the operator class mixes it in."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from ..catalog import SERVICES, Job, NormalizedStatus
from ..client import MediaClient
from ..job_refs import job_refs, redacted_urls
from ..ledger.entries import LedgerEntry
from .links import MediaOutputLink
from .outputs import destination, write_outputs
from .output_location import checked_output_name

__all__ = ["ResultMixin"]


class ResultMixin:
    """Mixed into :class:`.base.MediaGenerationOperator`: check, write and return a finished job."""

    # Set by the operator this is mixed into.
    service: str
    kind: str
    conn_id: str

    if TYPE_CHECKING:  # provided by CreditsMixin
        def _ledger_entry(self, context: Any, job: Job, status: str | None = None) -> LedgerEntry: ...

    def _finish(self, context: Any, client: MediaClient, job: Job, store: Any) -> dict[str, Any]:
        entry = self._ledger_entry(context, job)  # failed or not: what the job cost goes to the ledger first
        if job.status is NormalizedStatus.FAILED:
            raise AirflowException(f"{self._where(job.id)}: {self.service} {self.kind} job {job.id} failed: "
                                   f"{job.error or job.raw_status}")
        fewer = self._warn_if_fewer_outputs(job) if job.succeeded else None
        written: list[str] = []
        if job.succeeded and self.output_path and job.output_urls:
            # An expired signed URL (a slow download, a reused record) is renewed by re-reading the job,
            # where the service lets a job be read back.
            refresh = (lambda: client.get_job(self.kind, job.id)) if self.job_kind.pollable else None
            written = write_outputs(client, job, self.job_kind, destination(self.output_path), refresh=refresh,
                                    stem=checked_output_name(self.service, self.endpoint, self.output_name))
            self.log.info("Wrote %s", ", ".join(written))
        self._written = written  # for the lineage of this try (operators/lineage.py)
        if job.output_urls:
            MediaOutputLink.remember(self, redacted_urls(job.output_urls[:1])[0])
        result = self._result(job, written, entry)
        if fewer is not None and self.strict_outputs:
            # After the files were written and before the success is recorded: a retry reuses the job (no
            # second charge) and fails the same way; the files stay for whoever wants them.
            raise AirflowFailException(f"{fewer} (strict_outputs=True)")
        if job.succeeded:
            self._emit_asset_events(context, result)
            # Kept, marked done, never deleted here: a crash between a delete and Airflow recording the
            # success would make the retry pay again. Airflow's ``[state_store] clear_on_success`` clears it
            # in the same step as the success, so clearing the task then regenerates on purpose.
            self._record(store, {"service": self.service, "kind": self.kind, "phase": "done", "job_id": job.id,
                                 "status": job.raw_status, "job": self._storable(job),
                                 "finished_at": time.time(),
                                 "submitted_at": self._deadline(store) - self.timeout})
        return result

    def _storable(self, job: Job) -> dict[str, Any]:
        """The job as the state store keeps it (Airflow's metadata DB). Where the service can be asked
        again (a retry reads the job for fresh URLs), without its signed URLs or the vendor's answer; a
        kind that cannot be read back keeps them: they are the only way to its files."""
        if not self.job_kind.pollable:
            return job.model_dump(mode="json")
        return job.model_dump(mode="json", exclude={"raw"}) | {"output_urls": redacted_urls(job.output_urls)}

    def _warn_if_fewer_outputs(self, job: Job) -> str | None:
        """The docs are silent on how a job asking for several files (the kind's ``outputs_field``)
        returns them: say so when fewer came back than were asked for, since the credits are charged anyway.
        Returns the warning, if there was one."""
        field = self.job_kind.outputs_field
        asked = getattr(self, field, None) if field else None
        if not (isinstance(asked, int) and asked > len(job.output_urls)):
            return None
        message = (f"{self._where(job.id)}: asked for {asked} outputs ({field}={asked}) but "
                   f"{SERVICES[self.service].title} returned {len(job.output_urls)} file(s); the job was charged "
                   f"{'unknown' if job.credits is None else f'{job.credits:g}'} credits. The docs do not say how "
                   "several outputs come back (docs/parameters.md).")
        self.log.warning("%s", message)
        return message

    def _result(self, job: Job, written: list[str], entry: LedgerEntry) -> dict[str, Any]:
        return {
            "service": self.service, "kind": self.kind, "conn_id": self.conn_id, "job_id": job.id,
            "status": job.status.value, "raw_status": job.raw_status,
            # Signed URLs are capabilities that expire: XCom keeps them masked, and references that a
            # downstream media input turns into a fresh URL when it runs (kinds that can be read back).
            "output_urls": redacted_urls(job.output_urls), "outputs": written,
            "output_refs": job_refs(self.service, self.kind, job.id, self.conn_id, len(job.output_urls))
            if self.job_kind.pollable else [],
            # Net credits, and the ledger's figures (``mediagen credits``): the catalog's estimate, what the
            # service reports charged and refunded (None where it reports none).
            "credits": job.credits, "credits_estimated": entry.credits_estimated,
            "credits_charged": entry.credits_charged, "credits_refunded": entry.credits_refunded,
            "error": job.error,
            "metadata": dict(job.metadata),
        }

    def _emit_asset_events(self, context: Any, result: dict[str, Any]) -> None:
        events = context.get("outlet_events")
        if events is None or not self.outlets:
            return
        extra = {k: result[k] for k in ("service", "kind", "conn_id", "job_id", "status", "output_urls", "output_refs",
                                        "outputs", "credits", "credits_estimated", "credits_charged",
                                        "credits_refunded")}
        for outlet in self.outlets:
            try:
                events[outlet].extra.update(extra)
            except (KeyError, TypeError, AttributeError):  # not an asset outlet
                continue
