"""Bad input costs nothing: every request model refuses invalid values before a request is sent, with an
error naming the field; the simulator's counters prove no request left the client.

Invalid values are generated with hypothesis from each model's own JSON schema (the documented bounds,
lengths, enums and types), so a rule added to the catalog is exercised without a new test."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mediagen.catalog import SERVICES
from airflow_provider_mediagen.client import MediaClient, ValidationError

from .conftest import KEYS, total_requests
from .test_endpoints import APEX_REQUESTS

VALID: dict[tuple[str, str], dict[str, Any]] = {
    ("ddukddak", "create_template_image"): {"template": "summer-sale-banner", "properties": [{"name": "title"}]},
    ("ddukddak", "create_template_video"): {"template": "summer-sale-banner"},
    ("ddukddak", "create_ai_image"): {"prompt": "x", "model": "gemini-2.5-flash-image"},
    ("ddukddak", "create_ai_video"): {"prompt": "x", "model": "veo-3.1-fast"},
    ("apex", "generate_voice_clone"): {"name": "n", "sample_audio_url": "https://example.com/a.wav"},
    ("apex", "start_outbound_call"): {"agent_id": "a", "phone_number": "+14155550123"},
    ("apex", "create_agent"): {"name": "n", "system_prompt": "p", "greeting": "g", "tts_model": "kokoro",
                               "llm_model": "m"},
    ("apex", "create_key"): {"name": "n"},
    ("apex", "set_webhook"): {"webhook_url": "https://example.com/h"},
    ("facedub", "create_job"): {"duration": 5},
    ("facedub", "create_key"): {"name": "n"},
    **{("apex", f"generate_{kind}"): request for kind, request in APEX_REQUESTS.items()},
}
MODELS = [(service, name) for service, spec in SERVICES.items()
          for name, endpoint in spec.endpoints.items() if endpoint.request is not None]


def test_every_request_model_has_a_valid_sample() -> None:
    assert sorted(MODELS) == sorted(VALID)
    for (service, name), sample in VALID.items():
        SERVICES[service].endpoint(name).request.model_validate(sample)  # type: ignore[union-attr]


def _properties(service: str, name: str) -> dict[str, Any]:
    model = SERVICES[service].endpoint(name).request
    assert model is not None
    return model.model_json_schema(by_alias=False)["properties"]


def _field_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an optional field's schema."""
    for branch in schema.get("anyOf", []):
        if branch.get("type") != "null":
            return {**branch, **{k: v for k, v in schema.items() if k != "anyOf"}}
    return schema


