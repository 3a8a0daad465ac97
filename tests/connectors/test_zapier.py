"""Zapier: each app validates (the platform core's validate command and ``zapier-platform validate``),
and its creates, searches and triggers run through zapier-platform-core against the simulator,
including a callback create finished by ``performResume`` after the simulator posts to the callback URL."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from airflow_provider_mediagen.catalog import SERVICES as CATALOG

from .conftest import CONNECTORS, ROOT, require, tools

pytestmark = pytest.mark.runtime

DRIVER = Path(__file__).parent / "zapier_driver.js"
SERVICES = tuple(sorted(CATALOG))
DATA = ROOT / "dags_examples" / "data"


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    zapier = require(tools().zapier / "node_modules" / "zapier-platform-core", "zapier-platform-core")
    require(tools().node, "Node 24")
    out = {}
    for name in SERVICES:
        app = tmp_path_factory.mktemp(f"zapier-{name}") / name
        shutil.copytree(CONNECTORS / "zapier" / name, app)
        (app / "node_modules").symlink_to(zapier.parent)
        out[name] = app
    return out


def drive(app: Path, request: dict[str, Any], timeout: float = 120, *, preload: Path | None = None,
          env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``request`` through the driver; ``preload`` is a module Node loads first (``--require``)."""
    req = app.parent / "request.json"
    req.write_text(json.dumps(request))
    node = [str(tools().node)] + (["--require", str(preload)] if preload else [])
    proc = subprocess.run([*node, str(DRIVER), str(app), str(req)], check=False, capture_output=True, text=True,
                          timeout=timeout, env=tools().env(**(env or {})))
    marker = proc.stdout.rfind("@@RESULT@@")
    assert marker >= 0, f"driver printed no result (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout[marker + len("@@RESULT@@"):])


class _Receiver(BaseHTTPRequestHandler):
    """Loopback stand-in for Zapier's callback endpoint, and a file host for upload inputs."""

    received: ClassVar[dict[str, list[Any]]] = {}

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.received.setdefault(self.path, []).append(json.loads(body or b"{}"))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self) -> None:
        path = DATA / Path(self.path).name
        if not path.is_file():
            self.send_response(404)
            self.end_headers()
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("content-type", {".jpg": "image/jpeg", ".mp4": "video/mp4"}.get(path.suffix, "application/octet-stream"))
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def auth(sim, name: str, key: str | None = None) -> dict[str, str]:
    return {"apiKey": key or sim.keys[name], "baseUrl": sim.urls[name]}


def execute(app: Path, method: str, bundle: dict[str, Any], callback_url: str | None = None) -> dict[str, Any]:
    answer = drive(app, {"method": method, "bundle": {"meta": {}, **bundle}, "callback_url": callback_url})
    return answer


@pytest.mark.parametrize("name", SERVICES)
def test_core_validate_reports_nothing(apps, name: str) -> None:
    answer = drive(apps[name], {"command": "validate"})
    assert answer["ok"], answer
    assert answer["results"] == [], answer


@pytest.mark.parametrize("name", SERVICES)
def test_cli_validate_passes(apps, name: str) -> None:
    cli = require(tools().zapier / "node_modules" / ".bin" / "zapier-platform", "zapier-platform-cli")
    proc = subprocess.run([str(cli), "validate", "--without-style"], cwd=apps[name], check=False, capture_output=True, text=True,
                          timeout=180, env=tools().env())
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "structurally sound" in proc.stdout, proc.stdout[-2000:]


@pytest.mark.parametrize("name", SERVICES)
def test_authentication_test_request(apps, sim, name: str) -> None:
    ok = execute(apps[name], "authentication.test", {"authData": auth(sim, name), "inputData": {}})
    assert ok["ok"], ok
    bad_key = CATALOG[name].key_prefix + "nope"
    bad = execute(apps[name], "authentication.test", {"authData": auth(sim, name, bad_key), "inputData": {}})
    assert not bad["ok"] and "401" in bad["error"], bad


