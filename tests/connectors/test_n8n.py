"""n8n: the generated package passes ``n8n-node lint`` and ``n8n-node build``, and a real n8n (>= 2.40,
on Node 24) imports credentials and workflows using the generated nodes and executes them against the
simulator: a finished job's output URL (and downloaded file) comes back, and a failed job is an error."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from .conftest import tools
from .n8n_harness import N8n, build_package, workflow

pytestmark = pytest.mark.runtime


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, object, object]]:
    yield build_package(tools(), tmp_path_factory.mktemp("n8n-package"))


def test_lint_passes(package) -> None:
    _, lint, _ = package
    assert lint.returncode == 0, f"n8n-node lint failed:\n{lint.stdout[-6000:]}\n{lint.stderr[-2000:]}"


def test_build_passes(package) -> None:
    pkg, _, build = package
    assert build.returncode == 0, f"n8n-node build failed:\n{build.stdout[-6000:]}\n{build.stderr[-2000:]}"
    for name in ("Apex", "Ddukddak", "Facedub"):
        assert (pkg / "dist" / "nodes" / name / f"{name}.node.js").is_file()
        assert (pkg / "dist" / "credentials" / f"{name}Api.credentials.js").is_file()


@pytest.fixture(scope="module")
def n8n(package, sim, tmp_path_factory: pytest.TempPathFactory) -> N8n:
    pkg, _, build = package
    assert build.returncode == 0, "the package did not build"
    n8n = N8n(tools(), pkg, tmp_path_factory.mktemp("n8n-home"))
    version = n8n.run("--version")
    major, minor = (int(x) for x in re.findall(r"(\d+)\.(\d+)", version.stdout)[0])
    assert (major, minor) >= (2, 40), version.output
    n8n.import_file("credentials", [
        {"id": "apexSimCred0001", "name": "Apex (simulator)", "type": "apexApi",
         "data": {"apiKey": sim.keys["apex"], "baseUrl": sim.urls["apex"]}},
        {"id": "ddSimCred000001", "name": "Ddukddak (simulator)", "type": "ddukddakApi",
         "data": {"apiKey": sim.keys["ddukddak"], "baseUrl": sim.urls["ddukddak"]}},
    ], "credentials")
    apex_cred = {"apexApi": {"id": "apexSimCred0001", "name": "Apex (simulator)"}}
    dd_cred = {"ddukddakApi": {"id": "ddSimCred000001", "name": "Ddukddak (simulator)"}}
    wait = {"completion": "wait", "maxWait": 120, "pollInterval": 1}
    n8n.import_file("workflow", [
        workflow("mediagenOk00001", [
            {"name": "Apex Image", "type": "CUSTOM.apex", "credentials": apex_cred,
             "parameters": {"resource": "generation", "operation": "generateImage", "prompt": "a lighthouse at dusk",
                            **wait, "download": True, "binaryPropertyName": "image"}},
            {"name": "Ddukddak AI Image", "type": "CUSTOM.ddukddak", "credentials": dd_cred,
             "parameters": {"resource": "generation", "operation": "createAiImage", "prompt": "a red bicycle",
                            "model": "gemini-2.5-flash-image",
                            "additionalFields": {"aspect_ratio": "16:9"}, **wait}},
        ]),
        workflow("mediagenFail001", [
            {"name": "Apex Image", "type": "CUSTOM.apex", "credentials": apex_cred,
             "parameters": {"resource": "generation", "operation": "generateImage", "prompt": "doomed", **wait}},
        ]),
        workflow("mediagenCont001", [
            {"name": "Apex Image", "type": "CUSTOM.apex", "credentials": apex_cred, "onError": "continueRegularOutput",
             "parameters": {"resource": "generation", "operation": "generateImage", "prompt": "doomed", **wait}},
        ]),
    ], "workflows")
    return n8n


def _node_items(result: dict, node: str) -> list[dict]:
    runs = result["data"]["resultData"]["runData"][node]
    return runs[-1]["data"]["main"][0]


def test_workflow_finishes_jobs_and_returns_output_urls(n8n: N8n, sim) -> None:
    run = n8n.execute("mediagenOk00001")
    assert run.returncode == 0, run.output[-6000:]
    result = run.json()
    assert result["status"] == "success", run.output[-4000:]
    [apex] = _node_items(result, "Apex Image")
    assert apex["json"]["status"] == "succeeded"
    assert apex["json"]["outputUrl"].startswith(sim.base_url + "/"), apex["json"]
    assert apex["json"]["outputUrl"] == apex["json"]["response"]["outputUrl"]
    assert apex["binary"]["image"]["mimeType"] == "image/png" and apex["binary"]["image"]["fileExtension"] == "png"
    assert apex["pairedItem"] == {"item": 0}
    [dd] = _node_items(result, "Ddukddak AI Image")
    assert dd["json"]["status"] == "succeeded" and dd["json"]["jobId"].startswith("img_")
    assert dd["json"]["outputUrl"].startswith(sim.base_url + "/")


def test_failed_job_surfaces_as_an_error(n8n: N8n, sim) -> None:
    sim.set_faults([{"service": "apex", "fault": "job_fail", "count": 1}])
    run = n8n.execute("mediagenFail001")
    assert run.returncode != 0, run.output[-4000:]
    assert re.search(r"Apex Studio Generate Image job \S+ failed", run.output), run.output[-4000:]


def test_continue_on_fail_turns_the_failure_into_an_item(n8n: N8n, sim) -> None:
    sim.set_faults([{"service": "apex", "fault": "job_fail", "count": 1}])
    run = n8n.execute("mediagenCont001")
    assert run.returncode == 0, run.output[-4000:]
    [item] = _node_items(run.json(), "Apex Image")
    assert "failed" in item["json"]["error"] and item["pairedItem"] == {"item": 0}


@pytest.mark.parametrize("base", ["https://api.useapexstudio.com", "https://api.facedub.io/v1"])
def test_key_decision_compares_parsed_origins(package, base: str) -> None:
    """The runtime's own decision (``keyRefusal``) on the URL a keyed request would go to, for the base URL
    and paths that would turn it into a look-alike (a suffix host, userinfo, another port, a trailing dot,
    percent-encoding, leaving the base path), evaluated in Node without sending anything. Paths come from
    the node's own templates with encoded parameters; this is the fence behind that."""
    pkg, _, build = package
    assert build.returncode == 0, "the package did not build"
    prefix = base.split("://", 1)[1].split("/", 1)[1:] and "/" + base.split("://", 1)[1].split("/", 1)[1] or ""
    cases = {
        (base, "/jobs"): True,
        (base, ""): True,
        (base, ".evil.net/jobs"): False,
        (base, "@evil.net/jobs"): False,
        (base, ":8443/jobs"): False,
        (base, "./jobs"): False,  # trailing dot: another host name
        (base, "%2eevil.net/jobs"): False,
        (base, "/../../elsewhere"): not prefix,  # the same origin: refused only when it leaves a base path
        (base.replace("https://", "https://user@"), "/jobs"): False,
        (base.replace("://", "://api.example.org@"), "/jobs"): False,  # https://<host>@evil.net look-alike
        ("not a url", "/jobs"): False,
    }
    if prefix:
        cases[(base, "-evil/jobs")] = False
    script = (
        "const rt = require(process.argv[1]);"
        "const cases = JSON.parse(process.argv[2]);"
        "process.stdout.write(JSON.stringify(cases.map(([b, p]) => rt.keyRefusal(b, b + p) === undefined)));"
    )
    runtime = pkg / "dist" / "nodes" / "shared" / "runtime.js"
    proc = subprocess.run([str(tools().node), "-e", script, str(runtime), json.dumps(list(cases))],
                          check=False, capture_output=True, text=True, timeout=60, env=tools().env(), cwd=pkg)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert dict(zip(cases, json.loads(proc.stdout))) == cases


