"""n8n community node package ``n8n-nodes-mediagen``: one programmatic node and one credential per service.

The node descriptions (resource/operation pairs, fields, wait options) are generated object literals,
so n8n's linter sees them as written; the behaviour lives once in ``nodes/shared/runtime.ts`` (from a
template) and is driven by a generated table of operations and job shapes per service.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .render import dump_json, render_template
from .fields import FieldSpec
from .spec import JobSpec, Operation, ServiceSpec
from .table import TableStyle, runtime_table

PACKAGE = "n8n-nodes-mediagen"
VERSION = "0.1.0"
RESOURCES = {"account": "Account", "generation": "Generation", "job": "Job"}
_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def ts(value: Any, indent: int = 0) -> str:
    """A TypeScript literal in the house style (tabs, single quotes, trailing commas)."""
    pad, inner = "\t" * indent, "\t" * (indent + 1)
    if isinstance(value, RawTS):
        return value.code
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = []
        for k, v in value.items():
            key = k if _IDENT.match(k) else ts(k)
            items.append(f"{inner}{key}: {ts(v, indent + 1)},")
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if all(isinstance(v, (str, int, float, bool)) for v in value) and len(json.dumps(value)) < 60:
            return "[" + ", ".join(ts(v) for v in value) + "]"
        return "[\n" + "\n".join(f"{inner}{ts(v, indent + 1)}," for v in value) + f"\n{pad}]"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return json.dumps(value)


class RawTS:
    def __init__(self, code: str) -> None:
        self.code = code


_SMALL_WORDS = re.compile(r"\b(?:an?d?|a[st]|because|but|by|en|for|i[fn]|neither|nor|o[fnr]|only|over|per|so|some|"
                          r"tha[tn]|the|to|up|upon|vs?\.?|versus|via|when|with|without|yet)\b", re.IGNORECASE)
_TOKENS = re.compile(r"[^\s:\u2013\u2014-]+|.")
_MANUAL_CASE = re.compile(r".(?=[A-Z]|\..)")
_ALNUM = re.compile(r"[A-Za-z0-9\u00C0-\u00FF]")


def title_case(text: str) -> str:
    """The ``title-case`` 3.x algorithm n8n's linter checks display names and option names with."""
    out = []
    for m in _TOKENS.finditer(text):
        token, index = m.group(0), m.start()
        after = text[index + len(token): index + len(token) + 1]
        after2 = text[index + len(token) + 1: index + len(token) + 2]
        if (not _MANUAL_CASE.search(token)
                and (not _SMALL_WORDS.search(token) or index == 0 or index + len(token) == len(text))
                and (after != ":" or after2.isspace())):
            out.append(_ALNUM.sub(lambda c: c.group(0).upper(), token, count=1))
        else:
            out.append(token)
    return "".join(out)


def _desc(text: str) -> str:
    """n8n's linter: capitalized, no angle brackets, a final period exactly when there are two sentences."""
    text = text.strip().replace("<", "&lt;").replace(">", "&gt;")
    text = text[:1].upper() + text[1:]
    sentences = len(text.replace("e.g.", "", 1).split(". "))
    if sentences == 1:
        return text.rstrip(".")
    if sentences == 2 and not text.endswith("."):
        return text + "."
    return text


_PUNCT_ORDER = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"


def locale_key(text: str) -> tuple:
    """Sort like JavaScript's ``localeCompare`` (ICU root collation) for the strings the catalog has:
    punctuation before digits before letters, letters case-insensitively, lower case first on ties."""
    def primary(c: str) -> tuple[int, Any]:
        if c.isdigit():
            return (2, c)
        if c.isalpha():
            return (3, c.lower())
        return (1, _PUNCT_ORDER.find(c) if c in _PUNCT_ORDER else 100 + ord(c))
    return (tuple(primary(c) for c in text), tuple(not c.islower() for c in text))


def _drop_same(p: dict[str, Any], name_key: str) -> dict[str, Any]:
    """Omit a description that only repeats the name (the linter calls it omittable)."""
    if str(p.get("description", "")).strip().lower() == str(p.get(name_key, "")).strip().lower():
        p.pop("description", None)
    return p


