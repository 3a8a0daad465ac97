"""The README's operator table is generated from the catalog and must not go stale."""

from __future__ import annotations

import subprocess
import sys

from airflow_provider_mediagen import naming, readme_table
from airflow_provider_mediagen.catalog import SERVICES

from ..conftest import ROOT


def test_readme_operator_table_is_fresh() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_table.updated(text) == text, \
        "README.md's operator table is stale: run python -m airflow_provider_mediagen.readme_table"
    done = subprocess.run([sys.executable, "-m", "airflow_provider_mediagen.readme_table", "--check"],
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr


def test_table_lists_every_operator_class_of_the_catalog() -> None:
    table = readme_table.render_table()
    for service, spec in SERVICES.items():
        for kind in spec.kinds:
            assert f"| `{naming.operator_class_name(service, kind)}` |" in table
    assert "`MediaJobSensor`" in table


def test_check_fails_on_a_stale_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{readme_table.BEGIN}\n| old |\n{readme_table.END}\nrest\n")
    assert readme_table.main(["--check", "--readme", str(readme)]) == 1
    assert readme_table.main(["--readme", str(readme)]) == 0
    assert readme_table.main(["--check", "--readme", str(readme)]) == 0
    assert readme.read_text().endswith("rest\n")


def test_readme_ten_line_dag_is_ten_lines_and_parses() -> None:
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## A ten-line DAG\n\n```python\n(.*?)```", text, re.DOTALL).group(1)  # type: ignore[union-attr]
    assert len(code.strip().splitlines()) <= 10
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["image"].task_id == "thumbnail"  # type: ignore[attr-defined]
