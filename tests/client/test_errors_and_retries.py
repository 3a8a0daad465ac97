"""Every documented error status maps to its typed error with the service's own message; reads retry
transient failures honouring Retry-After; generation POSTs are retried only when the service provably
refused them, otherwise a clear "the job may exist" error."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from airflow_provider_mediagen.client import (
    AuthenticationError,
    BadRequestError,
    CreditsExhaustedError,
    NotFoundError,
    PlanError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    SubmissionUncertainError,
    TransportError,
    UnsupportedOperationError,
)

from .conftest import requests_of


def set_faults(simulator: Any, *rules: dict[str, Any]) -> None:
    httpx.post(f"{simulator.base_url}/_sim/faults", json=list(rules)).raise_for_status()


@pytest.mark.parametrize(("service", "key", "error", "code", "text"), [
    ("ddukddak", "dd_live_nope", AuthenticationError, None, ""),
    ("apex", "sk_live_nope", AuthenticationError, "UNAUTHORIZED", ""),
    ("facedub", "fdb_nope", AuthenticationError, None, ""),
    ("apex", "sk_live_pro", PlanError, "FORBIDDEN", ""),
    ("facedub", "fdb_pro", PlanError, None, ""),
])
def test_auth_and_plan_errors(make_client: Any, service: str, key: str, error: type, code: str | None,
                              text: str) -> None:
    client = make_client(service, key)
    with pytest.raises(error) as caught:
        client.check()
    assert caught.value.service == service and caught.value.code == code
    assert caught.value.status_code in (401, 403) and caught.value.message
    assert caught.value.endpoint == f"GET {client.service.endpoint(client.service.check_endpoint).path}"


def test_ddukddak_plan_gate_and_credits(make_client: Any) -> None:
    with pytest.raises(PlanError) as caught:
        make_client("ddukddak", "dd_live_free").submit("ai_image", prompt="x", model="gemini-2.5-flash-image")
    assert caught.value.status_code == 403
    with pytest.raises(CreditsExhaustedError) as caught:
        make_client("ddukddak", "dd_live_broke").submit("template_image", template="summer-sale-banner")
    assert caught.value.status_code == 402
    with pytest.raises(NotFoundError) as caught:
        make_client("ddukddak").submit("template_image", template="no-such-template")
    assert caught.value.status_code == 404


def test_apex_credits_and_not_found(make_client: Any) -> None:
    broke = make_client("apex", "sk_live_broke")
    broke.submit("image", prompt="ten credits")  # 15 -> 5
    with pytest.raises(CreditsExhaustedError) as caught:
        broke.submit("image", prompt="ten more")
    assert caught.value.code == "PAYMENT_REQUIRED"
    with pytest.raises(NotFoundError) as caught:
        make_client("apex").get_job("image", "00000000-0000-0000-0000-000000000000")
    assert caught.value.job_id == "00000000-0000-0000-0000-000000000000"


def test_facedub_not_found_and_unsupported(make_client: Any) -> None:
    with pytest.raises(NotFoundError):
        make_client("facedub").get_job("video", "nope")
    with pytest.raises(UnsupportedOperationError, match="webhook"):
        make_client("ddukddak").get_job("template_video", "vid_x")
    with pytest.raises(UnsupportedOperationError, match="balance"):
        make_client("ddukddak").balance()


@pytest.mark.parametrize(("status", "error", "code"), [
    (400, BadRequestError, "BAD_REQUEST"), (500, ServerError, "INTERNAL_ERROR"),
    (503, ServerError, "SERVICE_UNAVAILABLE"), (429, RateLimitedError, "RATE_LIMITED")])
def test_status_faults_map_to_typed_errors_after_read_retries(make_client: Any, simulator: Any, status: int,
                                                              error: type, code: str) -> None:
    set_faults(simulator, {"service": "apex", "endpoint": "GET /api/usage", "fault": "status", "status": status,
                           "retry_after": 0.01})
    client = make_client("apex", max_attempts=3)
    with pytest.raises(error) as caught:
        client.usage()
    assert caught.value.code == code and caught.value.status_code == status
    attempts = sum(requests_of(simulator, "apex")["GET /api/usage"].values())
    assert attempts == (3 if error in (ServerError, RateLimitedError) else 1)


def test_read_retries_recover_and_honour_retry_after(make_client: Any, simulator: Any) -> None:
    set_faults(simulator, {"service": "apex", "endpoint": "GET /api/usage", "fault": "status", "status": 429,
                           "retry_after": 0.6, "count": 1})
    started = time.monotonic()
    usage = make_client("apex").usage()
    waited = time.monotonic() - started
    assert usage.plan == "enterprise"
    assert waited >= 0.6  # the client slept at least what Retry-After asked
    assert requests_of(simulator, "apex")["GET /api/usage"] == {"429": 1, "200": 1}


def test_dropped_connection_and_malformed_json_on_reads_are_retried(make_client: Any, simulator: Any) -> None:
    set_faults(simulator,
               {"service": "facedub", "endpoint": "GET /usage", "fault": "drop", "count": 1},
               {"service": "facedub", "endpoint": "GET /usage", "fault": "malformed", "count": 1})
    assert make_client("facedub").usage().plan == "agency"


def test_generation_post_is_not_retried_when_it_may_have_reached_the_service(make_client: Any,
                                                                             simulator: Any) -> None:
    client = make_client("apex")
    set_faults(simulator, {"service": "apex", "endpoint": "POST /api/generate/image", "fault": "status",
                           "status": 500, "count": 1})
    with pytest.raises(SubmissionUncertainError, match="may exist"):
        client.submit("image", prompt="once")
    set_faults(simulator, {"service": "apex", "endpoint": "POST /api/generate/image", "fault": "drop", "count": 1})
    with pytest.raises(SubmissionUncertainError, match="may"):
        client.submit("image", prompt="once")
    set_faults(simulator, {"service": "apex", "endpoint": "POST /api/generate/image", "fault": "malformed",
                           "count": 1})
    with pytest.raises(SubmissionUncertainError, match="job may exist"):
        client.submit("image", prompt="once")
    assert sum(requests_of(simulator, "apex")["POST /api/generate/image"].values()) == 3  # never twice


def test_generation_post_is_retried_when_provably_refused(make_client: Any, simulator: Any) -> None:
    set_faults(simulator,
               {"service": "apex", "endpoint": "POST /api/generate/image", "fault": "status", "status": 429,
                "retry_after": 0.05, "count": 1},
               {"service": "apex", "endpoint": "POST /api/generate/image", "fault": "status", "status": 503,
                "retry_after": 0.05, "count": 1})
    job = make_client("apex").submit("image", prompt="third time lucky")
    assert job.raw_status == "queued"
    assert requests_of(simulator, "apex")["POST /api/generate/image"] == {"429": 1, "503": 1, "200": 1}
    assert simulator.counters()["apex"]["demo"]["jobs_created"] == 1


def test_connection_refused_is_a_transport_error(make_client: Any) -> None:
    from airflow_provider_mediagen.client import MediaClient

    with MediaClient("apex", "sk_live_demo", base_url="http://127.0.0.1:9", max_attempts=2) as client:
        with pytest.raises(TransportError):
            client.usage()
        with pytest.raises(TransportError):  # never sent, so even a POST may retry; it still fails
            client.submit("image", prompt="x")


def test_unknown_status_is_a_protocol_error_never_success() -> None:
    from airflow_provider_mediagen.client.protocol import ServiceProtocol
    from airflow_provider_mediagen.catalog import SERVICES

    protocol = ServiceProtocol(SERVICES["facedub"])
    answer = {"id": "j1", "status": "done-ish", "output_url": "https://x"}
    with pytest.raises(ProtocolError, match="unknown job status 'done-ish'"):  # a status read: retry the read
        protocol.job("video", answer, protocol.status_call("video", "j1"))
    # the answer to a submission: the job may exist and was paid for, so never a retryable error
    with pytest.raises(SubmissionUncertainError, match="unknown job status 'done-ish'.*as job j1") as caught:
        protocol.job("video", answer)
    assert not isinstance(caught.value, ProtocolError) and caught.value.job_id == "j1"