def _show(resource: str, op: Operation, **more: list[Any]) -> dict[str, Any]:
    return {"show": {"resource": [resource], "operation": [op.camel], **more}}


def _field_kind(f: FieldSpec) -> str:
    if f.type == "file":
        return "file"
    if f.enum is not None:
        return "options"
    if f.is_object_list or f.type == "object":
        return "json"
    if f.type == "array":
        return "list"
    if f.type in ("integer", "number"):
        return "number"
    if f.type == "boolean":
        return "boolean"
    return "string"


def _param_name(f: FieldSpec) -> str:
    return f"{f.ident}BinaryProperty" if f.type == "file" else f.ident


def _display(f: FieldSpec) -> str:
    return f"{f.label} Binary Property" if f.type == "file" else f.label


def _description(f: FieldSpec, spec: ServiceSpec) -> str:
    kind = _field_kind(f)
    text = f.help or f.label
    if kind == "boolean":
        text = "Whether to " + text[:1].lower() + text[1:]
    if kind == "file":
        text = f"Name of the input binary property that holds the {f.label.lower()} ({f.help})"
    if kind == "json":
        example = {c.name: c.name for c in f.children if c.required} if f.children else {}
        text += f" (JSON array of objects, e.g. {json.dumps([example])})" if f.children else " (JSON)"
    if kind == "list":
        text += " (one value per entry)"
    if f.is_webhook_url:
        text += ". To wait in n8n, use {{ $execution.resumeUrl }} here and a Wait node set to resume on webhook call"
    return _desc(text)


def node_param(f: FieldSpec, spec: ServiceSpec, top_level: bool) -> dict[str, Any]:
    kind = _field_kind(f)
    p: dict[str, Any] = {"displayName": _display(f), "name": _param_name(f)}
    if kind == "options":
        opts = sorted(({"name": title_case(str(v)), "value": v} for v in f.enum), key=lambda o: locale_key(o["name"]))
        p["type"] = "options"
        p["options"] = opts
        p["default"] = f.default if f.has_default else opts[0]["value"]
    elif kind == "number":
        p["type"] = "number"
        type_options: dict[str, Any] = {}
        if f.minimum is not None:
            type_options["minValue"] = f.minimum
        elif f.exclusive_minimum is not None:
            type_options["minValue"] = f.exclusive_minimum
        if f.maximum is not None:
            type_options["maxValue"] = f.maximum
        if f.type == "integer":
            type_options["numberPrecision"] = 0
        if type_options:
            p["typeOptions"] = type_options
        p["default"] = f.default if f.has_default else (f.minimum if f.minimum is not None else 0)
    elif kind == "boolean":
        p["type"] = "boolean"
        p["default"] = bool(f.default) if f.has_default else False
    elif kind == "json":
        p["type"] = "json"
        p["default"] = "[]" if f.type == "array" else "{}"
    elif kind == "list":
        p["type"] = "string"
        p["typeOptions"] = {"multipleValues": True}
        p["default"] = []
    elif kind == "file":
        p["type"] = "string"
        p["default"] = f.name
    else:
        p["type"] = "string"
        p["default"] = f.default if f.has_default else ""
        if (f.max_length or 0) > 500:
            p["typeOptions"] = {"rows": 4}
        if f.format == "uri":
            p["placeholder"] = "https://example.com/..."
    if top_level and f.required:
        p["required"] = True
    p["description"] = _description(f, spec)
    return _drop_same(p, "displayName")


def _is_top_level(f: FieldSpec) -> bool:
    return f.required or f.has_default or f.type == "file"


def _wait_job(spec: ServiceSpec, op: Operation) -> JobSpec | None:
    job = spec.job_for(op)
    if job is None or not job.pollable or not job.is_async:
        return None
    if op.role in ("submit", "status"):
        return job
    return None


def _download_job(spec: ServiceSpec, op: Operation) -> JobSpec | None:
    job = spec.job_for(op)
    if job is None or job.job_shape is None or not job.job_shape.output_fields:
        return None
    if op.role == "status" or (op.role == "submit" and (job.pollable or not job.is_async)):
        return job
    return None


