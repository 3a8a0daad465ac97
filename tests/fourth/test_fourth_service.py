"""A fourth service is one catalog module and one simulator module: proven with a made-up one.

``tests/fourth/plugin`` holds Lumen Stills (docs: ``lumen-api.md``): a catalog module, a simulator
module and the entry points that register them, as a separate distribution would ship them. These tests
put that folder on ``PYTHONPATH`` of fresh processes and nothing else; the package is not edited. In
them, ``inner_fourth.py`` checks operators, hooks, the client, the shared poller, a deferred task whose
callback the receiver accepts, and the generated docs; the connector tests validate its n8n node,
Zapier app, Make app and OpenAPI spec like the other services'. ``pytest -k fourth`` runs them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from airflow_provider_mediagen.catalog import SERVICES
from airflow_provider_mediagen.simulator.registry import registered

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
PLUGIN = HERE / "plugin"


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def _pytest(*args: str, env: dict[str, str], timeout: float) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def _passed(output: str) -> int:
    found = re.search(r"(\d+) passed", output)
    return int(found.group(1)) if found else 0


def test_fourth_service_is_not_in_the_package() -> None:
    """The proof means something only if the package itself does not know the service."""
    assert "lumen" not in SERVICES and "lumen" not in registered()
    package = ROOT / "airflow_provider_mediagen"
    assert not [p for p in package.rglob("*.py") if "lumen" in p.read_text(encoding="utf-8").lower()]


def test_fourth_service_works_end_to_end_from_its_two_modules() -> None:
    code, output = _pytest(str(HERE / "inner_fourth.py"), env=_env(), timeout=900)
    assert code == 0 and _passed(output) == 6, output[-8000:]


def test_fourth_service_connectors_are_generated_and_validated_like_the_others(tmp_path: Path) -> None:
    out = tmp_path / "connectors"
    build = subprocess.run([sys.executable, "-m", "airflow_provider_mediagen.connectors.cli", "build", "--out", str(out)],
                           cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    for made in ("n8n/nodes/Lumen/Lumen.node.ts", "zapier/lumen/index.js", "make/lumen/makecomapp.json",
                 "openapi/lumen.openapi.json"):
        assert (out / made).is_file(), made
    selected = ["tests/connectors/test_n8n.py", "tests/connectors/test_zapier.py", "tests/connectors/test_make.py",
                "tests/connectors/test_openapi.py", "-k", "lumen or lint_passes or build_passes or every_service"]
    code, output = _pytest(*selected, env=_env(MEDIAGEN_CONNECTORS_DIR=str(out)), timeout=1800)
    assert code == 0, output[-8000:]
    ran = re.findall(r"(test_\w+)\[lumen", subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *selected], cwd=ROOT,
        env=_env(MEDIAGEN_CONNECTORS_DIR=str(out)), capture_output=True, text=True, timeout=300).stdout)
    # Each platform's per-service checks ran for the fourth service (and n8n's lint and build of the package).
    assert {"test_core_validate_reports_nothing", "test_cli_validate_passes", "test_files_validate_against_make_schemas",
            "test_spec_is_valid_openapi_31", "test_schemathesis_finds_no_nonconforming_response"} <= set(ran), ran
    assert _passed(output) >= len(ran) + 3, output[-3000:]
