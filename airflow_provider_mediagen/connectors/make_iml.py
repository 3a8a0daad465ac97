"""Make's pieces for one operation: mappable parameters, output interfaces and samples, and the IML
communication (request, pagination-free response, in-module waiting with a bounded ``repeat``). Split
from :mod:`.make`, whose builder assembles them into an app."""

from __future__ import annotations

import math
from typing import Any

from ..naming import camel
from .fields import FieldSpec
from .spec import JobSpec, Operation, ServiceSpec, display_title

MODULE_TIMEOUT_SECONDS = 40  # Make's default per-module limit
REPEAT_BUDGET_SECONDS = 30  # what an in-module wait may spend of it


def _help(f: FieldSpec) -> dict[str, Any]:
    return {"help": f.help} if f.help else {}


def param(f: FieldSpec, rpc: str | None = None) -> dict[str, Any]:
    """A Make parameter for a catalog field."""
    p: dict[str, Any] = {"name": f.name, "label": f.label}
    if f.type == "file":
        p.update(type="collection", spec=[
            {"name": "filename", "type": "filename", "label": "File name", "required": True, "semantic": "file:name"},
            {"name": "data", "type": "buffer", "label": "Data", "required": True, "semantic": "file:data"},
        ])
    elif rpc is not None:
        p.update(type="select", options=f"rpc://{rpc}", editable=True)
    elif f.enum is not None:
        p.update(type="select", options=[{"label": str(v), "value": v} for v in f.enum])
    elif f.type == "boolean":
        p["type"] = "boolean"
    elif f.type in ("integer", "number"):
        p["type"] = "uinteger" if f.type == "integer" and (f.minimum or 0) >= 0 and f.minimum is not None else f.type
        validate = {k: v for k, v in (("min", f.minimum), ("max", f.maximum)) if v is not None}
        if validate:
            p["validate"] = validate
    elif f.type == "array":
        if f.children:
            p.update(type="array", spec=[param(c) for c in f.children])
        else:
            p.update(type="array", spec={"type": "url" if (f.schema.get("items") or {}).get("format") == "uri" else "text",
                                         "label": f.label.rstrip("s") or f.label})
    else:
        p["type"] = "url" if f.format == "uri" else "text"
        validate = {k: v for k, v in (("min", f.min_length), ("max", f.max_length), ("pattern", f.pattern))
                    if v is not None}
        if validate:
            p["validate"] = validate
        if (f.max_length or 0) > 500:
            p["multiline"] = True
    p.update(_help(f))
    if f.required:
        p["required"] = True
    if f.has_default:
        p["default"] = f.default
    return p


def _nonnull(schema: dict[str, Any]) -> dict[str, Any]:
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        types = {b.get("type") for b in branches}
        if len(branches) == 1:
            return {**branches[0], **{k: v for k, v in schema.items() if k != "anyOf"}}
        if types <= {"integer", "number"}:
            return {"type": "number"}
        return {"type": "any"}
    return schema


