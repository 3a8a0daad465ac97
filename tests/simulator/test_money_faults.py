"""The money-relevant faults (``faults.py``): each behaves as its docstring says, over real HTTP.

These are the faults where a naive client pays twice, trusts a stale or forged answer, or keeps a
broken file: ``lose_response``, ``unknown_status``, ``wrong_shape``, ``read_lag``, ``truncate``,
``expire_url`` and ``webhook_forge``, plus the control endpoints that let a test prove what the
vendor really did (``/_sim/jobs`` credits and outputs, ``/_sim/memory``, ``/_sim/attacker``).
Every test checks the vendor's side (jobs, credits, counters) as well as what the client saw.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from airflow_provider_mediagen.simulator import SimulatorServer

from .conftest import Receiver
from .helpers import APEX, DD, FDB, bearer, facedub_files, wait_for

#: What a client sees when the server closes the connection without (a whole) answer.
CONNECTION_CUT = (httpx.RemoteProtocolError, httpx.ReadError)
#: Documented seconds long enough (x 0.01 time scale) that a job stays queued during a test.
LONG = 100_000.0


# --- helpers -------------------------------------------------------------------------------------
def control(client: httpx.Client, sim: SimulatorServer, path: str) -> Any:
    r = client.get(f"{sim.base_url}/_sim{path}")
    assert r.status_code == 200, r.text
    return r.json()


def sim_job(sim: SimulatorServer, job_id: str) -> dict[str, Any]:
    return next(j for j in sim.jobs() if j["id"] == job_id)


def account_counters(sim: SimulatorServer, service: str, account: str = "demo") -> dict[str, Any]:
    return sim.counters()[service][account]


def rule_state(client: httpx.Client, sim: SimulatorServer, index: int = 0) -> dict[str, Any]:
    return control(client, sim, "/faults")[index]


def apex_job(client: httpx.Client, apex: str, job_id: str) -> dict[str, Any]:
    r = client.get(f"{apex}/api/jobs", params={"id": job_id}, headers=APEX)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def apex_completed(client: httpx.Client, apex: str, job_id: str) -> dict[str, Any]:
    return wait_for(lambda: (j := apex_job(client, apex, job_id))["status"] == "completed" and j)


def dd_template_image(client: httpx.Client, dd: str, key: str = "dd_live_demo", **extra: Any) -> dict[str, Any]:
    r = client.post(f"{dd}/images", headers=bearer(key), json={"template": "quote-square", **extra})
    assert r.status_code == 201, r.text
    return r.json()


# --- submissions per service, for the tests that run on all three ---------------------------------
Submit = Callable[[httpx.Client, SimulatorServer], httpx.Response]


def submit_apex(client: httpx.Client, sim: SimulatorServer) -> httpx.Response:
    return client.post(f"{sim.urls['apex']}/api/generate/image", headers=APEX, json={"prompt": "a cat"})


def submit_ddukddak(client: httpx.Client, sim: SimulatorServer) -> httpx.Response:
    return client.post(f"{sim.urls['ddukddak']}/ai/images", headers=DD, json={"prompt": "p", "model": "m"})


def submit_facedub(client: httpx.Client, sim: SimulatorServer) -> httpx.Response:
    return client.post(f"{sim.urls['facedub']}/jobs", headers=FDB, files=facedub_files(), data={"duration": "12"})


def job_id_of(service: str, answer: dict[str, Any]) -> str:
    return {"apex": lambda: answer["data"]["jobId"], "ddukddak": lambda: answer["uid"], "facedub": lambda: answer["job_id"]}[
        service
    ]()


#: service, submit endpoint template, submit, documented cost of that submission.
SUBMITS = [
    pytest.param("apex", "POST /api/generate/image", submit_apex, 10, id="apex"),
    pytest.param("ddukddak", "POST /ai/images", submit_ddukddak, 1, id="ddukddak"),
    pytest.param("facedub", "POST /jobs", submit_facedub, 3, id="facedub"),  # ceil(12 / 5)
]


# --- lose_response -------------------------------------------------------------------------------
@pytest.mark.parametrize(("service", "endpoint", "submit", "cost"), SUBMITS)
def test_lose_response_creates_and_charges_but_answers_nothing(
    client: httpx.Client, sim: SimulatorServer, service: str, endpoint: str, submit: Submit, cost: int
) -> None:
    sim.set_faults([{"service": service, "endpoint": endpoint, "fault": "lose_response", "count": 1}])
    with pytest.raises(CONNECTION_CUT):
        submit(client, sim)
    (lost,) = sim.jobs()
    assert lost["service"] == service and lost["account"] == "demo" and lost["credits"] == cost
    counters = account_counters(sim, service)
    assert counters["jobs_created"] == 1 and counters["credits_charged"] == cost
    assert counters["responses_lost"] == 1
    assert counters["requests"][endpoint] == {"0": 1}
    # A blind retry is a second, separately paid job: exactly what a client must avoid.
    retried = submit(client, sim)
    assert retried.status_code in (200, 202), retried.text
    assert job_id_of(service, retried.json()) != lost["id"]
    counters = account_counters(sim, service)
    assert counters["jobs_created"] == 2 and counters["credits_charged"] == 2 * cost
    assert counters["responses_lost"] == 1 and counters["requests"][endpoint] == {"0": 1, str(retried.status_code): 1}


def test_lose_response_only_on_matching_endpoint(client: httpx.Client, apex: str, sim: SimulatorServer) -> None:
    sim.set_faults([{"service": "apex", "endpoint": "POST /api/generate/image", "fault": "lose_response"}])
    assert client.get(f"{apex}/api/usage", headers=APEX).status_code == 200
    assert rule_state(client, sim)["fired"] == 0


# --- unknown_status ------------------------------------------------------------------------------
def test_unknown_status_on_apex_submit_keeps_real_job_id(client: httpx.Client, apex: str, sim: SimulatorServer) -> None:
    sim.configure(durations={"apex.image": LONG})
    sim.set_faults([{"service": "apex", "endpoint": "POST /api/generate/image", "fault": "unknown_status", "count": 1}])
    r = submit_apex(client, sim)
    assert r.status_code == 200
    job_id = r.json()["data"]["jobId"]
    assert r.json() == {"data": {"jobId": job_id, "status": "accepted", "message": "Image generation job queued"}}
    assert int(r.headers["content-length"]) == len(r.content) and "X-RateLimit-Remaining" in r.headers
    assert sim_job(sim, job_id)["status"] == "queued"  # only the answer lied
    assert submit_apex(client, sim).json()["data"]["status"] == "queued"  # count 1: the next is true


def test_unknown_status_on_single_job_reads_with_custom_value(
    client: httpx.Client, apex: str, fdb: str, sim: SimulatorServer
) -> None:
    sim.configure(durations={"apex.image": LONG, "facedub.job": LONG})
    apex_id = submit_apex(client, sim).json()["data"]["jobId"]
    fdb_id = submit_facedub(client, sim).json()["job_id"]
    clean_apex = client.get(f"{apex}/api/jobs", params={"id": apex_id}, headers=APEX).json()
    clean_fdb = client.get(f"{fdb}/jobs/{fdb_id}", headers=FDB).json()
    sim.set_faults(
        [
            {"service": "apex", "endpoint": "GET /api/jobs", "fault": "unknown_status", "value": "running"},
            {"service": "facedub", "endpoint": "GET /jobs/{job_id}", "fault": "unknown_status", "value": "paused"},
        ]
    )
    faulted_apex = client.get(f"{apex}/api/jobs", params={"id": apex_id}, headers=APEX).json()
    faulted_fdb = client.get(f"{fdb}/jobs/{fdb_id}", headers=FDB).json()
    assert faulted_apex == {"data": {**clean_apex["data"], "status": "running"}}
    assert faulted_fdb == {**clean_fdb, "status": "paused"}


def test_unknown_status_on_list_changes_exactly_one_item(
    client: httpx.Client, apex: str, fdb: str, sim: SimulatorServer
) -> None:
    # Apex, newest first: [image (completed), video (queued)] -> the first non-terminal one changes.
    sim.configure(durations={"apex.video": LONG})
    video = client.post(f"{apex}/api/generate/video", headers=APEX, json={"script": "s"}).json()["data"]["jobId"]
    image = submit_apex(client, sim).json()["data"]["jobId"]
    apex_completed(client, apex, image)
    clean = client.get(f"{apex}/api/jobs", headers=APEX).json()["data"]
    assert [(j["jobId"], j["status"]) for j in clean] == [(image, "completed"), (video, "queued")]
    # FaceDub, all terminal -> the first item changes.
    fdb_ids = [submit_facedub(client, sim).json()["job_id"] for _ in range(2)]
    wait_for(lambda: all(j["status"] == "completed" for j in client.get(f"{fdb}/jobs", headers=FDB).json()), 30)
    clean_fdb = client.get(f"{fdb}/jobs", headers=FDB).json()
    assert [j["id"] for j in clean_fdb] == fdb_ids[::-1]

    sim.set_faults([{"service": "apex", "fault": "unknown_status"}, {"service": "facedub", "fault": "unknown_status"}])
    faulted = client.get(f"{apex}/api/jobs", headers=APEX).json()["data"]
    assert faulted == [clean[0], {**clean[1], "status": "accepted"}]
    faulted_fdb = client.get(f"{fdb}/jobs", headers=FDB).json()
    assert faulted_fdb == [{**clean_fdb[0], "status": "accepted"}, clean_fdb[1]]
    # A rule naming a job changes that one, terminal or not, and nothing when it is not listed.
    sim.set_faults([{"service": "apex", "fault": "unknown_status", "value": "weird", "job_id": image},
                    {"service": "facedub", "fault": "unknown_status", "job_id": "not-listed"}])
    assert client.get(f"{apex}/api/jobs", headers=APEX).json()["data"] == [{**clean[0], "status": "weird"}, clean[1]]
    assert client.get(f"{fdb}/jobs", headers=FDB).json() == clean_fdb


def test_unknown_status_leaves_answers_without_a_status_alone(
    client: httpx.Client, apex: str, dd: str, sim: SimulatorServer
) -> None:
    clean_auth = client.get(f"{dd}/auth", headers=DD).json()
    clean_usage = client.get(f"{apex}/api/usage", headers=APEX).json()
    sim.set_faults([{"service": "ddukddak", "fault": "unknown_status"}, {"service": "apex", "fault": "unknown_status"}])
    assert client.get(f"{dd}/auth", headers=DD).json() == clean_auth
    assert client.get(f"{apex}/api/usage", headers=APEX).json() == clean_usage


# --- wrong_shape ---------------------------------------------------------------------------------
def test_wrong_shape_wraps_answer_keeping_status_and_length(
    client: httpx.Client, apex: str, dd: str, sim: SimulatorServer
) -> None:
    clean_404 = client.get(f"{apex}/api/jobs", params={"id": "nope"}, headers=APEX)
    assert clean_404.status_code == 404
    sim.set_faults(
        [
            {"service": "ddukddak", "endpoint": "POST /images", "fault": "wrong_shape"},
            {"service": "apex", "endpoint": "GET /api/jobs", "fault": "wrong_shape"},
        ]
    )
    created = client.post(f"{dd}/images", headers=DD, json={"template": "quote-square"})
    assert created.status_code == 201 and list(created.json()) == ["result"]
    inner = created.json()["result"]
    assert inner["status"] == "completed" and inner["uid"] == sim.jobs()[0]["id"]
    assert int(created.headers["content-length"]) == len(created.content)
    missing = client.get(f"{apex}/api/jobs", params={"id": "nope"}, headers=APEX)
    assert missing.status_code == 404 and missing.json() == {"result": clean_404.json()}
    assert int(missing.headers["content-length"]) == len(missing.content)
    assert missing.headers["content-type"] == clean_404.headers["content-type"]
    assert "X-RateLimit-Limit" in missing.headers


# --- read_lag ------------------------------------------------------------------------------------
#: service, single-job read endpoint, the duration key to make the job long, read of one job.
READS = [
    pytest.param(
        "apex",
        "GET /api/jobs",
        "apex.image",
        lambda c, s, i: c.get(f"{s.urls['apex']}/api/jobs", params={"id": i}, headers=APEX),
        id="apex",
    ),
    pytest.param(
        "ddukddak",
        "GET /ai/images/:uid",
        "ddukddak.ai_image",
        lambda c, s, i: c.get(f"{s.urls['ddukddak']}/ai/images/{i}", headers=DD),
        id="ddukddak",
    ),
    pytest.param(
        "facedub",
        "GET /jobs/{job_id}",
        "facedub.job",
        lambda c, s, i: c.get(f"{s.urls['facedub']}/jobs/{i}", headers=FDB),
        id="facedub",
    ),
]
SUBMIT_OF = {"apex": submit_apex, "ddukddak": submit_ddukddak, "facedub": submit_facedub}
Read = Callable[[httpx.Client, SimulatorServer, str], httpx.Response]


@pytest.mark.parametrize(("service", "endpoint", "duration_key", "read"), READS)
def test_read_lag_answers_the_services_own_404_until_delay(
    client: httpx.Client, sim: SimulatorServer, service: str, endpoint: str, duration_key: str, read: Read
) -> None:
    delay = 1.0
    sim.configure(durations={duration_key: LONG})
    unknown = read(client, sim, "zz_unknown_job")
    assert unknown.status_code == 404
    sim.set_faults([{"service": service, "endpoint": endpoint, "fault": "read_lag", "delay": delay}])
    before = time.monotonic()
    r = SUBMIT_OF[service](client, sim)
    job_id = job_id_of(service, r.json())
    expected_404 = json.loads(unknown.text.replace("zz_unknown_job", job_id))
    reads: list[httpx.Response] = []
    while not reads or reads[-1].status_code == 404:
        assert time.monotonic() - before < delay + 20, "the lagged job never appeared"
        reads.append(read(client, sim, job_id))
        time.sleep(0.05)
    first_visible = time.monotonic()
    assert len(reads) > 1 and reads[0].status_code == 404
    assert all(r.json() == expected_404 for r in reads[:-1])
    assert first_visible - before >= delay
    assert all(read(client, sim, job_id).status_code == 200 for _ in range(3))  # then stays visible
    assert rule_state(client, sim)["fired"] == 1
    assert sim_job(sim, job_id)["status"] in ("queued", "pending")  # the job existed all along, unfinished


def test_read_lag_decided_once_per_job_and_deterministic(
    client: httpx.Client, dd: str, sim: SimulatorServer
) -> None:
    sim.configure(durations={"ddukddak.ai_image": LONG})

    def pattern() -> tuple[list[str], list[int]]:
        sim.set_faults([{"service": "ddukddak", "fault": "read_lag", "delay": 3.0, "probability": 0.5}], seed=42)
        ids = [submit_ddukddak(client, sim).json()["uid"] for _ in range(8)]
        first = [client.get(f"{dd}/ai/images/{uid}", headers=DD).status_code for uid in ids]
        again = [client.get(f"{dd}/ai/images/{uid}", headers=DD).status_code for uid in ids]
        assert again == first  # each job's lag was decided at its first read, not redrawn
        return ids, first

    ids, first = pattern()
    assert set(first) == {200, 404}
    assert rule_state(client, sim)["fired"] == first.count(404)
    sim.reset()
    sim.configure(durations={"ddukddak.ai_image": LONG})
    assert pattern() == (ids, first)  # same seed, same requests: same jobs, same lags


def test_read_lag_count_limits_lagged_jobs_and_old_jobs_are_not_drawn(
    client: httpx.Client, dd: str, sim: SimulatorServer
) -> None:
    sim.configure(durations={"ddukddak.ai_image": LONG})
    old = submit_ddukddak(client, sim).json()["uid"]
    time.sleep(0.4)
    sim.set_faults([{"service": "ddukddak", "fault": "read_lag", "delay": 0.3, "count": 1}])
    assert client.get(f"{dd}/ai/images/{old}", headers=DD).status_code == 200  # older than delay: no draw
    assert rule_state(client, sim)["fired"] == 0
    sim.set_faults([{"service": "ddukddak", "fault": "read_lag", "delay": 5.0, "count": 1}])
    lagged, visible = (submit_ddukddak(client, sim).json()["uid"] for _ in range(2))
    assert client.get(f"{dd}/ai/images/{lagged}", headers=DD).status_code == 404
    assert client.get(f"{dd}/ai/images/{visible}", headers=DD).status_code == 200
    assert rule_state(client, sim)["remaining"] == 0


def test_read_lag_of_one_endpoint_does_not_hide_the_job_at_another(
    client: httpx.Client, dd: str, sim: SimulatorServer
) -> None:
    """Ddukddak's job ids are readable at two paths; a rule for the video read must leave an image's
    own read alone, even after the image was (wrongly) read at the video path first."""
    sim.configure(durations={"ddukddak.ai_image": LONG})
    sim.set_faults([{"service": "ddukddak", "endpoint": "GET /ai/videos/:uid", "fault": "read_lag", "delay": 5.0}])
    uid = submit_ddukddak(client, sim).json()["uid"]
    assert client.get(f"{dd}/ai/videos/{uid}", headers=DD).status_code == 404
    assert client.get(f"{dd}/ai/images/{uid}", headers=DD).status_code == 200


# --- truncate ------------------------------------------------------------------------------------
def read_truncated(client: httpx.Client, url: str) -> tuple[int, bytes]:
    """(Content-Length, bytes received) of a download that must end in a transport error."""
    received = bytearray()
    length = -1
    with pytest.raises(httpx.RemoteProtocolError):  # noqa: PT012 - the error comes mid-body
        with client.stream("GET", url) as response:
            assert response.status_code == 200
            length = int(response.headers["content-length"])
            for chunk in response.iter_raw():
                received += chunk
    return length, bytes(received)


def test_truncate_cuts_get_not_head_and_counts_under_the_job_account(
    client: httpx.Client, dd: str, sim: SimulatorServer
) -> None:
    sim.set_faults(
        [{"service": "ddukddak", "account": "automate", "endpoint": "GET /_files", "fault": "truncate", "count": 1}]
    )
    demo_url = dd_template_image(client, dd)["image_url"]
    url = dd_template_image(client, dd, key="dd_live_automate")["image_url"]
    full = client.get(demo_url)  # another account's file: not matched
    assert full.status_code == 200 and len(full.content) == int(full.headers["content-length"])
    for _ in range(2):
        head = client.head(url)
        assert head.status_code == 200 and head.content == b""
    size = int(head.headers["content-length"])
    assert rule_state(client, sim)["fired"] == 0  # HEAD never draws truncate
    length, partial = read_truncated(client, url)
    assert length == size and 0 < len(partial) <= size // 2
    whole = client.get(url)  # count 1: the retry is whole
    assert whole.status_code == 200 and len(whole.content) == size and whole.content.startswith(partial)
    (job,) = [j for j in sim.jobs() if j["account"] == "automate"]
    assert job["outputs"][0]["sha256"] == hashlib.sha256(whole.content).hexdigest()
    counters = sim.counters()["ddukddak"]
    assert counters["automate"]["downloads_truncated"] == 1 and counters["demo"]["downloads_truncated"] == 0


def test_download_faults_match_only_their_endpoint(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    sim.set_faults([{"service": "ddukddak", "endpoint": "POST /images", "fault": "truncate"}])
    url = dd_template_image(client, dd)["image_url"]
    assert client.get(url).status_code == 200
    assert rule_state(client, sim)["fired"] == 0


# --- expire_url ----------------------------------------------------------------------------------
def test_expire_url_answers_exactly_like_an_expired_url(client: httpx.Client, dd: str, sim: SimulatorServer) -> None:
    sim.configure(file_url_ttl=0.001)  # URLs signed from now on are already expired
    expired_url = dd_template_image(client, dd)["image_url"]
    expired = wait_for(lambda: (r := client.get(expired_url)).status_code == 403 and r, timeout=5)
    sim.configure(file_url_ttl=86_400)
    url = dd_template_image(client, dd)["image_url"]
    sim.set_faults([{"service": "ddukddak", "endpoint": "GET /_files", "fault": "expire_url", "count": 2}])
    assert client.head(url).status_code == 403  # HEAD is a download too
    faulted = client.get(url)
    assert faulted.status_code == 403 and faulted.content == expired.content
    assert faulted.headers["content-type"] == expired.headers["content-type"]
    assert client.get(url).status_code == 200  # count 2 used up: the same URL works again
    assert account_counters(sim, "ddukddak")["urls_expired"] == 2


# --- webhook_forge -------------------------------------------------------------------------------
def wait_idle(client: httpx.Client, sim: SimulatorServer) -> None:
    """Until every delivery (forged or real) is over, so webhook counters are final."""
    wait_for(lambda: control(client, sim, "/memory")["webhook_tasks"] == 0)


def assert_attacker_url_counts(client: httpx.Client, sim: SimulatorServer, url: str) -> None:
    """The attacker endpoint answers an image and counts every fetch, wherever it comes from."""
    assert sim.attacker_hits() == 0
    r = client.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content.startswith(b"\x89PNG")
    assert client.head(url).status_code == 200
    assert sim.attacker_hits() == 2


def test_webhook_forge_apex_account_webhook(
    client: httpx.Client, apex: str, sim: SimulatorServer, receiver: Receiver
) -> None:
    receiver.delay_first = 0.5  # the real delivery must wait until the forged one was answered
    hook = receiver.url + "?token=t0k"
    assert client.post(f"{apex}/api/settings", headers=APEX, json={"webhookUrl": hook}).status_code == 200
    sim.set_faults([{"service": "apex", "fault": "webhook_forge"}])
    job_id = submit_apex(client, sim).json()["data"]["jobId"]
    forged, real = receiver.wait(2)
    attacker_url = f"{sim.base_url}/_sim/attacker/{job_id}.png"
    assert forged.path == real.path == "/hook?token=t0k"
    assert forged.body["event"] == "job.completed" and set(forged.body) == {"event", "timestamp", "data"}
    assert forged.body["data"]["jobId"] == job_id and forged.body["data"]["status"] == "completed"
    assert forged.body["data"]["outputUrl"] == attacker_url
    assert set(forged.body["data"]) == set(real.body["data"])  # indistinguishable by shape
    assert real.body["data"]["jobId"] == job_id and urlparse(real.body["data"]["outputUrl"]).path.startswith("/_files/")
    assert real.at - forged.at >= 0.5
    wait_idle(client, sim)
    counters = account_counters(sim, "apex")
    assert counters["webhooks"] == {"attempted": 1, "delivered": 1, "failed": 0, "withheld": 0}
    assert counters["webhooks_forged"] == 1
    assert_attacker_url_counts(client, sim, attacker_url)


@pytest.mark.parametrize("path", ["/images", "/ai/images"], ids=["sync", "async"])
def test_webhook_forge_ddukddak_request_webhook(
    client: httpx.Client, dd: str, sim: SimulatorServer, receiver: Receiver, path: str
) -> None:
    receiver.fail_first = 1  # the forger never retries; a 500 to it is no failed service attempt
    sim.set_faults([{"service": "ddukddak", "fault": "webhook_forge"}])
    body = {"template": "quote-square"} if path == "/images" else {"prompt": "p", "model": "m"}
    uid = client.post(f"{dd}{path}", headers=DD, json={**body, "webhook_url": receiver.url}).json()["uid"]
    forged, real = receiver.wait(2)
    attacker_url = f"{sim.base_url}/_sim/attacker/{uid}.png"
    assert forged.body["uid"] == uid and forged.body["status"] == "completed"
    assert forged.body["image_url"] == forged.body["image_url_png"] == attacker_url
    assert set(forged.body) == set(real.body) and real.body["image_url"] != attacker_url
    wait_idle(client, sim)
    counters = account_counters(sim, "ddukddak")
    assert counters["webhooks"] == {"attempted": 1, "delivered": 1, "failed": 0, "withheld": 0}
    assert counters["webhooks_forged"] == 1
    time.sleep(0.3)  # longer than the scaled retry schedule: nothing else arrives
    assert len(receiver.arrivals) == 2
    assert_attacker_url_counts(client, sim, attacker_url)


def test_webhook_forge_custom_url_and_only_where_a_webhook_is_due(
    client: httpx.Client, dd: str, fdb: str, sim: SimulatorServer, receiver: Receiver
) -> None:
    evil = "https://cdn.attacker.example/cat.png"
    sim.set_faults(
        [
            {"service": "ddukddak", "fault": "webhook_forge", "value": evil},
            {"service": "facedub", "fault": "webhook_forge"},
        ]
    )
    submit_ddukddak(client, sim)  # no webhook_url: nothing to forge, no draw
    submit_facedub(client, sim)  # FaceDub sends no webhooks at all
    described = control(client, sim, "/faults")
    assert [rule["fired"] for rule in described] == [0, 0]
    dd_template_image(client, dd, webhook_url=receiver.url)
    forged, _real = receiver.wait(2)
    assert forged.body["image_url"] == evil
    assert account_counters(sim, "ddukddak")["webhooks_forged"] == 1
    assert account_counters(sim, "facedub")["webhooks_forged"] == 0


# --- /_sim/jobs and /_sim/memory -----------------------------------------------------------------
def apex_instant_ad(client: httpx.Client, sim: SimulatorServer) -> httpx.Response:
    body = {"websiteUrl": "https://shop.example", "platform": "facebook", "count": 2, "style": "bold"}
    return client.post(f"{sim.urls['apex']}/api/generate/instant-ad", headers=APEX, json=body)


def output_url(client: httpx.Client, sim: SimulatorServer, service: str, job_id: str) -> str:
    """The output URL as the service itself reports it once the job is completed."""
    if service == "apex":
        return apex_completed(client, sim.urls["apex"], job_id)["outputUrl"]
    if service == "ddukddak":
        read = lambda: client.get(f"{sim.urls['ddukddak']}/ai/images/{job_id}", headers=DD).json()  # noqa: E731
        return wait_for(lambda: (j := read())["status"] == "completed" and j)["image_url"]
    read = lambda: client.get(f"{sim.urls['facedub']}/jobs/{job_id}", headers=FDB).json()  # noqa: E731
    return wait_for(lambda: (j := read())["status"] == "completed" and j, timeout=30)["output_url"]


@pytest.mark.parametrize(
    ("service", "submit", "cost", "filename"),
    [
        pytest.param("apex", submit_apex, 10, "output.png", id="apex-image"),
        pytest.param("apex", apex_instant_ad, 500, "output.png", id="apex-instant-ad-image"),
        pytest.param("ddukddak", submit_ddukddak, 1, "image.png", id="ddukddak-ai-image"),
        pytest.param("facedub", submit_facedub, 3, "output.mp4", id="facedub-12s"),
    ],
)
def test_sim_jobs_report_cost_and_output_digest(
    client: httpx.Client, sim: SimulatorServer, service: str, submit: Submit, cost: int, filename: str
) -> None:
    job_id = job_id_of(service, submit(client, sim).json())
    url = output_url(client, sim, service, job_id)
    job = sim_job(sim, job_id)
    assert job["service"] == service and job["account"] == "demo" and job["status"] == "completed"
    assert job["credits"] == cost and job["finished_at"] >= job["created_at"]
    path = urlparse(url).path
    assert job["outputs"] == [{"url_path": path, "filename": filename, "sha256": None, "size": None}]
    data = client.get(url).content
    (output,) = sim_job(sim, job_id)["outputs"]
    assert output == {"url_path": path, "filename": filename, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_sim_memory_reports_process_and_holdings(
    client: httpx.Client, dd: str, sim: SimulatorServer, receiver: Receiver
) -> None:
    empty = control(client, sim, "/memory")
    assert set(empty) == {"rss_bytes", "jobs", "files", "webhook_tasks"}
    assert isinstance(empty["rss_bytes"], int) and empty["rss_bytes"] > 1_000_000
    assert (empty["jobs"], empty["files"], empty["webhook_tasks"]) == (0, 0, 0)
    receiver.delay_first = 1.0
    dd_template_image(client, dd, webhook_url=receiver.url)
    dd_template_image(client, dd)
    busy = control(client, sim, "/memory")
    assert (busy["jobs"], busy["files"], busy["webhook_tasks"]) == (2, 2, 1)
    receiver.wait(1)
    wait_for(lambda: control(client, sim, "/memory")["webhook_tasks"] == 0)
    sim.reset()
    after = control(client, sim, "/memory")
    assert (after["jobs"], after["files"], after["webhook_tasks"]) == (0, 0, 0)


# --- determinism ---------------------------------------------------------------------------------
def response_pattern(client: httpx.Client, sim: SimulatorServer, fault: str) -> list[str]:
    """Outcome of 20 ``GET /auth`` under a response fault of probability 0.5."""
    outcomes = []
    for _ in range(20):
        try:
            r = client.get(f"{sim.urls['ddukddak']}/auth", headers=DD)
        except CONNECTION_CUT:
            outcomes.append("lost")
            continue
        outcomes.append("wrapped" if "result" in r.json() else "plain")
    return outcomes


def download_pattern(client: httpx.Client, sim: SimulatorServer, url: str) -> list[int]:
    return [client.get(url).status_code for _ in range(20)]


@pytest.mark.parametrize("fault", ["lose_response", "wrong_shape", "expire_url"])
def test_same_seed_same_decisions(client: httpx.Client, dd: str, sim: SimulatorServer, fault: str) -> None:
    sim.configure(time_scale=0.0001)  # keep the 30 / 10 s limit out of the way
    url = dd_template_image(client, dd)["image_url"]
    rules = [{"service": "ddukddak", "fault": fault, "probability": 0.5}]

    def run(seed: int) -> list[Any]:
        sim.set_faults(rules, seed=seed)
        if fault == "expire_url":
            return list(download_pattern(client, sim, url))
        return list(response_pattern(client, sim, fault))

    first = run(5)
    assert len(set(first)) == 2  # both outcomes occur
    assert run(5) == first
    assert run(6) != first
