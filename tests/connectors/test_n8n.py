"""n8n: the generated package passes ``n8n-node lint`` and ``n8n-node build``, and a real n8n (>= 2.40,
on Node 24) imports credentials and workflows using the generated nodes and executes them against the
simulator: a finished job's output URL (and downloaded file) comes back, and a failed job is an error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

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
