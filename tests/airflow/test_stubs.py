"""The generated operator classes are IDE-friendly: ``operators/__init__.pyi`` is current, and a type
checker reading it accepts documented values and flags undocumented ones, as ``inspect.signature``
does at run time."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_mediagen.operators import ApexImageOperator
from airflow_provider_mediagen.operators.stubs import main as stubs

ROOT = Path(__file__).resolve().parents[2]


def test_stub_is_current() -> None:
    assert stubs(["--check"]) == 0


def test_runtime_signature_is_explicit() -> None:
    params = inspect.signature(ApexImageOperator).parameters
    assert params["width"].default == 1024 and params["prompt"].default is inspect.Parameter.empty
    assert "Text prompt" in (ApexImageOperator.__doc__ or "")


def test_type_checker_sees_the_documented_parameters(tmp_path: Path) -> None:
    sample = tmp_path / "dag_file.py"
    sample.write_text(
        "from airflow_provider_mediagen.operators import ApexImageOperator, FaceDubVideoOperator\n"
        "ApexImageOperator(task_id='ok', prompt='p', width=512, style='flat', deferrable=True)\n"
        "ApexImageOperator(task_id='bad', prompt='p', style='neon')\n"
        "FaceDubVideoOperator(task_id='fd', character_photo='a.jpg', reference_video='b.mp4', duration='5')\n")
    result = subprocess.run([sys.executable, "-m", "mypy", str(sample), "--follow-imports=silent",
                             "--no-incremental", "--cache-dir", str(tmp_path / ".mypy")],
                            capture_output=True, text=True, env={**os.environ, "MYPYPATH": str(ROOT)}, cwd=ROOT)
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, result.stdout
    assert ':3: error: Argument "style"' in errors[0] and ':4: error: Argument "duration"' in errors[1]