def properties(spec: ServiceSpec) -> list[dict[str, Any]]:
    ops = [op for op in spec.operations if op.role != "stream"]
    resources = sorted({op.resource for op in ops}, key=lambda r: RESOURCES[r])
    props: list[dict[str, Any]] = [{
        "displayName": "Resource", "name": "resource", "type": "options", "noDataExpression": True,
        "options": [{"name": RESOURCES[r], "value": r} for r in resources],
        "default": "generation" if "generation" in resources else resources[0],
    }]
    for r in resources:
        options = sorted((_drop_same({"name": title_case(op.title), "value": op.camel,
                                      "description": _desc(op.description), "action": action(op.title)}, "name")
                          for op in ops if op.resource == r), key=lambda o: locale_key(o["name"]))
        props.append({"displayName": "Operation", "name": "operation", "type": "options", "noDataExpression": True,
                      "displayOptions": {"show": {"resource": [r]}}, "options": options,
                      "default": options[0]["value"]})
    for op in ops:
        top = [f for f in op.inputs if _is_top_level(f)]
        extra = [f for f in op.inputs if not _is_top_level(f)]
        for f in top:
            p = node_param(f, spec, top_level=True)
            p["displayOptions"] = _show(op.resource, op)
            props.append(_ordered(p))
        if extra:
            props.append({"displayName": "Additional Fields", "name": "additionalFields", "type": "collection",
                          "placeholder": "Add Field", "default": {}, "displayOptions": _show(op.resource, op),
                          "options": sorted((_ordered(node_param(f, spec, top_level=False)) for f in extra),
                                            key=lambda o: locale_key(o["displayName"]))})
        job = _wait_job(spec, op)
        if job is not None:
            modes = [
                {"name": "Wait for Completion", "value": "wait",
                 "description": "Poll until the job finishes or Max Wait runs out"},
                {"name": "Return at Once", "value": "return",
                 "description": "Return the job (ID and current status) without waiting"},
            ]
            props.append({"displayName": "Completion", "name": "completion", "type": "options",
                          "options": sorted(modes, key=lambda o: locale_key(o["name"])), "default": "wait",
                          "displayOptions": _show(op.resource, op),
                          "description": _desc(f"{job.title} jobs typically take about {int(job.typical_seconds)} s")})
            wait_show = _show(op.resource, op, completion=["wait"])
            props.append({"displayName": "Max Wait (Seconds)", "name": "maxWait", "type": "number",
                          "typeOptions": {"minValue": 1}, "default": job.default_max_wait, "displayOptions": wait_show,
                          "description": "Longest time to wait for the job before failing with its ID"})
            props.append({"displayName": "Poll Interval (Seconds)", "name": "pollInterval", "type": "number",
                          "typeOptions": {"minValue": 1}, "default": job.default_interval,
                          "displayOptions": wait_show, "description": "Time between two status reads"})
        dl = _download_job(spec, op)
        if dl is not None:
            props.append({"displayName": "Download Output", "name": "download", "type": "boolean", "default": False,
                          "displayOptions": _show(op.resource, op),
                          "description": "Whether to download the finished output into binary data"})
            props.append({"displayName": "Put Output File in Field", "name": "binaryPropertyName", "type": "string",
                          "default": "data", "displayOptions": _show(op.resource, op, download=[True]),
                          "description": "Name of the binary property to write the output file to"})
    return props


def action(title: str) -> str:
    """Sentence case as the linter wants an operation's action: acronyms stay, the rest is lower case."""
    words = title.replace("-", " ").split()
    return " ".join([words[0]] + [w if w.isupper() and len(w) > 1 else w.lower() for w in words[1:]])


_ORDER = ["displayName", "name", "type", "noDataExpression", "required", "typeOptions", "displayOptions", "options",
          "default", "placeholder", "description"]


def _ordered(p: dict[str, Any]) -> dict[str, Any]:
    return {k: p[k] for k in sorted(p, key=lambda k: _ORDER.index(k) if k in _ORDER else 99)}


def _field_def(f: FieldSpec) -> dict[str, Any]:
    return {"param": _param_name(f), "wire": f.name, "in": f.location, "kind": _field_kind(f),
            "optional": not _is_top_level(f)}


def _op_extra(spec: ServiceSpec, op: Operation, job: JobSpec | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"envelope": op.envelope} if op.envelope else {}
    if job is not None:
        entry["job"] = job.name
    return {**entry, "wait": _wait_job(spec, op) is not None, "download": _download_job(spec, op) is not None}


