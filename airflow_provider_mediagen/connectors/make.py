"""Make custom app per service, in the local-development layout of Make's apps SDK.

Components, all derived from the catalog walk:
- one basic connection (API key + base URL, tested against the service's check endpoint);
- a module per operation: "Create" modules for submissions (returning the job id; a short, pollable
  kind waits in-module with a bounded ``repeat``), "Get" modules for status reads, searches for lists,
  actions for the rest;
- a polling trigger "Watch Finished Jobs" where a job list endpoint exists;
- webhooks + instant triggers for job completions: with ``attach`` where the service registers a URL
  (the catalog's ``webhook_registration`` endpoint), a plain dedicated webhook where the URL goes
  with each request (a ``webhook_url`` field of the submit body);
- RPCs for dynamic lists (job ids, key ids) where a list endpoint names the items a parameter takes.
"""

from __future__ import annotations

import math
from typing import Any

from .render import GENERATED_NOTE, dump_json, render_template
from ..naming import camel
from .spec import FieldSpec, JobSpec, Operation, ServiceSpec, display_title

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


def _sample(schema: dict[str, Any]) -> dict[str, Any]:
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


def _body_ref(op: Operation) -> str:
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


def _request(op: Operation) -> dict[str, Any]:
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


def _terminal_condition(spec: ServiceSpec, ref: str) -> str:
    raws = spec.raw_statuses["succeeded"] + spec.raw_statuses["failed"]
    return "{{" + " || ".join(f"{ref} == '{r}'" for r in raws) + "}}"


def _failed_guard(spec: ServiceSpec, job: JobSpec, body: str) -> dict[str, Any]:
    shape = job.job_shape
    status = f"{body}.{shape.status_field}"
    err = f"{body}.{shape.error_field}" if shape and shape.error_field else f"{body}.{spec.error_message_field}"
    cond = " && ".join(f"{status} != '{r}'" for r in spec.raw_statuses["failed"])
    return {"condition": "{{" + cond + "}}", "message": "{{" + err + "}}", "type": "RuntimeError"}


def _communication(spec: ServiceSpec, op: Operation) -> Any:
    job = spec.job_for(op)
    req = _request(op)
    body = _body_ref(op)
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
        poll_body = _body_ref(status_op)
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


def _item_schema(op: Operation) -> dict[str, Any]:
    return _nonnull(op.response_item_schema or {})


def _module_type(op: Operation) -> tuple[str, str | None]:
    if op.returns_list:
        return "search", None
    crud = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}.get(op.method, "read")
    return "action", crud


def _item_id(spec: ServiceSpec, op: Operation) -> str | None:
    job = spec.job_for(op)
    if job is not None and job.job_shape is not None:
        return job.job_shape.id_field
    props = _item_schema(op).get("properties") or {}
    if "id" in props:
        return "id"
    return next((p for p in props if p.lower().endswith("id")), None)


def _rpc_sources(spec: ServiceSpec) -> dict[tuple[str, str], Operation]:
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
                if (same_endpoint or child_path) and _item_id(spec, lst):
                    out[(op.id, f.name)] = lst
    return out


def _module_id(op: Operation) -> str:
    """The operation's camel-case id, which Make wants 4-48 characters long: a shorter one (an endpoint
    named ``me``) gets its resource appended."""
    mid = camel(op.id)
    return mid if len(mid) >= 4 else mid + op.resource.capitalize()


def _rpc_id(lst: Operation) -> str:
    return "rpc" + camel(lst.id)[:1].upper() + camel(lst.id)[1:]


