"""The catalog declares each service's job shape and webhook envelope; every reader goes through them.

These check the declarations against the services' own documented models (a misspelt field would
otherwise read as "no output" or "no error" without a word), and the parser built on them against
payloads written as the API docs show them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from pydantic import BaseModel

from airflow_provider_mediagen.catalog import SERVICES, NormalizedStatus, Service, UnknownStatusError
from airflow_provider_mediagen.webhooks.payloads import DeliveryError, parse_delivery


def _wire_fields(model: Any) -> set[str]:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return set()
    return set(model.model_json_schema(by_alias=True, mode="serialization").get("properties", {}))


def _documented_job_fields(service: Service) -> set[str]:
    fields: set[str] = set()
    for endpoint in service.endpoints.values():
        fields |= _wire_fields(endpoint.response)
    if service.webhook is not None:
        fields |= _wire_fields(service.webhook.job_model)
    return fields


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_declared_job_field_is_a_documented_field(name: str) -> None:
    service = SERVICES[name]
    shape = service.job_shape
    documented = _documented_job_fields(service)
    declared = {*shape.id, shape.status, *shape.outputs, *shape.finished_at} | {
        f for f in (shape.error, shape.stage, shape.created_at, shape.credits, shape.credits_refunded,
                    shape.kind_field, shape.media_type, shape.metadata) if f is not None}
    assert declared <= documented, f"{name}: declared but in no documented answer: {declared - documented}"
    for kind in service.kinds.values():
        if kind.result_id is not None:
            answer = service.endpoint(kind.submit).response
            assert kind.result_id in _wire_fields(answer), (name, kind.name)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_documented_status_has_a_rank_and_outcomes_are_final(name: str) -> None:
    ranks = {raw: status.rank for raw, status in SERVICES[name].status_map.items()}
    assert set(SERVICES[name].status_map.values()) == set(NormalizedStatus)
    assert NormalizedStatus.QUEUED.rank < NormalizedStatus.RUNNING.rank < NormalizedStatus.SUCCEEDED.rank
    assert NormalizedStatus.SUCCEEDED.rank == NormalizedStatus.FAILED.rank
    assert len(ranks) == len(SERVICES[name].status_map)


def test_a_listed_job_names_its_kind_and_its_credits_are_charged_less_refunded() -> None:
    apex = SERVICES["apex"]
    job = apex.parse_job("image", {
        "jobId": "job_1", "type": "b-roll", "status": "failed", "outputUrl": None, "outputType": "video/mp4",
        "metadata": {"durationSeconds": 4}, "creditsCharged": 150, "creditsRefunded": 150,
        "error": "model overloaded", "createdAt": "2026-03-16T11:59:50Z", "failedAt": "2026-03-16T12:00:10Z",
    })
    assert (job.kind, job.id, job.status, job.raw_status) == ("b_roll", "job_1", NormalizedStatus.FAILED, "failed")
    assert job.credits == 0 and job.error == "model overloaded" and job.output_urls == ()
    assert job.media_type == "video/mp4" and job.metadata == {"durationSeconds": 4}
    assert job.finished_at == datetime(2026, 3, 16, 12, 0, 10, tzinfo=timezone.utc)


def test_a_synchronous_answer_is_a_finished_job_named_by_its_result_field() -> None:
    job = SERVICES["apex"].parse_job("voice_clone", {"voiceId": "v_9", "name": "narrator"})
    assert (job.id, job.status, job.raw_status, job.output_urls) == ("v_9", NormalizedStatus.SUCCEEDED,
                                                                     "completed", ())


def test_one_shape_reads_a_create_answer_and_a_job_object() -> None:
    facedub = SERVICES["facedub"]
    created = facedub.parse_job("video", {"job_id": "j1", "status": "queued", "credits_charged": 2})
    done = facedub.parse_job("video", {"id": "j1", "status": "completed", "stage": "encoding",
                                       "output_url": "https://cdn.example/j1.mp4", "created_at": 1_700_000_000})
    assert (created.id, created.status, created.credits) == ("j1", NormalizedStatus.QUEUED, 2)
    assert (done.id, done.stage, done.output_urls) == ("j1", "encoding", ("https://cdn.example/j1.mp4",))
    assert done.created_at == datetime.fromtimestamp(1_700_000_000, tz=timezone.utc)


def test_outputs_are_read_in_the_declared_order_of_preference_and_only_on_success() -> None:
    ddukddak = SERVICES["ddukddak"]
    both = {"uid": "u1", "image_url": "https://x/a.jpg", "image_url_png": "https://x/a.png"}
    assert ddukddak.parse_job("ai_image", {**both, "status": "completed"}).output_urls == ("https://x/a.png",)
    assert ddukddak.parse_job("ai_image", {**both, "status": "processing"}).output_urls == ()
    assert ddukddak.parse_job("ai_image", {**both, "status": "completed"}).credits == 1


@pytest.mark.parametrize("payload", [{"uid": "u1"}, {"uid": "u1", "status": "done"}, {"status": "completed"}])
def test_a_payload_without_a_documented_status_or_id_never_reads_as_a_job(payload: dict[str, Any]) -> None:
    with pytest.raises((KeyError, UnknownStatusError)):
        SERVICES["ddukddak"].parse_job("ai_image", payload)


def test_the_envelope_picks_the_events_model_and_reads_the_job_where_it_is_declared() -> None:
    envelope = SERVICES["apex"].webhook
    assert envelope is not None and envelope.event_field == "event" and envelope.job_path == "data"
    assert envelope.job_model is envelope.events["job.completed"].model_fields["data"].annotation
    body = {"event": "job.completed", "timestamp": "2026-03-16T12:00:00Z",
            "data": {"jobId": "j7", "type": "voice", "status": "completed", "outputUrl": "https://x/v.wav"}}
    job = parse_delivery("apex", body)
    assert (job.id, job.kind, job.output_urls) == ("j7", "voice", ("https://x/v.wav",))
    bare = SERVICES["ddukddak"].webhook
    assert bare is not None and bare.job_path is None and bare.event_field is None
    job = parse_delivery("ddukddak", {"uid": "t1", "status": "completed", "video_url": "https://x/t.mp4"})
    assert (job.id, job.output_urls) == ("t1", ("https://x/t.mp4",))


def test_a_service_that_declares_no_envelope_takes_no_delivery() -> None:
    silent = [name for name, service in SERVICES.items() if service.webhook is None]
    assert silent, "the test needs a service without webhooks"
    with pytest.raises(DeliveryError, match="sends no webhooks"):
        parse_delivery(silent[0], {"id": "j1", "status": "completed"})
