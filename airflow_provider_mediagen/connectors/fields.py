"""The inputs of an operation in wire terms (:class:`FieldSpec`), read from a request model's JSON schema
(wire names are the aliases; types, bounds, enums and defaults as the schema gives them), and the
response schemas the platforms show. Split from :mod:`.spec`, which builds operations from these."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ..catalog import Endpoint, FileRule, Service
from ..naming import camel, title_case

#: How every service documents its key: ``Authorization: Bearer <key>``.
AUTH_SCHEME = "Bearer"

#: Longest an in-platform wait may block by default, whatever the kind's typical duration.
MAX_DEFAULT_WAIT_SECONDS = 1800

__all__ = ["FieldSpec", "model_fields", "response_schema", "webhook_field_of"]

@dataclass
class FieldSpec:
    """One input of an operation, in wire terms."""

    name: str  # wire name (the alias)
    location: str  # body | query | path | form | file
    type: str  # string | integer | number | boolean | array | object | file
    required: bool
    description: str = ""
    default: Any = None
    has_default: bool = False
    enum: list[Any] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    format: str | None = None
    items: str | None = None  # item type of an array of primitives
    children: list[FieldSpec] = field(default_factory=list)  # fields of an array of objects
    open_children: bool = False  # the objects take further keys than the ones listed
    file_rule: FileRule | None = None
    schema: dict[str, Any] = field(default_factory=dict)  # resolved JSON schema (non-null branch)
    webhook: bool = False  # takes the URL the service calls back (as the catalog declares)

    @property
    def label(self) -> str:
        return title_case(self.name)

    @property
    def ident(self) -> str:
        return camel(self.name)

    @property
    def is_webhook_url(self) -> bool:
        return self.webhook

    @property
    def is_object_list(self) -> bool:
        return self.type == "array" and bool(self.children)

    @property
    def help(self) -> str:
        """Description plus the documented bounds a user should see."""
        text = self.description.strip().rstrip(".")
        extra = []
        if self.file_rule is not None:
            rule = self.file_rule
            extra.append(f"{', '.join(e.lstrip('.').upper() for e in rule.extensions)}, at most "
                         f"{rule.max_bytes // (1024 * 1024)} MB")
        return "; ".join([t for t in [text, *extra] if t])


def _resolve(schema: dict[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """Inline ``$ref`` and drop the ``null`` branch of ``anyOf`` (nullable = optional here)."""
    if "$ref" in schema:
        target = defs[schema["$ref"].split("/")[-1]]
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _resolve(merged, defs)
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        if len(branches) == 1:
            return _resolve({**branches[0], **rest}, defs)
        # e.g. int | float: a number
        types = {b.get("type") for b in branches}
        if types <= {"integer", "number"}:
            return {**rest, "type": "number"}
        return {**rest, "anyOf": [_resolve(b, defs) for b in branches]}
    out = {k: v for k, v in schema.items() if not (k == "default" and v is None)}
    if "items" in out and isinstance(out["items"], dict):
        out["items"] = _resolve(out["items"], defs)
    if "properties" in out:
        out["properties"] = {k: _resolve(v, defs) for k, v in out["properties"].items()}
    return out


def _field_from_schema(name: str, prop: dict[str, Any], required: bool, location: str) -> FieldSpec:
    typ = prop.get("type", "string")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "string")
    spec = FieldSpec(
        name=name, location=location, type=typ, required=required,
        description=prop.get("description", "") or "",
        enum=list(prop["enum"]) if "enum" in prop else None,
        minimum=prop.get("minimum"), maximum=prop.get("maximum"),
        exclusive_minimum=prop.get("exclusiveMinimum"),
        min_length=prop.get("minLength"), max_length=prop.get("maxLength"),
        pattern=prop.get("pattern"), format=prop.get("format"),
        schema={k: v for k, v in prop.items() if k != "title" and not (k == "default" and v is None)},
    )
    if "default" in prop and prop["default"] is not None:
        spec.default, spec.has_default = prop["default"], True
    if typ == "array":
        items = prop.get("items", {})
        if items.get("type") == "object" or "properties" in items:
            req = set(items.get("required", ()))
            spec.children = [_field_from_schema(k, v, k in req, "body")
                             for k, v in items.get("properties", {}).items()]
            spec.open_children = items.get("additionalProperties", False) is not False
        else:
            spec.items = items.get("type", "string")
    if spec.enum is not None and typ not in ("string", "integer", "number"):
        spec.type = "string"
    return spec


def model_fields(model: type[BaseModel] | None, location: str, webhook_field: str | None = None) -> list[FieldSpec]:
    """The inputs of ``model``; ``webhook_field`` (a Python field name) is the one taking a callback URL."""
    if model is None:
        return []
    schema = model.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    info = model.model_fields.get(webhook_field) if webhook_field else None
    webhook_wire = (info.alias or webhook_field) if info is not None else None
    fields = [_field_from_schema(name, _resolve(prop, defs), name in required, location)
              for name, prop in schema.get("properties", {}).items()]
    for spec in fields:
        spec.webhook = spec.name == webhook_wire
    return fields


def webhook_field_of(service: Service, endpoint: Endpoint) -> str | None:
    """The request field of ``endpoint`` that takes a callback URL: the declared per-request field, or
    the only field of the service's account-level webhook registration."""
    if endpoint.name == service.webhook_registration and endpoint.request is not None:
        (only,) = endpoint.request.model_fields
        return only
    return endpoint.webhook_field


def response_schema(model: Any) -> dict[str, Any]:
    """JSON schema of a response model (serialization side), self-contained (no ``$defs``)."""
    if model is None:
        return {}
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return {"type": "object", "additionalProperties": True}
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    defs = schema.pop("$defs", {})

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return clean(copy.deepcopy(defs[node["$ref"].split("/")[-1]]))
            return {k: clean(v) for k, v in node.items() if k not in ("title", "writeOnly")}
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    return clean(schema)