class _Recorder(BaseHTTPRequestHandler):
    """A loopback server that writes down the headers of every request. As the service (``forward_to``
    set) it passes requests on to the simulator and points every ``outputUrl`` in its answers at the next
    of ``output_urls``: a storage host of another origin, as Apex's real CDN is; as that storage host it
    serves a small PNG."""

    forward_to: ClassVar[str | None] = None
    output_urls: ClassVar[list[str]] = []
    seen: ClassVar[list[tuple[str, str, dict[str, str]]]] = []
    rewritten: ClassVar[dict[str, str]] = {}

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.seen.append((self.server.server_address[1], f"{method} {self.path}", dict(self.headers.items())))
        if self.forward_to is None or self.server.server_address[1] == _Recorder.storage_port:
            self._answer(200, _PNG, "image/png")
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        answer = httpx.request(method, f"{self.forward_to}{self.path}", headers=headers, content=body)
        content = answer.content
        if "json" in answer.headers.get("content-type", ""):
            content = json.dumps(self._rewrite(answer.json())).encode()
        self._answer(answer.status_code, content, answer.headers.get("content-type", "application/json"))

    def _rewrite(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (self._swap(v) if k == "outputUrl" and isinstance(v, str) else self._rewrite(v))
                    for k, v in value.items()}
        return [self._rewrite(v) for v in value] if isinstance(value, list) else value

    def _swap(self, url: str) -> str:
        if url not in self.rewritten:
            self.rewritten[url] = self.output_urls[len(self.rewritten) % len(self.output_urls)]
        return self.rewritten[url]

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, *args: Any) -> None:
        pass

    storage_port: ClassVar[int] = 0


_PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
        b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def test_the_key_never_goes_with_a_download_from_another_origin(n8n: N8n, sim) -> None:
    """Real n8n, two Apex jobs whose output URLs (rewritten by a loopback front of the simulator) are on
    another origin, one of them written as ``http://<service host:port>@<storage>``: the downloads happen
    and carry no key; the service's own requests do."""
    service = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    storage = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    for server in (service, storage):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    base, port = f"http://127.0.0.1:{service.server_address[1]}", storage.server_address[1]
    _Recorder.forward_to, _Recorder.storage_port = sim.urls["apex"], port
    _Recorder.output_urls = [f"http://127.0.0.1:{port}/outputs/other-origin.png",
                             f"http://127.0.0.1:{service.server_address[1]}@127.0.0.1:{port}/outputs/userinfo.png"]
    _Recorder.seen.clear()
    _Recorder.rewritten.clear()
    try:
        key = sim.keys["apex"]
        n8n.import_file("credentials", [{"id": "apexFrontCred01", "name": "Apex (front)", "type": "apexApi",
                                         "data": {"apiKey": key, "baseUrl": base}}], "front-credentials")
        cred = {"apexApi": {"id": "apexFrontCred01", "name": "Apex (front)"}}
        nodes = [{"name": f"Apex Image {n}", "type": "CUSTOM.apex", "credentials": cred,
                  "parameters": {"resource": "generation", "operation": "generateImage", "prompt": f"origin {n}",
                                 "completion": "wait", "maxWait": 120, "pollInterval": 1, "download": True,
                                 "binaryPropertyName": "image"}} for n in ("A", "B")]
        n8n.import_file("workflow", [workflow("mediagenOrig001", nodes)], "front-workflow")
        run = n8n.execute("mediagenOrig001")
        assert run.returncode == 0, run.output[-6000:]
    finally:
        service.shutdown()
        storage.shutdown()
    downloads = [(what, headers) for p, what, headers in _Recorder.seen if p == port]
    assert sorted(w for w, _ in downloads) == ["GET /outputs/other-origin.png", "GET /outputs/userinfo.png"]
    assert not [w for w, h in downloads if key in json.dumps(h)], downloads
    calls = [(what, headers) for p, what, headers in _Recorder.seen if p != port]
    assert calls and all(h.get("Authorization") == f"Bearer {key}" for _, h in calls), calls
