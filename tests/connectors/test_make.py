"""Make apps: every generated file validates against Make's official JSON schemas (copied into
``make_schemas/`` with their MIT license), and the cross-file references hold."""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match
from jsonschema_specifications import REGISTRY as SPECIFICATIONS
from referencing import Resource

from airflow_provider_mediagen.catalog import SERVICES

from .conftest import CONNECTORS

SCHEMAS = Path(__file__).parent / "make_schemas"
BASE_URI = "https://make.invalid/schemas/"
APPS = sorted(p.parent for p in (CONNECTORS / "make").glob("*/makecomapp.json"))
MODULE_ID = re.compile(r"^[a-zA-Z][0-9a-zA-Z]{3,47}$")  # Make's rule for module and RPC ids
PARAM_REF = re.compile(r"\bparameters\.([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?")
CONNECTION_REF = re.compile(r"\bconnection\.([A-Za-z_][A-Za-z0-9_]*)")
TEMP_REF = re.compile(r"\btemp\.([A-Za-z_][A-Za-z0-9_]*)")
MAKE_MODULE_TIMEOUT = 40


def _registry():
    resources = []
    for path in SCHEMAS.glob("*.json"):
        if path.name == "file-associations.json":
            continue
        resources.append((BASE_URI + path.name, Resource.from_contents(json.loads(path.read_text()))))
    return SPECIFICATIONS.with_resources(resources)


REGISTRY = _registry()
ASSOCIATIONS = [(a["fileMatch"], a["url"].rsplit("/", 1)[-1])
                for a in json.loads((SCHEMAS / "file-associations.json").read_text())]


def schema_for(path: Path) -> str | None:
    name = path.name
    # Two code types the association list leaves out; the SDK stores them as these API code types.
    if re.fullmatch(r".+\.common\.json", name):  # a connection's common data
        return "common.json"
    if name.endswith(".static-params.iml.json"):  # a module's static parameters ("parameters")
        return "parameters.json"
    for patterns, schema in ASSOCIATIONS:
        if any("/" not in p and fnmatch.fnmatch(name, p) for p in patterns):
            return schema
    return None


def validate(path: Path) -> list[str]:
    schema_name = schema_for(path)
    assert schema_name, f"no Make schema is associated with {path.name}"
    validator = Draft7Validator({"$ref": BASE_URI + schema_name}, registry=REGISTRY)
    data = json.loads(path.read_text())
    errors = list(validator.iter_errors(data))
    if not errors:
        return []
    err = best_match(errors)
    return [f"{path.relative_to(CONNECTORS)} ({schema_name}): {err.message} at /{'/'.join(map(str, err.absolute_path))}"]


def test_every_service_has_an_app() -> None:
    assert [p.name for p in APPS] == sorted(SERVICES)