def invalid_values(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the documented rules of one field refuse."""
    s = _field_schema(schema)
    options: list[st.SearchStrategy[Any]] = []
    if "enum" in s:
        options.append(st.text(min_size=1, max_size=12).filter(lambda v: v not in s["enum"]))
    if "const" in s:
        options.append(st.just(f"not-{s['const']}"))
    kind = s.get("type")
    if kind in ("integer", "number"):
        if "maximum" in s:
            options.append(st.integers(min_value=int(s["maximum"]) + 1, max_value=int(s["maximum"]) + 10_000))
        if "minimum" in s:
            options.append(st.integers(min_value=int(s["minimum"]) - 10_000, max_value=int(s["minimum"]) - 1))
        if "exclusiveMinimum" in s:
            options.append(st.integers(max_value=int(s["exclusiveMinimum"])))
        options.append(st.sampled_from(["many", [1], {"a": 1}]))
    if kind == "string":
        if "maxLength" in s:
            options.append(st.text(min_size=s["maxLength"] + 1, max_size=s["maxLength"] + 5))
        if s.get("minLength", 0) >= 1:
            options.append(st.just(""))
        if s.get("format") == "uri":
            options.append(st.sampled_from(["not a url", "ftp://example.com/x", "//nohost"]))
        if "pattern" in s:
            options.append(st.sampled_from(["", "???", "+0", "x y"]))
        options.append(st.sampled_from([12.5, ["a"], {"k": "v"}]))
    if kind == "boolean":
        options.append(st.sampled_from(["maybe", [True], {"b": 1}]))
    if kind == "array":
        options.append(st.sampled_from(["not-a-list", 3]))
    return st.one_of(options) if options else st.nothing()


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for service, name in MODELS:
        for field, schema in _properties(service, name).items():
            if not invalid_values(schema).is_empty:
                cases.append((service, name, field))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def clients(simulator: Any) -> Any:
    made = {s: MediaClient(s, KEYS[s], base_url=simulator.urls[s]) for s in SERVICES}
    yield made
    for client in made.values():
        client.close()


@pytest.mark.parametrize(("service", "endpoint", "field"), CASES, ids=[f"{s}-{e}-{f}" for s, e, f in CASES])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_invalid_field_is_refused_before_sending(clients: Any, simulator: Any, service: str, endpoint: str,
                                                 field: str, data: st.DataObject) -> None:
    value = data.draw(invalid_values(_properties(service, endpoint)[field]), label=field)
    request = {**VALID[(service, endpoint)], field: value}
    before = total_requests(simulator)
    with pytest.raises(ValidationError) as caught:
        clients[service].call(endpoint, request)
    model = SERVICES[service].endpoint(endpoint).request
    alias = model.model_fields[field].alias  # type: ignore[union-attr]
    assert caught.value.field is not None and caught.value.field.split(".")[0] in {field, alias}
    assert f"'{caught.value.field}'" in str(caught.value)
    assert total_requests(simulator) == before


@pytest.mark.parametrize(("service", "endpoint"), MODELS)
def test_missing_required_and_unknown_fields_are_refused(clients: Any, simulator: Any, service: str,
                                                         endpoint: str) -> None:
    model = SERVICES[service].endpoint(endpoint).request
    before = total_requests(simulator)
    with pytest.raises(ValidationError, match="field 'not_a_documented_field'"):
        clients[service].call(endpoint, {**VALID[(service, endpoint)], "not_a_documented_field": 1})
    for name, info in model.model_fields.items():  # type: ignore[union-attr]
        if info.is_required():
            request = {k: v for k, v in VALID[(service, endpoint)].items() if k != name}
            with pytest.raises(ValidationError) as caught:
                clients[service].call(endpoint, request)
            assert caught.value.field in {name, info.alias}
    assert total_requests(simulator) == before


def test_model_rules_across_fields(clients: Any, simulator: Any) -> None:
    before = total_requests(simulator)
    with pytest.raises(ValidationError, match="'audio' or 'text'"):
        clients["apex"].submit("avatar", image="https://example.com/f.jpg", resolution="720p", model="veed-fabric")
    with pytest.raises(ValidationError, match="https"):
        clients["apex"].submit("avatar", image="http://example.com/f.jpg", resolution="720p", model="veed-fabric",
                               text="hi")
    with pytest.raises(ValidationError, match="minDuration"):
        clients["apex"].submit("clip", source_video_url="https://example.com/v.mp4", min_duration=30, max_duration=5)
    assert total_requests(simulator) == before


def test_upload_rules_are_checked_before_sending(clients: Any, simulator: Any, tmp_path: Any,
                                                 sample_photo: Any, sample_video: Any) -> None:
    before = total_requests(simulator)
    text = tmp_path / "photo.gif"
    text.write_bytes(b"GIF89a....")
    with pytest.raises(ValidationError, match="field 'character_photo'"):
        clients["facedub"].submit("video", character_photo=text, reference_video=sample_video)
    renamed = tmp_path / "photo.png"
    renamed.write_bytes(b"this is not an image at all")
    with pytest.raises(ValidationError, match="does not look like"):
        clients["facedub"].submit("video", character_photo=renamed, reference_video=sample_video)
    with pytest.raises(ValidationError, match="field 'reference_video'"):
        clients["facedub"].submit("video", character_photo=sample_photo, reference_video=tmp_path / "missing.mp4")
    with pytest.raises(ValidationError, match="field 'reference_video'"):
        clients["facedub"].submit("video", character_photo=sample_photo)
    with pytest.raises(ValidationError, match="field 'duration'"):
        clients["facedub"].submit("video", character_photo=sample_photo, reference_video=sample_video, duration=31)
    assert total_requests(simulator) == before
