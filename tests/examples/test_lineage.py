"""Issue 36: OpenLineage for every generated file. The shipped examples run (``dag.test()``, in a fresh
interpreter so Airflow's OpenLineage integration starts with the file transport configured) and the
events it wrote are read back: inputs (a presenter photo URL, the voice-over passed by job reference, a
character photo and reference video uploaded from files), outputs (the files written, the jobs'
outputs), the ``mediagen`` run facet (service, kind, job id, model, credits, prompt hashes), and no API
key, token or signed URL anywhere in them."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ..conftest import ROOT
from .conftest import EXAMPLES, run_dag_in_subprocess

pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is part of [test]")

def run_with_lineage(dag_id: str, events_file: Path, **extra_env: str) -> list[dict[str, Any]]:
    env = os.environ | {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events_file),
                                                       "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "mediagen-test",
        **extra_env,
    }
    run_dag_in_subprocess(dag_id, env)
    return [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]


def task_events(events: list[dict[str, Any]], task_id: str, event_type: str = "COMPLETE") -> dict[str, Any]:
    found = [e for e in events if e["eventType"] == event_type and e["job"]["name"].endswith(f".{task_id}")]
    assert found, (task_id, event_type, sorted({(e["job"]["name"], e["eventType"]) for e in events}))
    return found[-1]


def datasets(event: dict[str, Any], side: str) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in event.get(side, [])}


def assert_no_secrets(events_file: Path, sim: Any) -> None:
    text = events_file.read_text()
    for key in sim.keys.values():
        for value in (key.values() if isinstance(key, dict) else [key]):
            assert str(value) not in text
    for marker in ("signature=", "Signature=", "X-Amz-", "token=", "expires=", "sk_live", "Bearer "):
        assert marker not in text, marker


def with_extra(conn_env: str, **extra: Any) -> dict[str, str]:
    conn = json.loads(os.environ[conn_env])
    conn["extra"] = {**conn.get("extra", {}), **extra}
    return {conn_env: json.dumps(conn)}


def test_blog_to_video_reports_inputs_outputs_and_its_jobs(sim: Any, tmp_path: Path) -> None:
    events_file = tmp_path / "lineage.jsonl"
    events = run_with_lineage("mediagen_blog_to_video", events_file,
                              **with_extra("AIRFLOW_CONN_MEDIAGEN_APEX_DEFAULT", lineage_prompt_text=True))
    narration, presenter, scenes = (task_events(events, t) for t in ("narration", "presenter", "scenes"))
    facet = narration["run"]["facets"]["mediagen"]
    voice_job = facet["job_id"]
    assert (facet["service"], facet["kind"], facet["conn_id"], facet["status"]) == \
        ("apex", "voice", "mediagen_apex_default", "succeeded")
    job = next(j for j in sim.jobs() if j["id"] == voice_job)
    assert facet["credits_charged"] == job["credits"] == facet["credits_estimated"]
    # The connection allows the prompt's text: it is there, with its hash.
    narration_text = " ".join((EXAMPLES / "data" / "blog_post.md").read_text().split())
    assert set(facet["prompt"]) == set(facet["prompt_sha256"]) == {"text"}
    assert facet["prompt"]["text"] in narration_text
    assert facet["prompt_sha256"]["text"] == hashlib.sha256(facet["prompt"]["text"].encode()).hexdigest()
    # The facet as its published schema says (docs/openlineage/MediaGenRunFacet.json; the OpenLineage
    # base it extends is not fetched: nothing here leaves the machine).
    schema = json.loads((ROOT / "docs" / "openlineage" / "MediaGenRunFacet.json").read_text())
    assert facet["_schemaURL"] == schema["$id"]
    jsonschema.validate(facet, schema["$defs"]["MediaGenRunFacet"]["allOf"][1])

    # The voice-over's files and its job's output; the avatar reads that output by reference.
    written = datasets(narration, "outputs")
    files = {name for ns, name in written if ns == "file"}
    assert files and all(Path(f).is_file() for f in files), written
    assert ("mediagen://apex", f"voice/{voice_job}/0") in written
    inputs = datasets(presenter, "inputs")
    assert ("mediagen://apex", f"voice/{voice_job}/0") in inputs
    assert ("https://images.example.com", "/presenter.jpg") in inputs
    assert presenter["run"]["facets"]["mediagen"]["model"] == "veed-fabric"
    assert set(scenes["run"]["facets"]["mediagen"]["prompt_sha256"]) == {"script"}
    assert_no_secrets(events_file, sim)


def test_uploaded_files_are_inputs_and_a_prompt_is_a_hash_unless_the_connection_allows(
        sim: Any, tmp_path: Path) -> None:
    events_file = tmp_path / "lineage.jsonl"
    events = run_with_lineage("mediagen_ugc_ad", events_file)
    cuts = [e for e in events if e["eventType"] == "COMPLETE" and "mediagen" in e["run"].get("facets", {})]
    assert len(cuts) == 3, [e["job"]["name"] for e in cuts]  # one per mapped cut
    for cut in cuts:
        inputs = datasets(cut, "inputs")
        assert {("file", str(EXAMPLES / "data" / n)) for n in ("character.jpg", "reference.mp4")} == inputs
        facet = cut["run"]["facets"]["mediagen"]
        assert facet["service"] == "facedub" and facet["status"] == "succeeded" and facet["job_id"]
        assert any(ns == "mediagen://facedub" for ns, _ in datasets(cut, "outputs"))
    assert_no_secrets(events_file, sim)

    # A prompt on a connection without lineage_prompt_text: its hash only.
    from airflow_provider_mediagen.operators import ApexVoiceOperator

    voice = ApexVoiceOperator(task_id="voice", text="Three habits for a calmer morning.")
    facet = voice.get_openlineage_facets_on_complete(None).run_facets["mediagen"]
    assert facet.prompt is None
    assert facet.prompt_sha256 == {"text": hashlib.sha256(b"Three habits for a calmer morning.").hexdigest()}