@pytest.mark.parametrize("app", APPS, ids=lambda p: p.name)
def test_files_validate_against_make_schemas(app: Path) -> None:
    problems = []
    json_files = sorted(p for p in app.rglob("*.json"))
    assert json_files
    for path in json_files:
        problems += validate(path)
    assert not problems, "\n".join(problems)


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (_strings(k) + _strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _param_tree(params: list[dict[str, Any]]) -> dict[str, set[str] | None]:
    out: dict[str, set[str] | None] = {}
    for p in params:
        spec = p.get("spec")
        out[p["name"]] = {c["name"] for c in spec if "name" in c} if p.get("type") == "collection" and spec else None
    return out


def cross_file_problems(app: Path) -> list[str]:
    """Reference checks the schemas cannot make."""
    manifest = json.loads((app / "makecomapp.json").read_text())
    problems: list[str] = []
    load = lambda rel: json.loads((app / rel).read_text())

    named: set[str] = {"makecomapp.json"}
    for rel in manifest["generalCodeFiles"].values():
        if rel:
            named.add(rel)
            if not (app / rel).is_file():
                problems.append(f"manifest names a missing file {rel}")
    comps = manifest["components"]
    for ctype, items in comps.items():
        for cid, meta in items.items():
            for code, rel in meta["codeFiles"].items():
                named.add(rel)
                if not (app / rel).is_file():
                    problems.append(f"{ctype} {cid}: {code} file {rel} is missing")
    on_disk = {p.relative_to(app).as_posix() for p in app.rglob("*") if p.is_file()}
    for rel in sorted(on_disk - named):
        problems.append(f"{rel} is not named in makecomapp.json")
    if problems:
        return problems

    connections = comps["connection"]
    conn_params = {cid: set(_param_tree(load(meta["codeFiles"]["params"]))) for cid, meta in connections.items()}
    all_conn_params = set().union(*conn_params.values())
    base = load(manifest["generalCodeFiles"]["base"])
    for name in {m.group(1) for s in _strings(base) for m in CONNECTION_REF.finditer(s)}:
        if name not in all_conn_params:
            problems.append(f"base uses connection.{name}, which no connection parameter defines")
    for cid, meta in connections.items():
        comm = load(meta["codeFiles"]["communication"])
        for m in (m for s in _strings(comm) for m in PARAM_REF.finditer(s)):
            if m.group(1) not in conn_params[cid]:
                problems.append(f"connection {cid} uses parameters.{m.group(1)}, not a connection parameter")

    for ctype in ("module", "rpc", "webhook"):
        for cid, meta in comps[ctype].items():
            if ctype in ("module", "rpc") and not MODULE_ID.match(cid):
                problems.append(f"{ctype} id {cid!r} breaks Make's id rule {MODULE_ID.pattern}")
            if meta.get("connection") not in connections:
                problems.append(f"{ctype} {cid} names connection {meta.get('connection')!r}, which does not exist")
            files = meta["codeFiles"]
            params: list[dict[str, Any]] = []
            for code in ("staticParams", "mappableParams", "params"):
                if code in files:
                    params += load(files[code])
            tree = _param_tree(params)
            for p in params:
                opts = p.get("options")
                if isinstance(opts, str) and opts.startswith("rpc://") and opts[6:] not in comps["rpc"]:
                    problems.append(f"{ctype} {cid}: parameter {p['name']} uses missing RPC {opts}")
            for code in ("communication", "attach", "detach", "epoch"):
                if code not in files:
                    continue
                data = load(files[code])
                for m in (m for s in _strings(data) for m in PARAM_REF.finditer(s)):
                    name, sub = m.group(1), m.group(2)
                    if name not in tree:
                        problems.append(f"{ctype} {cid} {code}: parameters.{name} is not a parameter of the module")
                    elif sub and tree[name] is not None and sub not in tree[name]:
                        problems.append(f"{ctype} {cid} {code}: parameters.{name}.{sub} is not in its collection")
                requests = data if isinstance(data, list) else [data]
                defined: set[str] = set()
                for req in requests:
                    for name in {m.group(1) for s in _strings({k: v for k, v in req.items() if k != "response"})
                                 for m in TEMP_REF.finditer(s)}:
                        if name not in defined:
                            problems.append(f"{ctype} {cid} {code}: temp.{name} is used before a request sets it")
                    defined |= set((req.get("response") or {}).get("temp", {}))
                    repeat = req.get("repeat")
                    if repeat is not None:
                        if not {"condition", "delay", "limit"} <= set(repeat):
                            problems.append(f"module {cid}: repeat must be bounded (condition, delay, limit)")
                        elif repeat["delay"] / 1000 * repeat["limit"] > MAKE_MODULE_TIMEOUT - 5:
                            problems.append(f"module {cid}: repeat may outlast Make's {MAKE_MODULE_TIMEOUT} s module limit")
            if (ctype == "module" and meta.get("moduleType") == "instant_trigger"
                    and meta.get("webhook") not in comps["webhook"]):
                problems.append(f"instant trigger {cid} names webhook {meta.get('webhook')!r}, which does not exist")
            if ctype == "module" and meta.get("moduleType") == "trigger" and "epoch" not in files:
                problems.append(f"polling trigger {cid} has no epoch")

    groups = load(manifest["generalCodeFiles"]["groups"])
    grouped = [m for g in groups for m in g["modules"]]
    for mid in grouped:
        if mid not in comps["module"]:
            problems.append(f"groups.json names module {mid}, which does not exist")
    for mid in comps["module"]:
        if mid not in grouped:
            problems.append(f"module {mid} is in no group")
    return problems


@pytest.mark.parametrize("app", APPS, ids=lambda p: p.name)
def test_cross_file_references(app: Path) -> None:
    problems = cross_file_problems(app)
    assert not problems, "\n".join(problems)


def test_checks_catch_broken_references(tmp_path: Path) -> None:
    """The cross-file checks are not vacuous: break a copy three ways and each is reported."""
    import shutil

    app = tmp_path / "apex"
    shutil.copytree(CONNECTORS / "make" / "apex", app)
    manifest = json.loads((app / "makecomapp.json").read_text())
    module = manifest["components"]["module"]["generateVideo"]
    comm_path = app / module["codeFiles"]["communication"]
    comm = json.loads(comm_path.read_text())
    comm["body"]["script"] = "{{parameters.scriptt}}"
    comm_path.write_text(json.dumps(comm))
    broken = copy.deepcopy(manifest)
    broken["components"]["module"]["getUsage"]["connection"] = "nope"
    (app / broken["components"]["module"]["listKeys"]["codeFiles"]["interface"]).unlink()
    (app / "makecomapp.json").write_text(json.dumps(broken))
    problems = "\n".join(cross_file_problems(app))
    assert "interface file" in problems and "is missing" in problems
    # with the file back, the other two show
    (app / broken["components"]["module"]["listKeys"]["codeFiles"]["interface"]).write_text("[]")
    problems = "\n".join(cross_file_problems(app))
    assert "parameters.scriptt" in problems
    assert "names connection 'nope'" in problems


def test_schema_validation_catches_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.communication.iml.json"
    bad.write_text(json.dumps({"url": "/api/generate/image", "method": "POST"}))  # a POST needs a body
    assert validate_tmp(bad)


def validate_tmp(path: Path) -> list[str]:
    validator = Draft7Validator({"$ref": BASE_URI + schema_for(path)}, registry=REGISTRY)
    return [e.message for e in validator.iter_errors(json.loads(path.read_text()))]


# What a parameter or an earlier answer could hold to turn a request URL into a look-alike of the service.
HOSTILE = ["@evil.net", ".evil.net", ":8443", "//evil.net/x", "https://evil.net/x", "%2e%2e%2f", "../../x",
           "\u0430pi.example", "x?y=1#z"]
URL_EXPR = re.compile(r"\{\{(.*?)\}\}")


def _communications(value: Any) -> list[dict[str, Any]]:
    """Every request a communication file describes (one, a list, or nested under repeat/pagination)."""
    if isinstance(value, list):
        return [c for item in value for c in _communications(item)]
    if not isinstance(value, dict):
        return []
    found = [value] if "url" in value and isinstance(value["url"], str) else []
    return found + [c for v in value.values() if isinstance(v, (dict, list)) for c in _communications(v)]


def _resolve(url: str, base: str, hostile: str) -> str:
    """The URL Make would request: ``encodeURL`` is encodeURIComponent, a relative URL is appended to the
    base's ``baseUrl``, and the connection's own check builds its URL from ``parameters.baseUrl``."""
    def expand(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        if expr == "parameters.baseUrl":
            return base
        call = re.fullmatch(r"encodeURL\((.+)\)", expr)
        assert call, f"a request URL interpolates {expr!r} without encodeURL: its value could change the host"
        return quote(hostile, safe="-_.!~*'()")
    text = URL_EXPR.sub(expand, url)
    return text if text.startswith(base) else base + text


@pytest.mark.parametrize("app", APPS, ids=lambda p: p.name)
def test_the_key_goes_to_the_connection_base_url_only(app: Path) -> None:
    """No Make runtime exists offline, so every request of the app (modules, RPCs, webhook attach/detach,
    the connection check) is resolved the way Make documents, with each hostile value in every
    interpolated parameter: all land on the connection's base URL origin and under its path. The key is
    set only in the base (which Make applies to relative URLs) and in the connection's own check."""
    base = "https://api.service.example/v1"
    keyed: list[str] = []
    for path in sorted(app.rglob("*.json")):
        data = json.loads(path.read_text())
        if path.name == "base.iml.json":
            assert data["baseUrl"] == "{{connection.baseUrl}}"
            keyed.append(path.name)
            continue
        for request in _communications(data) if "communication" in path.name or path.parent.name == "webhooks" \
                else []:
            if "apiKey" in json.dumps(request.get("headers", {})):
                keyed.append(path.name)
            for hostile in HOSTILE:
                target = urlsplit(_resolve(request["url"], base, hostile))
                where = f"{path.relative_to(app)}: {request['url']} with {hostile!r}"
                assert (target.scheme, target.hostname, target.port) == ("https", "api.service.example", None), where
                assert target.username is None and target.password is None, where
                assert target.path == "/v1" or target.path.startswith("/v1/"), where
                assert ".." not in target.path.split("/"), where  # no dot segment climbing out
    connection = [name for name in keyed if name.endswith(".communication.iml.json")]
    assert sorted(keyed) == sorted(["base.iml.json", *connection]) and len(connection) == 1, keyed
