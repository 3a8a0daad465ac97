"""OpenAPI 3.1 document per service, with webhook payloads under ``webhooks``."""

from __future__ import annotations

from typing import Any

from .render import GENERATED_NOTE, dump_json
from ..naming import camel
from .fields import FieldSpec
from .spec import AUTH_SCHEME, Operation, ServiceSpec

_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized",
                402: "Payment Required", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
                500: "Internal Server Error", 503: "Service Unavailable"}


def field_schema(f: FieldSpec) -> dict[str, Any]:
    schema = dict(f.schema)
    if f.has_default:
        schema["default"] = f.default
    if f.description and "description" not in schema:
        schema["description"] = f.description
    return schema


def _envelope(schema: dict[str, Any], envelope: str | None) -> dict[str, Any]:
    if not envelope:
        return schema
    return {"type": "object", "required": [envelope], "properties": {envelope: schema}}


def _success_schema(spec: ServiceSpec, endpoint_ops: list[Operation]) -> dict[str, Any]:
    op = endpoint_ops[0]
    item = op.response_item_schema or {"type": "object"}
    if op.endpoint.one_by_query:
        body: dict[str, Any] = {"oneOf": [item, {"type": "array", "items": item}]}
    elif op.endpoint.response_is_list:
        body = {"type": "array", "items": item}
    else:
        body = item
    return _envelope(body, op.envelope)


def _error_schema(spec: ServiceSpec) -> dict[str, Any]:
    props = {spec.error_message_field: {"description": "Human-readable message"}}
    if spec.error_code_field:
        props[spec.error_code_field] = {"type": "string", "description": "Machine-readable code"}
    return {"type": "object", "required": [spec.error_message_field], "properties": props,
            "additionalProperties": True}


def _operation(spec: ServiceSpec, ops: list[Operation]) -> dict[str, Any]:
    op = ops[0]
    ep = op.endpoint
    params: list[dict[str, Any]] = []
    for f in op.path_params:
        params.append({"name": f.name, "in": "path", "required": True, "schema": field_schema(f),
                       "description": f.description})
    queries = {f.name: f for o in ops for f in o.query}
    for f in queries.values():
        params.append({"name": f.name, "in": "query", "required": f.required and not ep.one_by_query,
                       "schema": field_schema(f), "description": f.description})
    out: dict[str, Any] = {
        "operationId": camel(ep.name),
        "summary": ep.summary,
        "description": " ".join(o.description + "." for o in ops[:1]) + (f" {ep.description}" if ep.description else ""),
        "tags": [op.resource],
    }
    if params:
        out["parameters"] = params
    if op.body or op.files:
        props = {f.name: field_schema(f) for f in [*op.body, *op.files]}
        required = [f.name for f in [*op.body, *op.files] if f.required]
        schema: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        if not any(f.open_children for f in op.body):
            schema["additionalProperties"] = False
        if ep.encoding == "multipart":
            content = {"multipart/form-data": {
                "schema": schema,
                "encoding": {f.name: {"contentType": ", ".join(f.file_rule.media_types)}
                             for f in op.files if f.file_rule},
            }}
        else:
            content = {"application/json": {"schema": schema}}
        out["requestBody"] = {"required": True, "content": content}
    responses: dict[str, Any] = {}
    if op.role == "stream":
        responses[str(ep.success_status)] = {
            "description": "Server-sent events: `event: status` messages whose data is the job object",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
        out["security"] = [{"streamToken": []}]
        out["parameters"] = [p for p in params if p["name"] != "token"]
    else:
        responses[str(ep.success_status)] = {
            "description": _STATUS_TEXT.get(ep.success_status, "Success"),
            "content": {"application/json": {"schema": _success_schema(spec, ops)}},
        }
    codes = sorted({400, *spec.service.error_codes})
    for code in codes:
        resp: dict[str, Any] = {
            "description": spec.service.error_codes.get(code, "Invalid input"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if code == 429:
            resp["headers"] = {"Retry-After": {"description": "Seconds to wait before retrying",
                                               "schema": {"type": "string"}}}
        responses[str(code)] = resp
    out["responses"] = responses
    extra = {"x-rate-limit-class": ep.rate_limit}
    if ep.credit_cost is not None and ep.credit_cost.describe():
        extra["x-credit-cost"] = ep.credit_cost.describe()
    if ep.plan:
        extra["x-plan"] = ep.plan
    job = spec.job_for(op) if op.role == "submit" else None
    if job is not None:
        extra["x-job-kind"] = job.name
        extra["x-completion"] = [c.value for c in job.kind.completion]
        extra["x-typical-seconds"] = job.typical_seconds
    out.update(extra)
    return out


def build(spec: ServiceSpec) -> dict[str, Any]:
    svc = spec.service
    paths: dict[str, dict[str, Any]] = {}
    by_endpoint: dict[str, list[Operation]] = {}
    for op in spec.operations:
        by_endpoint.setdefault(op.endpoint.name, []).append(op)
    for ops in by_endpoint.values():
        ep = ops[0].endpoint
        paths.setdefault(ep.path_template, {})[ep.method.lower()] = _operation(spec, ops)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": f"{svc.title} API",
            "version": "1.0.0",
            "summary": f"{svc.title} as described by the airflow-provider-mediagen catalog",
            "description": f"{GENERATED_NOTE}\n\n{svc.docs_note}\n\nStatuses: "
                           + ", ".join(f"`{k}` = {v}" for k, v in spec.status_map.items()) + ".",
        },
        "servers": [{"url": svc.base_url}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": "generation", "description": "Submit generation jobs"},
                 {"name": "job", "description": "Read jobs"},
                 {"name": "account", "description": "Account, keys and settings"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": AUTH_SCHEME.lower(),
                               "description": f"API key ({svc.key_prefix}...) as a Bearer token"},
            },
            "schemas": {"Error": _error_schema(spec)},
        },
        "x-generated-by": "mediagen connectors build",
    }
    if any(op.role == "stream" for op in spec.operations):
        doc["components"]["securitySchemes"]["streamToken"] = {
            "type": "apiKey", "in": "query", "name": "token", "description": "A JWT (not the API key)"}
    if spec.webhook is not None:
        doc["webhooks"] = {
            name: {"post": {
                "summary": f"{svc.title} calls this when a job finishes",
                # Sent by the service to the user's receiver: the API key never goes with it (a generator
                # reading the document-wide bearer requirement would otherwise expect or send it there).
                "security": [],
                "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
                "responses": {"200": {"description": "Any 2xx acknowledges the delivery"}},
            }}
            for name, schema in spec.webhook.events.items()
        }
    return doc


def render(spec: ServiceSpec) -> dict[str, str]:
    return {f"openapi/{spec.name}.openapi.json": dump_json(build(spec))}
