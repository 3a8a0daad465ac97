"""A new user's first hour (issue: first hour, items 6, 8 and 10) on real Airflow against the simulator:
outputs named from the input row, a taken name refused before paying, a warning when fewer files come back
than asked for, and no spurious XCom error at the end of a failed try."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediagen.operators import ApexImageOperator

from .conftest import run_dag

DAGS = "mediagen_first_hour_dags.py"


def test_output_name_is_templated_and_gets_the_media_extension(simulator: Any, tmp_path: Path) -> None:
    run, tis = run_dag("first_hour_output_name", DAGS)
    assert run.state == "success"
    assert sorted(p.name for p in (tmp_path / "out" / "named").iterdir()) == ["SKU-123-banner.png"]
    assert tis["banner"].xcom_pull(task_ids="banner")["outputs"][0].endswith("/SKU-123-banner.png")


def test_a_taken_output_name_is_refused_before_submitting(simulator: Any, tmp_path: Path) -> None:
    folder = tmp_path / "out" / "taken"
    folder.mkdir(parents=True)
    (folder / "hero.png").write_bytes(b"an earlier output")
    run, tis = run_dag("first_hour_name_taken", DAGS)
    assert run.state == "failed"
    assert (folder / "hero.png").read_bytes() == b"an earlier output"
    assert simulator.counters()["apex"].get("demo", {}).get("jobs_created", 0) == 0  # nothing paid


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "", "x" * 121])
def test_an_output_name_that_is_not_a_file_name_fails_the_parse(name: str) -> None:
    with pytest.raises(ValueError, match="field 'output_name'"):
        ApexImageOperator(task_id="t", prompt="x", output_path="/tmp/out", output_name=name)


def test_output_name_without_output_path_fails_the_parse() -> None:
    with pytest.raises(ValueError, match="field 'output_name': names files in output_path"):
        ApexImageOperator(task_id="t", prompt="x", output_name="hero")


def test_fewer_outputs_than_asked_for_are_warned_about(simulator: Any, tmp_path: Path,
                                                       capfd: pytest.CaptureFixture[str]) -> None:
    """Apex photoshoot count=2: the docs are silent, the service returns one image and charges once."""
    run, tis = run_dag("first_hour_fewer_outputs", DAGS)
    assert run.state == "success"
    out, err = capfd.readouterr()
    assert "asked for 2 outputs (count=2) but Apex Studio returned 1 file(s)" in out + err


def test_fewer_outputs_fail_the_task_with_strict_outputs(simulator: Any, tmp_path: Path,
                                                         capfd: pytest.CaptureFixture[str]) -> None:
    """Asked for it: the task fails for good (no retry, so no second charge), keeping the file it got."""
    run, tis = run_dag("first_hour_fewer_outputs_strict", DAGS)
    assert run.state == "failed" and tis["shoot"].try_number == 1  # retries=2 not spent
    out, err = capfd.readouterr()
    assert "returned 1 file(s); the job was charged" in out + err and "(strict_outputs=True)" in out + err
    assert simulator.counters()["apex"]["demo"]["jobs_created"] == 1
    assert len(list((tmp_path / "out" / "strict").iterdir())) == 1


def test_a_try_failing_before_it_has_a_url_logs_no_xcom_error(simulator: Any, tmp_path: Path,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    """Before: Airflow's end-of-try link push read the link XCom back and logged 'XCom not found'."""
    run, tis = run_dag("first_hour_fails_early", DAGS)
    assert run.state == "failed"
    out, err = capfd.readouterr()
    assert "Invalid" in out + err or "401" in out + err  # the real cause is shown...
    assert "XCom not found" not in out + err  # ...and nothing spurious


def test_the_link_of_a_successful_task_is_its_output_url(simulator: Any, tmp_path: Path) -> None:
    run, tis = run_dag("first_hour_output_name", DAGS)
    ti = tis["banner"]
    link = ti.xcom_pull(task_ids="banner", key="_link_MediaOutputLink")
    assert link == ti.xcom_pull(task_ids="banner")["output_urls"][0] and link.startswith("http://127.0.0.1")


@pytest.mark.parametrize(("waits", "rule"), [
    ({"poll_interval": 0}, "poll_interval must be a positive number"),
    ({"poll_interval": -1}, "poll_interval must be a positive number"),
    ({"timeout": 0}, "timeout must be positive"),
    ({"timeout": -5.0}, "timeout must be positive"),
    ({"timeout": 1, "poll_interval": 5}, r"timeout \(1 s\) is shorter than poll_interval \(5 s\)"),
])
def test_impossible_waits_fail_the_parse_naming_the_task(waits: dict[str, Any], rule: str) -> None:
    """Found when the DAG file is parsed, before anything could be submitted (issue: secrets and edges, 7)."""
    with pytest.raises(ValueError, match=rf"ApexImageOperator task 'waits': {rule}"):
        ApexImageOperator(task_id="waits", prompt="x", **waits)


def test_a_missing_required_parameter_names_the_task_at_parse_time() -> None:
    """Before: Airflow's own "missing keyword arguments 'model', 'prompt'", naming no task or operator."""
    from airflow.sdk import DAG

    from airflow_provider_mediagen.operators import DdukddakAIImageOperator

    with DAG("first_hour_missing", schedule=None):
        with pytest.raises(TypeError) as caught:
            DdukddakAIImageOperator(task_id="thumb")
        assert str(caught.value) == ("DdukddakAIImageOperator task 'thumb': missing required parameter(s) "
                                     "'model', 'prompt' (ddukddak POST /ai/images); nothing was submitted")
        with pytest.raises(TypeError, match="task 'thumb2': missing required parameter\\(s\\) 'prompt' "):
            DdukddakAIImageOperator(task_id="thumb2", model="gemini-2.5-flash-image")
    with DAG("first_hour_defaults", schedule=None, default_args={"prompt": "from default_args"}):
        made = DdukddakAIImageOperator(task_id="thumb", model="gemini-2.5-flash-image")  # still merged first
        assert made.prompt == "from default_args"
        upstream = ApexImageOperator(task_id="upstream", prompt="x")
        fed = DdukddakAIImageOperator(task_id="fed", model="gemini-2.5-flash-image", prompt=upstream.output)
        assert fed.upstream_task_ids == {"upstream"}  # an XComArg input still sets its upstream