def interface(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Make output fields from a JSON schema object."""
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        prop = _nonnull(prop)
        typ = prop.get("type", "any")
        item: dict[str, Any] = {"name": name, "label": display_title(" ".join(_label_words(name)))}
        if typ == "string":
            item["type"] = "url" if name.lower().endswith("url") else "text"
        elif typ in ("integer", "number"):
            item["type"] = "number"
        elif typ == "boolean":
            item["type"] = "boolean"
        elif typ == "object":
            item["type"] = "collection"
            if prop.get("properties"):
                item["spec"] = interface(prop)
        elif typ == "array":
            item["type"] = "array"
            items = _nonnull(prop.get("items") or {})
            if items.get("properties"):
                item["spec"] = interface(items)
        else:
            item["type"] = "any"
        out.append(item)
    return out


def _label_words(name: str) -> list[str]:
    from ..naming import title_case

    return title_case(name).split()


def sample(schema: dict[str, Any]) -> dict[str, Any]:
    sample: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        prop = _nonnull(prop)
        typ = prop.get("type")
        if "enum" in prop:
            sample[name] = prop["enum"][0]
        elif typ == "string":
            sample[name] = f"https://example.com/{name}" if name.lower().endswith("url") else name
        elif typ in ("integer", "number"):
            sample[name] = 1
        elif typ == "boolean":
            sample[name] = False
    return sample


def body_ref(op: Operation) -> str:
    return f"body.{op.envelope}" if op.envelope else "body"


def _url(op: Operation, values: dict[str, str] | None = None) -> str:
    url = op.path
    for p in op.path_params:
        value = (values or {}).get(p.name, f"parameters.{p.name}")
        url = url.replace("{" + p.name + "}", "{{encodeURL(" + value + ")}}")
    return url


def _qs(op: Operation, values: dict[str, str] | None = None) -> dict[str, str]:
    return {f.name: "{{" + (values or {}).get(f.name, f"parameters.{f.name}") + "}}" for f in op.query}


def _body(op: Operation) -> Any:
    body: dict[str, Any] = {}
    for f in op.body:
        body[f.name] = "{{parameters." + f.name + "}}"
    for f in op.files:
        body[f.name] = {"value": "{{parameters." + f.name + ".data}}",
                        "options": {"filename": "{{parameters." + f.name + ".filename}}"}}
    return body


def request(op: Operation) -> dict[str, Any]:
    req: dict[str, Any] = {"url": _url(op), "method": op.method}
    qs = _qs(op)
    if qs:
        req["qs"] = qs
    if op.method in ("POST", "PUT", "PATCH"):
        req["body"] = _body(op)
        if op.encoding == "multipart":
            req["type"] = "multipart/form-data"
    return req


def _pending_condition(spec: ServiceSpec, ref: str) -> str:
    raws = spec.raw_statuses["queued"] + spec.raw_statuses["running"]
    return "{{" + " || ".join(f"{ref} == '{r}'" for r in raws) + "}}"


def terminal_condition(spec: ServiceSpec, ref: str) -> str:
    raws = spec.raw_statuses["succeeded"] + spec.raw_statuses["failed"]
    return "{{" + " || ".join(f"{ref} == '{r}'" for r in raws) + "}}"


def _failed_guard(spec: ServiceSpec, job: JobSpec, body: str) -> dict[str, Any]:
    shape = job.job_shape
    status = f"{body}.{shape.status_field}"
    err = f"{body}.{shape.error_field}" if shape and shape.error_field else f"{body}.{spec.error_message_field}"
    cond = " && ".join(f"{status} != '{r}'" for r in spec.raw_statuses["failed"])
    return {"condition": "{{" + cond + "}}", "message": "{{" + err + "}}", "type": "RuntimeError"}


def communication(spec: ServiceSpec, op: Operation) -> Any:
    job = spec.job_for(op)
    req = request(op)
    body = body_ref(op)
    if op.role == "submit" and job is not None and job.is_async and job.short and job.submit_shape:
        # Submit, then read the job back until it is terminal: a bounded in-module wait.
        status_op = job.status
        temp_id = f"{body}.{job.submit_shape.id_field}"
        req["response"] = {"temp": {"jobId": "{{" + temp_id + "}}"}}
        values = {job.status_param.name: "temp.jobId"}
        poll: dict[str, Any] = {"url": _url(status_op, values), "method": "GET"}
        if status_op.query:
            poll["qs"] = _qs(status_op, values)
        delay = job.default_interval
        poll_body = body_ref(status_op)
        poll["repeat"] = {
            "condition": _pending_condition(spec, f"{poll_body}.{job.job_shape.status_field}"),
            "delay": delay * 1000,
            "limit": max(1, math.floor(REPEAT_BUDGET_SECONDS / delay)),
        }
        poll["response"] = {"output": "{{" + poll_body + "}}", "valid": _failed_guard(spec, job, poll_body)}
        return [req, poll]
    response: dict[str, Any] = {}
    if op.returns_list:
        response["iterate"] = "{{" + body + "}}"
        response["output"] = "{{item}}"
    else:
        response["output"] = "{{" + body + "}}"
    if op.role == "status" and job is not None and job.job_shape:
        response["valid"] = _failed_guard(spec, job, body)
    req["response"] = response
    return req


def item_schema(op: Operation) -> dict[str, Any]:
    return _nonnull(op.response_item_schema or {})


def module_type(op: Operation) -> tuple[str, str | None]:
    if op.returns_list:
        return "search", None
    crud = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}.get(op.method, "read")
    return "action", crud


def item_id(spec: ServiceSpec, op: Operation) -> str | None:
    job = spec.job_for(op)
    if job is not None and job.job_shape is not None:
        return job.job_shape.id_field
    props = item_schema(op).get("properties") or {}
    if "id" in props:
        return "id"
    return next((p for p in props if p.lower().endswith("id")), None)


def rpc_sources(spec: ServiceSpec) -> dict[tuple[str, str], Operation]:
    """(operation id, parameter) -> list operation whose items the parameter takes."""
    lists = [op for op in spec.operations if op.returns_list and op.role != "stream"]
    out: dict[tuple[str, str], Operation] = {}
    for op in spec.operations:
        for f in op.inputs:
            if not f.required or f.location not in ("path", "query"):
                continue
            for lst in lists:
                same_endpoint = lst.endpoint is op.endpoint and op.single
                child_path = op.path == f"{lst.path}/{{{f.name}}}"
                if (same_endpoint or child_path) and item_id(spec, lst):
                    out[(op.id, f.name)] = lst
    return out


def module_id(op: Operation) -> str:
    """The operation's camel-case id, which Make wants 4-48 characters long: a shorter one (an endpoint
    named ``me``) gets its resource appended."""
    mid = camel(op.id)
    return mid if len(mid) >= 4 else mid + op.resource.capitalize()


def rpc_id(lst: Operation) -> str:
    return "rpc" + camel(lst.id)[:1].upper() + camel(lst.id)[1:]