def _job_extra(job: JobSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {"extension": job.kind.extension or "bin"}
    if job.submit_shape is not None:
        entry["submitIdField"] = job.submit_shape.id_field
    if job.status is not None and job.status_param is not None:
        entry["statusOperation"] = f"{job.status.resource}:{job.status.camel}"
        entry["statusParam"] = {"wire": job.status_param.name, "in": job.status_param.location}
    return entry


_TABLE = TableStyle(op_key=lambda op: f"{op.resource}:{op.camel}", field=_field_def, op_extra=_op_extra,
                    job_extra=_job_extra, head=lambda spec: {"credential": f"{spec.name}Api"})


def service_table(spec: ServiceSpec) -> dict[str, Any]:
    """The data the shared runtime executes: operations, job shapes, status map, error field."""
    return runtime_table(spec, _TABLE)


def _icon(spec: ServiceSpec, dark: bool) -> str:
    fill = spec.service.colours[1 if dark else 0]
    letter = spec.title[:1].upper()
    return render_template("n8n/icon.svg.j2", fill=fill, letter=letter, title=spec.title)


def render(specs: list[ServiceSpec]) -> dict[str, str]:
    files: dict[str, str] = {}
    base = "n8n/"
    for spec in specs:
        node = spec.pascal
        files[f"{base}nodes/{node}/{node}.node.ts"] = render_template(
            "n8n/Service.node.ts.j2", spec=spec, node=node, properties=ts(properties(spec), 2),
            table=ts(service_table(spec), 0))
        files[f"{base}nodes/{node}/{node}.node.json"] = dump_json({
            "node": f"{PACKAGE}.{spec.name}", "nodeVersion": "1.0", "codexVersion": "1.0",
            "categories": ["Marketing", "Miscellaneous"],
            "resources": {"primaryDocumentation": [{"url": spec.base_url}],
                          "credentialDocumentation": [{"url": spec.base_url}]},
        }, indent="\t")
        files[f"{base}nodes/{node}/{spec.name}.svg"] = _icon(spec, dark=False)
        files[f"{base}nodes/{node}/{spec.name}.dark.svg"] = _icon(spec, dark=True)
        files[f"{base}credentials/{node}Api.credentials.ts"] = render_template(
            "n8n/ServiceApi.credentials.ts.j2", spec=spec, node=node)
    files[f"{base}nodes/shared/runtime.ts"] = render_template("n8n/runtime.ts.j2")
    files[f"{base}package.json"] = dump_json({
        "//": "Generated by `mediagen connectors build` from the airflow-provider-mediagen catalog; do not edit.",
        "name": PACKAGE,
        "version": VERSION,
        "description": "n8n nodes for " + ", ".join(s.title for s in specs) + " (generated from one catalog)",
        "license": "MIT",
        "homepage": "https://github.com/mediagen/airflow-provider-mediagen",
        "keywords": ["n8n-community-node-package"],
        "author": {"name": "airflow-provider-mediagen", "email": "maintainers@mediagen.example.com"},
        "repository": {"type": "git", "url": "https://github.com/mediagen/airflow-provider-mediagen.git"},
        "scripts": {"build": "n8n-node build", "lint": "n8n-node lint"},
        "files": ["dist"],
        "n8n": {
            "n8nNodesApiVersion": 1,
            "strict": True,
            "credentials": [f"dist/credentials/{s.pascal}Api.credentials.js" for s in specs],
            "nodes": [f"dist/nodes/{s.pascal}/{s.pascal}.node.js" for s in specs],
        },
        "devDependencies": {"@n8n/node-cli": "0.48.3", "eslint": "9.29.0", "prettier": "3.6.2",
                            "typescript": "5.9.3"},
        "peerDependencies": {"n8n-workflow": "*"},
    }, indent=4)
    files[f"{base}tsconfig.json"] = render_template("n8n/tsconfig.json.j2")
    files[f"{base}eslint.config.mjs"] = render_template("n8n/eslint.config.mjs.j2")
    files[f"{base}README.md"] = render_template("n8n/README.md.j2", specs=specs, package=PACKAGE,
                                                properties=properties)
    return files
