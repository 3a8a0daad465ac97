"""OpenLineage for a generation task: which inputs, prompt, model and job made which files.

Airflow's OpenLineage integration (``apache-airflow-providers-openlineage``, the ``openlineage`` extra)
calls ``get_openlineage_facets_on_complete`` / ``_on_failure`` on the operator object that ran the task,
in the worker after ``execute`` or after ``execute_complete`` (deferrable): both paths keep the job and
the files written on the operator, so lineage is the same either way. Without the integration nothing
here is imported.

What is reported, and what never is:
- inputs: every media the request named: an http(s) URL as a dataset of its host and path (its query,
  where signatures live, and any user info are dropped), an uploaded file by its storage location, an
  upstream job's output reference (``mediagen://<service>/<kind>/<job>?output=0``) as that job's output
  dataset, the one the upstream task reported as an output; the request's webhook URL is not an input;
- outputs: each file written under ``output_path`` (namespace from its ObjectStoragePath: ``file``,
  ``s3://bucket``...), and each of the job's outputs as ``mediagen://<service>`` ``<kind>/<job>/<i>``;
- the run facet ``mediagen``: service, kind, connection, job id and status, model, credits (estimated,
  charged, refunded), a SHA-256 of each prompt field, and the prompt text itself only when the
  connection's extra ``lineage_prompt_text`` is true. No key, token or signed URL is in any of it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from ..catalog import Endpoint, Job
from ..job_refs import JobRef, is_job_ref
from ..ledger.entries import LedgerEntry

__all__ = ["LineageMixin", "location_dataset", "url_dataset"]


def url_dataset(url: str) -> tuple[str, str]:
    """(namespace, name) of an http(s) URL: scheme and host (with its port), and the path. The query
    and fragment (signatures, tokens) and any user info are left out."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme.lower()}://{host}", parts.path or "/"


def location_dataset(location: str) -> tuple[str, str]:
    """(namespace, name) of a storage location (a local path or an ObjectStoragePath URI, whose
    ``conn_id@`` is left out): ``file`` and the absolute path, else ``scheme://bucket`` and the key."""
    text = os.fspath(location)
    if "://" not in text:
        return "file", os.path.abspath(text)
    scheme, rest = text.split("://", 1)
    scheme = scheme.lower()
    if scheme in ("file", "local"):
        return "file", "/" + rest.lstrip("/")
    bucket, _, key = rest.partition("/")
    return f"{scheme}://{bucket.rsplit('@', 1)[-1]}", key


def job_output_dataset(service: str, kind: str, job_id: str, index: int) -> tuple[str, str]:
    """The dataset of one output of a job: what a downstream task passed the reference reads."""
    return f"mediagen://{service}", f"{kind}/{job_id}/{index}"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


class LineageMixin:
    """Mixed into :class:`.base.MediaGenerationOperator`."""

    # Set by the operator this is mixed into.
    service: str
    kind: str
    conn_id: str
    endpoint: Endpoint
    file_fields: tuple[str, ...]
    _job_id: str | None
    _last_job: Job | None
    _estimate: float | None
    _last_entry: LedgerEntry | None

    _written: list[str] | None = None  # the files this try wrote (set when the job's outputs are stored)

    def request_values(self) -> dict[str, Any]: ...  # provided by the operator

    def _lineage_inputs(self, request: dict[str, Any]) -> list[tuple[str, str]]:
        webhook = self.endpoint.webhook_field
        found: dict[tuple[str, str], None] = {}
        values = {**request, **{name: getattr(self, name, None) for name in self.file_fields}}
        for name, value in values.items():
            if value is None or name == webhook:
                continue
            if name in self.file_fields:
                if isinstance(value, (str, os.PathLike)) and "{{" not in str(value):
                    found[location_dataset(str(value))] = None
                continue
            for text in _strings(value):
                if "{{" in text:  # not rendered yet (the start event may come first): nothing to name
                    continue
                if is_job_ref(text):
                    try:
                        ref = JobRef.parse(text)
                    except ValueError:
                        continue
                    found[job_output_dataset(ref.service, ref.kind, ref.job_id, ref.output)] = None
                elif text.lower().startswith(("http://", "https://")):
                    found[url_dataset(text)] = None
        return list(found)

    def _lineage_outputs(self, job: Job | None) -> list[tuple[str, str]]:
        outputs = [location_dataset(path) for path in (self._written or [])]
        if job is not None and job.succeeded:
            outputs += [job_output_dataset(self.service, self.kind, job.id, i) for i in range(len(job.output_urls))]
        return outputs

    def _prompt_texts(self, values: dict[str, Any]) -> dict[str, str]:
        return {name: values[name] for name in self.endpoint.prompt_fields if isinstance(values.get(name), str)}

    def _share_prompt_text(self) -> bool:
        try:
            return bool(getattr(self, "hook").settings.lineage_prompt_text)
        except Exception:  # noqa: BLE001 - an unreadable connection shares nothing
            return False

    def _lineage_facet_fields(self, job: Job | None, values: dict[str, Any]) -> dict[str, Any]:
        prompts = self._prompt_texts(values)
        entry = self._last_entry if self._last_entry is not None and job is not None and \
            self._last_entry.job_id == job.id else None
        model = values.get("model")
        fields: dict[str, Any] = {
            "service": self.service, "kind": self.kind, "conn_id": self.conn_id,
            "job_id": job.id if job is not None else self._job_id,
            "status": job.status.value if job is not None else "unknown",
            "model": model if isinstance(model, str) else None,
            # As the ledger has them (the estimate made when the job was submitted, maybe by an earlier try).
            "credits_estimated": entry.credits_estimated if entry is not None else self._estimate,
            "credits_charged": entry.credits_charged if entry is not None else None,
            "credits_refunded": entry.credits_refunded if entry is not None else None,
            "prompt_sha256": {name: hashlib.sha256(text.encode()).hexdigest() for name, text in prompts.items()},
            "prompt": prompts if prompts and self._share_prompt_text() else None,
        }
        return fields

    def _operator_lineage(self, *, complete: bool) -> Any:
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage

        from .lineage_facet import MediaGenRunFacet

        job = self._last_job if self._last_job is not None and self._last_job.id == self._job_id else None
        values = self.request_values()  # read once per event, shared by the inputs and the facet
        return OperatorLineage(
            inputs=[Dataset(namespace=ns, name=name) for ns, name in self._lineage_inputs(values)],
            outputs=[Dataset(namespace=ns, name=name) for ns, name in self._lineage_outputs(job)] if complete else [],
            run_facets={"mediagen": MediaGenRunFacet(**self._lineage_facet_fields(job, values))},
        )

    def get_openlineage_facets_on_start(self) -> Any:
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage

        inputs = self._lineage_inputs(self.request_values())
        return OperatorLineage(inputs=[Dataset(namespace=ns, name=name) for ns, name in inputs])

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return self._operator_lineage(complete=True)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self._operator_lineage(complete=False)
