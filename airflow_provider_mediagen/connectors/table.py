"""The table a connector's shared runtime executes: one builder for every platform.

The n8n node and the Zapier app each ship a small generic runtime plus one table per service: which
operations exist (method, path, role, encoding, inputs), and where a job keeps its id, status, outputs
and error. What is common is built here from the :class:`~.spec.ServiceSpec`; a platform adds only
what its runtime reads beyond that (an operation key, how an input is described, extra entries).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .fields import FieldSpec
from .spec import JobSpec, Operation, ServiceSpec

__all__ = ["TableStyle", "error_fallback", "job_of", "runtime_table"]

_JOB_ROLES = ("submit", "status", "list")


def _nothing(*_: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class TableStyle:
    """What one platform's runtime reads beyond the common entries (each adds keys after them)."""

    op_key: Callable[[Operation], str]
    field: Callable[[FieldSpec], dict[str, Any]]
    # Entries of an operation after its fields; ``job`` is the job the operation submits, reads or lists.
    op_extra: Callable[[ServiceSpec, Operation, JobSpec | None], dict[str, Any]] = _nothing
    job_extra: Callable[[JobSpec], dict[str, Any]] = _nothing
    # Top-level entries after ``title`` (n8n's credential name, Zapier's base URL), after ``errorField``,
    # and after ``jobs``.
    head: Callable[[ServiceSpec], dict[str, Any]] = _nothing
    after_error: Callable[[ServiceSpec], dict[str, Any]] = _nothing
    tail: Callable[[ServiceSpec], dict[str, Any]] = _nothing


def job_of(spec: ServiceSpec, op: Operation) -> JobSpec | None:
    """The job an operation submits, reads or lists (``None`` for account operations)."""
    job = spec.job_for(op)
    return job if job is not None and op.role in _JOB_ROLES else None


def error_fallback(spec: ServiceSpec) -> str:
    """Where a failed job's message sits when its own answer names no error field: the webhook's job
    error field, else the service's error-body field."""
    shape = spec.webhook.shape if spec.webhook else None
    return (shape.error_field if shape else None) or spec.error_message_field


def runtime_table(spec: ServiceSpec, style: TableStyle) -> dict[str, Any]:
    ops: dict[str, Any] = {}
    for op in spec.operations:
        if op.role == "stream":  # the no-code runtimes read one answer and end (ServiceSpec.unexpressible)
            continue
        entry: dict[str, Any] = {"method": op.method, "path": op.path, "role": op.role, "encoding": op.encoding,
                                 "list": op.returns_list, "fields": [style.field(f) for f in op.inputs]}
        entry.update(style.op_extra(spec, op, job_of(spec, op)))
        ops[style.op_key(op)] = entry
    fallback = error_fallback(spec)
    jobs: dict[str, Any] = {}
    for job in spec.jobs:
        shape = job.job_shape
        if shape is None:
            continue
        jobs[job.name] = {"title": job.title, "idField": shape.id_field, "statusField": shape.status_field,
                          "outputFields": shape.output_fields, "errorField": shape.error_field or fallback,
                          **style.job_extra(job)}
    return {"name": spec.name, "title": spec.title, **style.head(spec), "errorField": spec.error_message_field,
            **style.after_error(spec), "statusMap": spec.status_map, "operations": ops, "jobs": jobs,
            **style.tail(spec)}