def test_callback_create_finishes_through_perform_resume(apps, sim, receiver) -> None:
    """Ddukddak takes a webhook_url per request: the create hands it Zapier's callback URL, the
    simulator posts the finished job there, and performResume turns that into the step's output."""
    app = apps["ddukddak"]
    callback = f"{receiver}/callback/{time.time_ns()}"
    bundle = {"authData": auth(sim, "ddukddak"), "inputData": {"prompt": "a kite over the sea", "model": "gemini-2.5-flash-image",
                                                      "aspect_ratio": "1:1"}}
    first = execute(app, "creates.create_ai_image.operation.perform", bundle, callback_url=callback)
    assert first["ok"], first
    assert first["status"] == "CALLBACK", first
    accepted = first["results"]
    assert accepted["status"] == "queued" and accepted["jobId"].startswith("img_")
    deadline = time.monotonic() + 60
    path = callback.removeprefix(receiver)
    while not _Receiver.received.get(path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _Receiver.received.get(path), "the simulator never called the callback URL"
    payload = _Receiver.received[path][0]
    assert payload["uid"] == accepted["jobId"]
    resumed = execute(app, "creates.create_ai_image.operation.performResume",
                      {**bundle, "outputData": accepted, "cleanedRequest": payload})
    assert resumed["ok"], resumed
    result = resumed["results"]
    assert result["status"] == "succeeded" and result["jobId"] == accepted["jobId"]
    assert result["outputUrl"].startswith(sim.base_url + "/")


def test_polling_create_and_find_job_search(apps, sim) -> None:
    app = apps["apex"]
    bundle = {"authData": auth(sim, "apex"), "inputData": {"prompt": "a paper boat", "width": 512, "height": 512}}
    created = execute(app, "creates.generate_image.operation.perform", bundle)
    assert created["ok"], created
    job = created["results"]
    assert job["status"] == "succeeded" and job["outputUrl"].startswith(sim.base_url + "/")
    found = execute(app, "searches.get_jobs.operation.perform",
                    {"authData": auth(sim, "apex"), "inputData": {"id": job["jobId"]}})
    assert found["ok"], found
    assert [j["jobId"] for j in found["results"]] == [job["jobId"]]
    assert found["results"][0]["outputUrl"] == job["outputUrl"]


def test_failed_job_fails_the_create(apps, sim) -> None:
    sim.set_faults([{"service": "apex", "fault": "job_fail", "count": 1}])
    bundle = {"authData": auth(sim, "apex"), "inputData": {"prompt": "doomed"}}
    failed = execute(apps["apex"], "creates.generate_image.operation.perform", bundle)
    assert not failed["ok"] and "failed" in failed["error"], failed


def test_polling_trigger_returns_finished_jobs(apps, sim) -> None:
    execute(apps["apex"], "creates.generate_image.operation.perform",
            {"authData": auth(sim, "apex"), "inputData": {"prompt": "a second boat"}})
    polled = execute(apps["apex"], "triggers.new_jobs.operation.perform", {"authData": auth(sim, "apex"), "inputData": {}})
    assert polled["ok"], polled
    assert polled["results"], polled
    assert all(r["id"] and r["status"] in ("succeeded", "failed") for r in polled["results"])


def test_multipart_create_with_files_and_search(apps, sim, receiver) -> None:
    app = apps["facedub"]
    bundle = {"authData": auth(sim, "facedub"),
              "inputData": {"character_photo": f"{receiver}/files/character.jpg",
                            "reference_video": f"{receiver}/files/reference.mp4", "duration": 5}}
    created = execute(app, "creates.create_job.operation.perform", bundle, )
    assert created["ok"], created
    job = created["results"]
    assert job["jobId"] and job["status"] in ("queued", "running", "succeeded")
    found = execute(app, "searches.get_job.operation.perform",
                    {"authData": auth(sim, "facedub"), "inputData": {"job_id": job["jobId"]}})
    assert found["ok"], found
    assert found["results"][0]["jobId"] == job["jobId"]
    usage = execute(app, "searches.get_usage.operation.perform", {"authData": auth(sim, "facedub"), "inputData": {}})
    assert usage["ok"] and usage["results"][0]["plan"] == "agency", usage


class _Capture(BaseHTTPRequestHandler):
    """Loopback file host that writes down the Authorization header each GET arrived with."""

    seen: ClassVar[dict[str, str | None]] = {}

    def do_GET(self) -> None:
        self.seen[self.path] = self.headers.get("authorization")
        data = (DATA / Path(self.path.split("?", 1)[0]).name).read_bytes()
        self.send_response(200)
        self.send_header("content-type", "application/octet-stream")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        """Any create: read the body, answer an empty JSON object (what the runtime makes of it is moot)."""
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def capture() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Capture.seen.clear()
    yield server.server_address[1]
    server.shutdown()


def test_key_goes_to_the_service_origin_only_through_the_runtime(apps, capture: int) -> None:
    """The real zapier-platform-core runtime fetching upload inputs: a URL whose text merely starts with
    the base URL (a longer port, the base URL as userinfo: the loopback twins of
    ``https://<host>.evil.net`` and ``https://<host>@evil.net``) gets no key; the base URL's own origin
    does. Everything stays on 127.0.0.1: the base URL of the look-alike runs is a port prefix of the
    capture server's, so the text check matches while the origins differ."""
    key = "fdb_" + "lookalike-canary-0123456789"
    real = f"http://127.0.0.1:{capture}"
    prefix = f"http://127.0.0.1:{str(capture)[:-1]}"  # what the text check saw as "the service"
    runs = {
        "/files/own-origin/character.jpg": (real, f"{real}/files/own-origin/character.jpg"),
        "/files/longer-port/character.jpg": (prefix, f"{real}/files/longer-port/character.jpg"),
        "/files/userinfo/character.jpg": (prefix, f"{prefix}@127.0.0.1:{capture}/files/userinfo/character.jpg"),
    }
    for path, (base, url) in runs.items():
        bundle = {"authData": {"apiKey": key, "baseUrl": base},
                  "inputData": {"character_photo": url,
                                "reference_video": url.replace("character.jpg", "reference.mp4"),
                                "duration": 5}}
        execute(apps["facedub"], "creates.create_job.operation.perform", bundle)  # the POST itself may fail
    assert set(_Capture.seen) >= set(runs), _Capture.seen  # every input was fetched
    assert _Capture.seen["/files/own-origin/character.jpg"] == f"Bearer {key}"  # the capture sees keys
    leaked = {p: a for p, a in _Capture.seen.items() if "own-origin" not in p and a and key in a}
    assert not leaked


@pytest.mark.parametrize("name", SERVICES)
def test_key_decision_compares_parsed_origins(apps, name: str) -> None:
    """The runtime's own decision (``addAuthHeader``) for the real service host and its look-alikes,
    evaluated in Node without sending anything."""
    base = {"apex": "https://api.apexstudio.example", "ddukddak": "https://api.ddukddak.example",
            "facedub": "https://api.facedub.example/v1"}.get(name, f"https://api.{name}.example/v2")
    host = base.split("://", 1)[1].split("/", 1)[0]
    path = base.split(host, 1)[1]
    urls = {
        f"{base}/jobs": True,
        f"{base}": True,
        f"https://{host}:443{path}/jobs": True,  # the default port is the same origin
        f"https://{host}.evil.net{path}/jobs": False,
        f"https://{host}@evil.net{path}/jobs": False,
        f"https://{host}:8443{path}/jobs": False,
        f"http://{host}{path}/jobs": False,
        "not a url": False,
    }
    if path:
        urls[f"https://{host}{path}-evil/jobs"] = False  # the same origin, outside the base URL's path
    script = (
        "const rt = require(process.argv[1]);"
        "const urls = JSON.parse(process.argv[2]);"
        "const out = {};"
        "for (const url of urls) {"
        "  const bundle = { authData: { apiKey: 'k-123', baseUrl: process.argv[3] } };"
        "  const req = rt.addAuthHeader({ url, headers: {} }, null, bundle);"
        "  out[url] = req.headers.Authorization === 'Bearer k-123';"
        "}"
        "process.stdout.write(JSON.stringify(out));"
    )
    runtime = apps[name] / "lib" / "runtime.js"
    proc = subprocess.run([str(tools().node), "-e", script, str(runtime), json.dumps(list(urls)), base],
                          check=True, capture_output=True, text=True, timeout=60, env=tools().env())
    assert json.loads(proc.stdout) == urls


LOOPBACK_INTERNET = Path(__file__).parent / "zapier_loopback_internet.js"


def test_key_goes_to_look_alike_hosts_nowhere_through_the_runtime(apps, capture: int, tmp_path: Path) -> None:
    """The real zapier-platform-core runtime fetching FaceDub upload inputs from the service's real host
    (``https://api.facedub.io``, the app's default base URL) and from its look-alikes: a host that merely
    starts with it, the host as userinfo of another, plain http, another port. Those hosts are not on
    loopback, so a preloaded module (zapier_loopback_internet.js) writes down each request's URL and the
    headers the runtime gave it, then sends it to the loopback capture server instead: nothing leaves
    the machine, and the runtime still gets real answers. Only the base URL's own origin gets the key."""
    key = "fdb_" + "origin-canary-0123456789"
    host = "api.facedub.io"
    expected = {  # the file URL -> whether the key may go with it
        f"https://{host}.evil.net/in/character.jpg": False,
        f"https://{host}@evil.net/in/character.jpg": False,
        f"http://{host}/in/character.jpg": False,
        f"https://{host}:8443/in/character.jpg": False,
        f"https://{host}/in/character.jpg": True,
    }
    log = tmp_path / "requests.jsonl"
    env = {"MEDIAGEN_ROUTE_TO": f"http://127.0.0.1:{capture}", "MEDIAGEN_REQUEST_LOG": str(log)}
    for photo in expected:
        bundle = {"authData": {"apiKey": key},  # no baseUrl: the app's own default
                  "inputData": {"character_photo": photo,
                                "reference_video": photo.replace("character.jpg", "reference.mp4"),
                                "duration": 5}}
        drive(apps["facedub"], {"method": "creates.create_job.operation.perform", "bundle": {"meta": {}, **bundle},
                                "callback_url": None}, preload=LOOPBACK_INTERNET, env=env)
    sent = [json.loads(line) for line in log.read_text().splitlines()]
    keyed = {r["url"]: r["headers"].get("authorization") == f"Bearer {key}" for r in sent}
    assert {u: keyed.get(u) for u in expected} == expected, sent
    videos = {u.replace("character.jpg", "reference.mp4"): ok for u, ok in expected.items()}
    assert {u: keyed.get(u) for u in videos} == videos, sent
    creates = [r for r in sent if r["url"].startswith(f"https://{host}/") and "/in/" not in r["url"]]
    assert creates and all(keyed[r["url"]] for r in creates), sent  # the service itself does get the key
    leaked = [r for r in sent if key in json.dumps(r["headers"]) and not keyed.get(r["url"])]
    assert not leaked, leaked  # not under another header either