def build(spec: ServiceSpec) -> dict[str, Any]:
    """Relative path -> JSON data (or text for README) of one Make app."""
    files: dict[str, Any] = {}
    conn = spec.name
    components: dict[str, dict[str, Any]] = {k: {} for k in ("connection", "endpoint", "function", "module", "rpc",
                                                              "webhook")}
    groups: dict[str, list[str]] = {"Generation": [], "Jobs": [], "Account": [], "Triggers": []}

    def code_files(kind: str, cid: str, codes: dict[str, Any]) -> dict[str, str]:
        names = {"communication": "communication", "params": "params", "common": "common",
                 "staticParams": "static-params", "mappableParams": "mappable-params", "interface": "interface",
                 "samples": "samples", "scope": "scope", "epoch": "epoch", "attach": "attach", "detach": "detach"}
        folder = f"{kind}s/{cid}"
        paths = {}
        for code, data in codes.items():
            ext = "json" if code == "common" else "iml.json"
            path = f"{folder}/{cid}.{names[code]}.{ext}"
            files[path] = data
            paths[code] = path
        return paths

    # connection
    check = spec.check
    components["connection"][conn] = {
        "label": f"{spec.title} API key",
        "connectionType": "basic",
        "codeFiles": code_files("connection", conn, {
            "communication": {
                "url": "{{parameters.baseUrl}}" + check.path,
                "method": check.method,
                "headers": {"Authorization": "Bearer {{parameters.apiKey}}"},
                "response": {"error": {"message": "{{body." + spec.error_message_field + "}}"}},
                "log": {"sanitize": ["request.headers.authorization"]},
            },
            "params": [
                {"name": "apiKey", "type": "password", "label": "API Key", "required": True,
                 "help": f"Your {spec.title} API key (starts with {spec.service.key_prefix})"},
                {"name": "baseUrl", "type": "url", "label": "Base URL", "required": True,
                 "default": spec.base_url, "advanced": True,
                 "help": "Change only to point at a test server"},
            ],
            "common": {},
        }),
    }

    rpc_sources = _rpc_sources(spec)
    for lst in {id(v): v for v in rpc_sources.values()}.values():
        rid = _rpc_id(lst)
        id_field = _item_id(spec, lst)
        props = _item_schema(lst).get("properties") or {}
        label_parts = ["{{item." + id_field + "}}"]
        if "name" in props:
            label_parts = ["{{item.name}}", "(" + label_parts[0] + ")"]
        elif "status" in props:
            label_parts.append("({{item.status}})")
        if "type" in props:
            label_parts.insert(0, "{{item.type}}")
        req = _request(lst)
        req["response"] = {"iterate": "{{" + _body_ref(lst) + "}}",
                           "output": {"label": " ".join(label_parts), "value": "{{item." + id_field + "}}"}}
        components["rpc"][rid] = {
            "label": lst.title, "connection": conn, "altConnection": None,
            "codeFiles": code_files("rpc", rid, {"communication": req, "params": []}),
        }

    for op in spec.operations:
        if op.role == "stream":
            continue
        mid = _module_id(op)
        module_type, crud = _module_type(op)
        job = spec.job_for(op)
        waits = op.role == "submit" and job is not None and job.is_async and job.short
        params = [param(f, _rpc_id(rpc_sources[(op.id, f.name)]) if (op.id, f.name) in rpc_sources else None)
                  for f in op.inputs]
        out_schema = _item_schema(job.status if waits else op)
        description = op.description
        if waits:
            description += f"; waits up to {REPEAT_BUDGET_SECONDS} s for the job, then returns it (finished or not)"
        elif op.role == "submit" and job is not None and job.is_async:
            description += "; returns the job ID at once"
        meta: dict[str, Any] = {"label": op.title, "description": description, "moduleType": module_type}
        if crud:
            meta["actionCrud"] = crud
        meta.update(connection=conn, altConnection=None)
        meta["codeFiles"] = code_files("module", mid, {
            "communication": _communication(spec, op),
            "staticParams": [],
            "mappableParams": params,
            "interface": interface(out_schema),
            "samples": _sample(out_schema),
        })
        components["module"][mid] = meta
        groups[{"generation": "Generation", "job": "Jobs"}.get(op.resource, "Account")].append(mid)

    # polling trigger for newly finished jobs
    for lst in [op for op in spec.operations if op.role == "list" and spec.job_for(op)]:
        job = spec.job_for(lst)
        shape = job.job_shape
        mid = "watchFinishedJobs"
        body = _body_ref(lst)
        req = _request(lst)
        req["response"] = {
            "iterate": {"container": "{{" + body + "}}",
                        "condition": _terminal_condition(spec, f"item.{shape.status_field}")},
            "output": "{{item}}",
            "trigger": {"type": "id", "order": "desc", "id": "{{item." + shape.id_field + "}}"},
        }
        epoch = _request(lst)
        date_field = next((f for f in ("createdAt", "created_at") if f in (_item_schema(lst).get("properties") or {})),
                          shape.id_field)
        epoch["response"] = {"iterate": "{{" + body + "}}",
                             "output": {"label": "{{item." + shape.id_field + "}} ({{item." + shape.status_field + "}})",
                                        "date": "{{item." + date_field + "}}"}}
        components["module"][mid] = {
            "label": "Watch Finished Jobs",
            "description": "Triggers when a job reaches a final status (polls the job list)",
            "moduleType": "trigger", "connection": conn, "altConnection": None,
            "codeFiles": code_files("module", mid, {
                "communication": req, "staticParams": [], "mappableParams": [],
                "interface": interface(_item_schema(lst)), "samples": _sample(_item_schema(lst)),
                "epoch": epoch,
            }),
        }
        groups["Triggers"].append(mid)

    # instant triggers for completions
    if spec.webhook is not None and spec.webhook.shape is not None:
        wh = spec.webhook
        hook = f"{spec.name}JobEvents"
        event_schema = next(iter(wh.events.values()))
        hook_codes: dict[str, Any] = {"communication": {"output": "{{body}}"}, "params": []}
        if wh.register is not None:
            hook_codes["attach"] = {
                "url": wh.register.path, "method": wh.register.method,
                "body": {wh.register_field: "{{webhook.url}}"},
                "response": {"data": {wh.register_field: "{{" + _body_ref(wh.register) + "." + wh.register_field + "}}"}},
            }
        components["webhook"][hook] = {
            "label": f"{spec.title} job events", "webhookType": "web", "connection": conn, "altConnection": None,
            "codeFiles": code_files("webhook", hook, hook_codes),
        }
        mid = "watchJobEvents"
        how = ("registered with the account by the module (a later registration replaces it)"
               if wh.register is not None else
               f"pass this webhook's URL as the request's {next((j.webhook_field for j in spec.jobs if j.webhook_field), 'webhook')} field")
        components["module"][mid] = {
            "label": "Watch Job Events",
            "description": f"Triggers when {spec.title} reports a finished job ({how})",
            "moduleType": "instant_trigger", "connection": conn, "altConnection": None, "webhook": hook,
            "codeFiles": code_files("module", mid, {
                "staticParams": [], "interface": interface(event_schema), "samples": _sample(event_schema),
            }),
        }
        groups["Triggers"].append(mid)

    files["general/base.iml.json"] = {
        "baseUrl": "{{connection.baseUrl}}",
        "headers": {"Authorization": "Bearer {{connection.apiKey}}"},
        "response": {"error": {
            "message": "[{{statusCode}}] {{body." + spec.error_message_field + "}}",
            "400": {"message": "{{body." + spec.error_message_field + "}}", "type": "DataError"},
            "401": {"message": "{{body." + spec.error_message_field + "}}", "type": "InvalidAccessTokenError"},
            "429": {"message": "{{body." + spec.error_message_field + "}}", "type": "RateLimitError"},
        }},
        "log": {"sanitize": ["request.headers.authorization"]},
    }
    files["general/common.json"] = {}
    files["modules/groups.json"] = [{"label": k, "modules": v} for k, v in groups.items() if v]
    files["README.md"] = render_template("make/README.md.j2", spec=spec, components=components,
                                         unexpressible=spec.unexpressible, budget=REPEAT_BUDGET_SECONDS)
    files["makecomapp.json"] = {
        "fileVersion": 1,
        "generalCodeFiles": {"base": "general/base.iml.json", "common": "general/common.json",
                             "readme": "README.md", "groups": "modules/groups.json"},
        "components": components,
        "origins": [{"label": "Make (fill in your app id and instance)", "baseUrl": "https://eu1.make.com/api",
                     "appId": f"{spec.name}-mediagen", "appVersion": 1, "apikeyFile": ".secrets/apikey"}],
    }
    return files


def render(spec: ServiceSpec) -> dict[str, str]:
    out = {}
    for rel, data in build(spec).items():
        out[f"make/{spec.name}/{rel}"] = data if isinstance(data, str) else dump_json(data)
    return out


__all__ = ["GENERATED_NOTE", "build", "render"]
