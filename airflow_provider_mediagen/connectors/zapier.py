"""Zapier platform app per service (zapier-platform-core 19).

Every POST/DELETE endpoint is a create; creates of async jobs either hand Zapier a callback URL as the
service's per-request webhook (``z.generateCallbackUrl()`` + ``performResume``) or poll within Zapier's
30 s limit and hand back the job ID. Every GET is a search ("find a job" for status endpoints); list
endpoints are also polling triggers ("New Finished Job" for job lists). Behaviour lives once in
``lib/runtime.js``; ``lib/service.js`` is the generated table it runs.
"""

from __future__ import annotations

import json
from typing import Any

from .render import GENERATED_NOTE, dump_json, render_template
from ..naming import title_case
from .fields import FieldSpec
from .spec import JobSpec, Operation, ServiceSpec
from .table import TableStyle, error_fallback, runtime_table

CORE_VERSION = "19.1.0"
POLL_BUDGET_SECONDS = 25  # of Zapier's 30 s per step


def _help(f: FieldSpec) -> str:
    text = f.help or f.label
    if f.is_object_list:
        example = {c.name: c.name for c in f.children if c.required}
        text += f" (JSON array of objects, e.g. {json.dumps([example])})"
    elif f.type == "object":
        text += " (JSON)"
    return text


def input_field(f: FieldSpec, callback: bool) -> dict[str, Any] | None:
    if callback and f.is_webhook_url:
        return None  # filled with Zapier's callback URL
    # A field with a catalog default is always sent (as the Python client does): required, prefilled.
    field: dict[str, Any] = {"key": f.name, "label": f.label, "required": f.required or f.has_default,
                             "helpText": _help(f)}
    if f.type == "file":
        field["type"] = "file"
    elif f.enum is not None:
        field["type"] = "string"
        field["choices"] = [str(v) for v in f.enum]
    elif f.type == "integer":
        field["type"] = "integer"
    elif f.type == "number":
        field["type"] = "number"
    elif f.type == "boolean":
        field["type"] = "boolean"
    elif f.is_object_list or f.type == "object":
        field["type"] = "text"
    elif f.type == "array":
        field["type"] = "string"
        field["list"] = True
    else:
        field["type"] = "text" if (f.max_length or 0) > 500 else "string"
    if f.has_default:
        field["default"] = str(f.default).lower() if isinstance(f.default, bool) else str(f.default)
    return field


def _kind(f: FieldSpec) -> str:
    if f.type == "file":
        return "file"
    if f.is_object_list or f.type == "object":
        return "json"
    if f.type in ("integer", "number") and f.enum is None:
        return "number"
    if f.type in ("integer", "number"):
        return "number"
    if f.type == "boolean":
        return "boolean"
    if f.type == "array":
        return "list"
    return "string"


def _sample(schema: dict[str, Any], job: bool) -> dict[str, Any]:
    from .make_iml import sample as make_sample

    sample = make_sample(schema)
    if job:
        sample = {"id": "job_123", "jobId": "job_123", "status": "succeeded", "rawStatus": "completed",
                  "outputUrl": "https://example.com/output", "error": None, "response": sample}
    elif not sample:
        sample = {"id": "1"}
    return sample


def _item_id(spec: ServiceSpec, op: Operation) -> str | None:
    from .make_iml import item_id as make_item_id

    return make_item_id(spec, op)


def _noun(spec: ServiceSpec, op: Operation) -> str:
    job = spec.job_for(op)
    if job is not None:
        return title_case(job.title.split()[-1]) if op.role == "submit" else "Job"
    return "Account"


