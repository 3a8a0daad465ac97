"""Every ```python block of README.md runs as written, against the simulator: a block that defines a DAG
is parsed from a DAG file (as the DAG processor would) and run with ``dag.test()``, with object-storage
output paths (``s3://``, ``gs://``) and ``/tmp/mediagen-output`` replaced by this test's folder. Nothing
else of the block is changed, so its params must have defaults in the block itself."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from ..conftest import ROOT
from .conftest import xcom

README = ROOT / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
_STORAGE = re.compile(r"\b(?:s3|gs)://|/tmp/mediagen-output")


def readme_blocks() -> list[str]:
    return _BLOCK.findall(README.read_text(encoding="utf-8"))


def localized(code: str, folder: Path) -> str:
    """``code`` writing under ``folder`` instead of object storage or /tmp."""
    return _STORAGE.sub(lambda m: f"{folder}/{m.group(0).rstrip(':/').replace('/tmp/', '')}/", code)


def _rendered(dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(RenderedTaskInstanceFields).filter_by(dag_id=dag_id, run_id=run_id,
                                                                  task_id=task_id).one()
        return dict(row.rendered_fields)


def test_the_readme_has_the_blocks_this_test_runs() -> None:
    blocks = readme_blocks()
    assert len(blocks) >= 2
    assert any("params={" in b and "{{ params.topic }}" in b for b in blocks)  # the ten-line DAG
    assert any("xcom_pull(task_ids='voiceover')['output_refs'][0]" in b for b in blocks)  # the hand-off


def test_localized_replaces_only_the_storage_prefix(tmp_path: Path) -> None:
    code = 'a = "s3://media/{{ ds }}/"; b = "gs://bucket/x"; c = "/tmp/mediagen-output"'
    assert localized(code, tmp_path) == (f'a = "{tmp_path}/s3/media/{{{{ ds }}}}/"; b = "{tmp_path}/gs/bucket/x"; '
                                         f'c = "{tmp_path}/mediagen-output/"')


@pytest.mark.parametrize("index", range(len(readme_blocks())))
def test_readme_block_runs(index: int, sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    out = tmp_path / "storage"
    dag_file = tmp_path / "dags" / f"readme_block_{index}.py"
    dag_file.parent.mkdir()
    # dag.test() runs DAGs of a DAG bundle, as a deployment does: the block's folder is one, for this test.
    bundles = json.loads(os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    bundles.append({"name": "readme", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {"path": str(dag_file.parent)}})
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    dag_file.write_text(localized(readme_blocks()[index], out), encoding="utf-8")
    bag = DagBag(dag_folder=str(dag_file), safe_mode=False)
    assert bag.import_errors == {}, bag.import_errors
    if not bag.dags:  # a block that defines no DAG: running it is the test
        exec(compile(dag_file.read_text(), str(dag_file), "exec"), {})  # noqa: S102 - our own README
        return
    for dag_id, dag in bag.dags.items():
        run = dag.test()
        with create_session() as session:
            tis = {ti.task_id: ti.state for ti in session.query(TaskInstance).filter(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)}
        assert run.state == "success", tis
        assert tis and set(tis.values()) == {"success"}, tis
        for task_id in tis:
            result = xcom(dag_id, run.run_id, task_id)
            if isinstance(result, dict) and result.get("outputs"):
                files = [Path(f.removeprefix("file://")) for f in result["outputs"]]
                assert all(f.is_file() and f.stat().st_size > 0 and out in f.parents for f in files), files
        if dag_id == "voiceover_to_avatar":
            voice = xcom(dag_id, run.run_id, "voiceover")
            # The avatar was handed the voice-over's job reference (no signed URL in its rendered field or in
            # XCom); it read the job for a fresh URL when it ran.
            assert _rendered(dag_id, run.run_id, "avatar")["audio"] == voice["output_refs"][0]
            assert voice["output_refs"][0].startswith(f"mediagen://apex/voice/{voice['job_id']}?conn_id=")
            assert "sig=" not in json.dumps(voice) or "sig=**********" in json.dumps(voice)
            assert not re.search(r"sig=[0-9a-f]", json.dumps(voice)), voice
            assert sim.counters()["apex"]["demo"]["credits_charged"] == 80 + 750
