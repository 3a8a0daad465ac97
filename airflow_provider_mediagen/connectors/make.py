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

from typing import Any

from .make_iml import (
    REPEAT_BUDGET_SECONDS,
    body_ref,
    communication,
    interface,
    item_id,
    item_schema,
    module_id,
    module_type,
    param,
    request,
    rpc_id,
    rpc_sources,
    sample,
    terminal_condition,
)
from .render import GENERATED_NOTE, dump_json, render_template
from .spec import ServiceSpec


class _App:
    """One Make app being assembled: its components, module groups and files."""

    def __init__(self, spec: ServiceSpec) -> None:
        self.spec = spec
        self.conn = spec.name
        self.files: dict[str, Any] = {}
        self.components: dict[str, dict[str, Any]] = {k: {} for k in ("connection", "endpoint", "function", "module",
                                                                       "rpc", "webhook")}
        self.groups: dict[str, list[str]] = {"Generation": [], "Jobs": [], "Account": [], "Triggers": []}
        self.rpc_sources = rpc_sources(spec)

    def code_files(self, kind: str, cid: str, codes: dict[str, Any]) -> dict[str, str]:
        names = {"communication": "communication", "params": "params", "common": "common",
                 "staticParams": "static-params", "mappableParams": "mappable-params", "interface": "interface",
                 "samples": "samples", "scope": "scope", "epoch": "epoch", "attach": "attach", "detach": "detach"}
        folder = f"{kind}s/{cid}"
        paths = {}
        for code, data in codes.items():
            ext = "json" if code == "common" else "iml.json"
            path = f"{folder}/{cid}.{names[code]}.{ext}"
            self.files[path] = data
            paths[code] = path
        return paths

    def connection(self) -> None:
        """The basic connection: API key and base URL, tested with the check endpoint."""
        spec = self.spec
        # connection
        check = spec.check
        self.components["connection"][self.conn] = {
            "label": f"{spec.title} API key",
            "connectionType": "basic",
            "codeFiles": self.code_files("connection", self.conn, {
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

    def rpcs(self) -> None:
        """Dynamic lists (job ids, key ids) for parameters a list endpoint names the items of."""
        spec = self.spec
        for lst in {id(v): v for v in self.rpc_sources.values()}.values():
            rid = rpc_id(lst)
            id_field = item_id(spec, lst)
            props = item_schema(lst).get("properties") or {}
            label_parts = ["{{item." + id_field + "}}"]
            if "name" in props:
                label_parts = ["{{item.name}}", "(" + label_parts[0] + ")"]
            elif "status" in props:
                label_parts.append("({{item.status}})")
            if "type" in props:
                label_parts.insert(0, "{{item.type}}")
            req = request(lst)
            req["response"] = {"iterate": "{{" + body_ref(lst) + "}}",
                               "output": {"label": " ".join(label_parts), "value": "{{item." + id_field + "}}"}}
            self.components["rpc"][rid] = {
                "label": lst.title, "connection": self.conn, "altConnection": None,
                "codeFiles": self.code_files("rpc", rid, {"communication": req, "params": []}),
            }

    def modules(self) -> None:
        """A module per operation (streams excepted: ServiceSpec.unexpressible)."""
        spec = self.spec
        for op in spec.operations:
            if op.role == "stream":
                continue
            mid = module_id(op)
            kind_of_module, crud = module_type(op)
            job = spec.job_for(op)
            waits = op.role == "submit" and job is not None and job.is_async and job.short
            params = [param(f, rpc_id(self.rpc_sources[(op.id, f.name)]) if (op.id, f.name) in self.rpc_sources else None)
                      for f in op.inputs]
            out_schema = item_schema(job.status if waits else op)
            description = op.description
            if waits:
                description += f"; waits up to {REPEAT_BUDGET_SECONDS} s for the job, then returns it (finished or not)"
            elif op.role == "submit" and job is not None and job.is_async:
                description += "; returns the job ID at once"
            meta: dict[str, Any] = {"label": op.title, "description": description, "moduleType": kind_of_module}
            if crud:
                meta["actionCrud"] = crud
            meta.update(connection=self.conn, altConnection=None)
            meta["codeFiles"] = self.code_files("module", mid, {
                "communication": communication(spec, op),
                "staticParams": [],
                "mappableParams": params,
                "interface": interface(out_schema),
                "samples": sample(out_schema),
            })
            self.components["module"][mid] = meta
            self.groups[{"generation": "Generation", "job": "Jobs"}.get(op.resource, "Account")].append(mid)

    def polling_triggers(self) -> None:
        """"Watch Finished Jobs" where a job list endpoint exists."""
        spec = self.spec
        # polling trigger for newly finished jobs
        for lst in [op for op in spec.operations if op.role == "list" and spec.job_for(op)]:
            job = spec.job_for(lst)
            shape = job.job_shape
            mid = "watchFinishedJobs"
            body = body_ref(lst)
            req = request(lst)
            req["response"] = {
                "iterate": {"container": "{{" + body + "}}",
                            "condition": terminal_condition(spec, f"item.{shape.status_field}")},
                "output": "{{item}}",
                "trigger": {"type": "id", "order": "desc", "id": "{{item." + shape.id_field + "}}"},
            }
            epoch = request(lst)
            date_field = next((f for f in ("createdAt", "created_at") if f in (item_schema(lst).get("properties") or {})),
                              shape.id_field)
            epoch["response"] = {"iterate": "{{" + body + "}}",
                                 "output": {"label": "{{item." + shape.id_field + "}} ({{item." + shape.status_field + "}})",
                                            "date": "{{item." + date_field + "}}"}}
            self.components["module"][mid] = {
                "label": "Watch Finished Jobs",
                "description": "Triggers when a job reaches a final status (polls the job list)",
                "moduleType": "trigger", "connection": self.conn, "altConnection": None,
                "codeFiles": self.code_files("module", mid, {
                    "communication": req, "staticParams": [], "mappableParams": [],
                    "interface": interface(item_schema(lst)), "samples": sample(item_schema(lst)),
                    "epoch": epoch,
                }),
            }
            self.groups["Triggers"].append(mid)

    def instant_triggers(self) -> None:
        """A webhook and an instant trigger for job completions."""
        spec = self.spec
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
                    "response": {"data": {wh.register_field: "{{" + body_ref(wh.register) + "." + wh.register_field + "}}"}},
                }
            self.components["webhook"][hook] = {
                "label": f"{spec.title} job events", "webhookType": "web", "connection": self.conn, "altConnection": None,
                "codeFiles": self.code_files("webhook", hook, hook_codes),
            }
            mid = "watchJobEvents"
            how = ("registered with the account by the module (a later registration replaces it)"
                   if wh.register is not None else
                   f"pass this webhook's URL as the request's {next((j.webhook_field for j in spec.jobs if j.webhook_field), 'webhook')} field")
            self.components["module"][mid] = {
                "label": "Watch Job Events",
                "description": f"Triggers when {spec.title} reports a finished job ({how})",
                "moduleType": "instant_trigger", "connection": self.conn, "altConnection": None, "webhook": hook,
                "codeFiles": self.code_files("module", mid, {
                    "staticParams": [], "interface": interface(event_schema), "samples": sample(event_schema),
                }),
            }
            self.groups["Triggers"].append(mid)

    def general(self) -> None:
        """The base IML, groups, README and the app manifest."""
        spec = self.spec
        self.files["general/base.iml.json"] = {
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
        self.files["general/common.json"] = {}
        self.files["modules/groups.json"] = [{"label": k, "modules": v} for k, v in self.groups.items() if v]
        self.files["README.md"] = render_template("make/README.md.j2", spec=spec, components=self.components,
                                                  unexpressible=spec.unexpressible, budget=REPEAT_BUDGET_SECONDS)
        self.files["makecomapp.json"] = {
            "fileVersion": 1,
            "generalCodeFiles": {"base": "general/base.iml.json", "common": "general/common.json",
                                 "readme": "README.md", "groups": "modules/groups.json"},
            "components": self.components,
            "origins": [{"label": "Make (fill in your app id and instance)", "baseUrl": "https://eu1.make.com/api",
                         "appId": f"{spec.name}-mediagen", "appVersion": 1, "apikeyFile": ".secrets/apikey"}],
        }


def build(spec: ServiceSpec) -> dict[str, Any]:
    """Relative path -> JSON data (or text for README) of one Make app."""
    app = _App(spec)
    app.connection()
    app.rpcs()
    app.modules()
    app.polling_triggers()
    app.instant_triggers()
    app.general()
    return app.files


def render(spec: ServiceSpec) -> dict[str, str]:
    out = {}
    for rel, data in build(spec).items():
        out[f"make/{spec.name}/{rel}"] = data if isinstance(data, str) else dump_json(data)
    return out


__all__ = ["GENERATED_NOTE", "build", "render"]
