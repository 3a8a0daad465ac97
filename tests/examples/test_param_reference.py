"""docs/parameters.md is generated from the catalog and the operator factory, covers every operator and
every request field, and must not go stale; every example in it builds its operator (so passes the
documented rules); what it says the services return where their docs are silent is what the simulator does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediagen import naming, param_reference
from airflow_provider_mediagen.catalog import SERVICES

from ..conftest import ROOT, start_simulator

DOC = ROOT / "docs" / "parameters.md"


def _sections(text: str) -> dict[str, str]:
    """``### `ClassName``` heading -> the text up to the next heading."""
    parts = re.split(r"^### `(\w+)`\n", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def test_parameter_reference_is_fresh() -> None:
    assert param_reference.DOC == DOC
    assert param_reference.render() == DOC.read_text(encoding="utf-8"), \
        "docs/parameters.md is stale: run python -m airflow_provider_mediagen.param_reference"
    done = subprocess.run([sys.executable, "-m", "airflow_provider_mediagen.param_reference", "--check"],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_reference_covers_every_operator_and_every_request_field() -> None:
    import inspect

    from airflow_provider_mediagen.operators import OPERATORS, MediaGenerationOperator

    text = DOC.read_text(encoding="utf-8")
    sections = _sections(text)
    expected = {naming.operator_class_name(s, k) for s, spec in SERVICES.items() for k in spec.kinds}
    assert set(sections) == expected
    for (service, kind), cls in OPERATORS.items():
        section = sections[cls.__name__]
        endpoint = SERVICES[service].endpoint(SERVICES[service].kind(kind).submit)
        assert f"`{endpoint.method} {endpoint.path}`" in section
        if endpoint.credit_cost and endpoint.credit_cost.describe():
            assert endpoint.credit_cost.describe() in section
        for name in (*cls.file_fields, *cls.request_fields):
            row = next((line for line in section.splitlines() if line.startswith(f"| `{name}` |")), None)
            assert row is not None, f"{cls.__name__}: no row for {name}"
            info = endpoint.request.model_fields.get(name) if endpoint.request else None
            if info is not None:
                assert f"`{info.alias or name}`" in row  # the API field it maps to
                assert ("required" in row) == info.is_required()
        assert "```python\n" + cls.__name__ + "(" in section
    # Ddukddak templates spell out their layers' keys.
    for key in ("`name`", "`fillColor` (`fill_color`)", "`fontSize` (`font_size`)", "`image_url`"):
        assert key in sections["DdukddakTemplateImageOperator"]
    # Every common parameter, as the base class's signature has it today.
    common = [n for n in inspect.signature(MediaGenerationOperator.__init__).parameters
              if n not in ("self", "request", "kwargs")]
    for name in common:
        assert f"| `{name}` |" in text.split("## Ddukddak")[0], name


def test_the_photoshoot_count_note_is_what_the_service_returns() -> None:
    """Apex photoshoot count=2: one output, 30 credits (the simulator plays the service), as the
    reference says."""
    from airflow_provider_mediagen.client import MediaClient

    note = _sections(DOC.read_text(encoding="utf-8"))["ApexPhotoshootOperator"]
    assert "`count=2` gives one image and is charged 30 credits once" in note
    for server in start_simulator(0.01):
        with MediaClient("apex", "sk_live_demo", base_url=server.urls["apex"], time_scale=0.01) as client:
            job = client.submit("photoshoot", {**param_reference.example_kwargs("apex", "photoshoot"), "count": 2})
            done = client.wait("photoshoot", job.id, timeout=60)
        assert done.succeeded and len(done.output_urls) == 1
        assert done.credits == 30
        assert done.raw["metadata"]["photoCount"] == 2


def _examples(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.DOTALL)


def test_every_example_builds_its_operator() -> None:
    """Each example runs as written inside a DAG: the operator checks every static value against the
    documented rules when it is built, so a wrong example fails here."""
    from airflow.sdk import DAG

    import airflow_provider_mediagen.operators as operators

    examples = _examples(DOC.read_text(encoding="utf-8"))
    assert len(examples) == sum(len(spec.kinds) for spec in SERVICES.values())
    for code in examples:
        namespace: dict[str, Any] = {name: getattr(operators, name) for name in operators.__all__}
        with DAG("param_reference_example", schedule=None):
            task = eval(compile(code, "docs/parameters.md", "eval"), namespace)  # noqa: S307 - our own docs
        assert type(task).__name__ == code.split("(", 1)[0]


def test_a_bad_example_would_fail() -> None:
    """The check above can fail: the same build refuses a value outside the documented bounds."""
    from airflow.sdk import DAG

    from airflow_provider_mediagen.operators import ApexPhotoshootOperator

    with DAG("param_reference_bad", schedule=None), pytest.raises(Exception, match="count"):
        ApexPhotoshootOperator(task_id="p", **{**param_reference.example_kwargs("apex", "photoshoot"), "count": 5})


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    doc = tmp_path / "parameters.md"
    doc.write_text("# stale\n")
    assert param_reference.main(["--check", "--out", str(doc)]) == 1
    assert param_reference.main(["--out", str(doc)]) == 0
    assert param_reference.main(["--check", "--out", str(doc)]) == 0
    assert doc.read_text(encoding="utf-8") == param_reference.render()