def components(spec: ServiceSpec) -> dict[str, list[dict[str, Any]]]:
    creates, searches, triggers = [], [], []
    for op in spec.operations:
        if op.role == "stream":
            continue
        job = spec.job_for(op)
        is_async = job is not None and job.is_async and op.role == "submit"
        callback = bool(is_async and job.webhook_field)
        polls = bool(is_async and not callback and job.pollable)
        fields = [x for x in (input_field(f, callback) for f in op.inputs) if x is not None]
        base = {"key": op.id, "noun": _noun(spec, op), "op": op, "fields": fields}
        job_out = job is not None and job.job_shape is not None and op.role in ("submit", "status", "list")
        if op.method != "GET":
            description = op.description
            if callback:
                description += "; Zapier waits (paused) until the service calls back with the finished job"
            elif polls:
                description += f"; waits up to {POLL_BUDGET_SECONDS} s, then returns the job ID for a Find Job search"
            creates.append({**base, "label": op.title, "description": description, "mode":
                            "callback" if callback else "poll" if polls else "plain",
                            "sample": _sample(op.response_item_schema, job_out)})
        else:
            label = ("Find Job" if op.title == "Get Job" else op.title.replace("Get ", "Find ", 1)
                     if op.role == "status" else op.title)
            searches.append({**base, "label": label, "description": op.description, "mode": "plain",
                             "sample": _sample(op.response_item_schema, job_out)})
            if op.returns_list:
                finished = op.role == "list" and job_out
                triggers.append({**base, "key": f"new_{op.id.removeprefix('list_')}",
                                 "label": "New Finished Job" if finished else f"New Item in {op.title}",
                                 "description": ("Triggers when a job reaches a final status" if finished
                                                 else f"Triggers on new items of: {op.description}"),
                                 "mode": "finished" if finished else "new",
                                 "sample": _sample(op.response_item_schema, job_out)})
    return {"creates": creates, "searches": searches, "triggers": triggers}


def _op_extra(spec: ServiceSpec, op: Operation, job: JobSpec | None) -> dict[str, Any]:
    entry = {"envelope": op.envelope, "itemId": _item_id(spec, op)}
    if job is not None and job.job_shape is not None:
        entry["job"] = job.name
    return entry


def _job_extra(job: JobSpec) -> dict[str, Any]:
    assert job.job_shape is not None
    return {"submitIdField": job.submit_shape.id_field if job.submit_shape else job.job_shape.id_field,
            "statusOperation": job.status.id if job.status else None,
            "statusParam": job.status_param.name if job.status_param else None,
            "webhookField": job.webhook_field, "interval": min(job.default_interval, 5)}


def _webhook(spec: ServiceSpec) -> dict[str, Any]:
    if spec.webhook is None or spec.webhook.shape is None:
        return {"webhook": None}
    s = spec.webhook.shape
    return {"webhook": {"jobPath": spec.webhook.job_path, "idField": s.id_field, "statusField": s.status_field,
                        "outputFields": s.output_fields, "errorField": s.error_field or error_fallback(spec)}}


_TABLE = TableStyle(
    op_key=lambda op: op.id,
    field=lambda f: {"wire": f.name, "in": f.location, "kind": _kind(f),
                     **({"default": f.default} if f.has_default else {})},
    op_extra=_op_extra, job_extra=_job_extra, head=lambda spec: {"baseUrl": spec.base_url},
    after_error=lambda spec: {"errorCodeField": spec.error_code_field},
    tail=lambda spec: {**_webhook(spec), "pollBudgetSeconds": POLL_BUDGET_SECONDS, "check": spec.check.id},
)


def service_table(spec: ServiceSpec) -> dict[str, Any]:
    """The data the shared runtime executes: operations, job shapes, webhook shape, status map."""
    return runtime_table(spec, _TABLE)


def render(spec: ServiceSpec) -> dict[str, str]:
    base = f"zapier/{spec.name}/"
    comps = components(spec)
    files = {
        f"{base}package.json": dump_json({
            "//": GENERATED_NOTE,
            "name": f"zapier-{spec.name}-mediagen",
            "version": "1.0.0",
            "description": f"Zapier integration for {spec.title} (generated from the airflow-provider-mediagen catalog)",
            "main": "index.js",
            "private": True,
            "license": "Apache-2.0",
            "engines": {"node": ">=18"},
            "dependencies": {"zapier-platform-core": CORE_VERSION},
        }),
        f"{base}lib/service.js": render_template("zapier/service.js.j2", table=json.dumps(service_table(spec), indent=2)),
        f"{base}lib/runtime.js": render_template("zapier/runtime.js.j2"),
        f"{base}authentication.js": render_template("zapier/authentication.js.j2", spec=spec),
        f"{base}index.js": render_template("zapier/index.js.j2", spec=spec, comps=comps),
        f"{base}README.md": render_template("zapier/README.md.j2", spec=spec, comps=comps,
                                            budget=POLL_BUDGET_SECONDS),
    }
    for kind in ("creates", "searches", "triggers"):
        for c in comps[kind]:
            files[f"{base}{kind}/{c['key']}.js"] = render_template(
                "zapier/component.js.j2", kind=kind, c=c, fields=json.dumps(c["fields"], indent=2),
                sample=json.dumps(c["sample"], indent=2))
    return files
