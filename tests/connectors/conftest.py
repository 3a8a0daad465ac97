"""Fixtures of the connector tests: the generated tree, the cached runtimes, a simulator.

Runtimes (Node 24, n8n, @n8n/node-cli, zapier-platform) are installed by
``scripts/setup-connector-runtimes.sh`` under ``${MEDIAGEN_TOOLS:-~/.cache/mediagen-tools}``; the script
itself says where each one lives (``--print-env``), so the versions are written down once. A test
that needs a runtime FAILS (never skips) when it is missing.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The generated tree under test: the committed one, or (``MEDIAGEN_CONNECTORS_DIR``) a tree built with more
#: services on the path (tests/fourth).
CONNECTORS = Path(os.environ.get("MEDIAGEN_CONNECTORS_DIR") or ROOT / "connectors")
SETUP_SCRIPT = ROOT / "scripts" / "setup-connector-runtimes.sh"
SETUP_HINT = f"install the connector runtimes first: {SETUP_SCRIPT.relative_to(ROOT)} (cached, idempotent)"


@dataclass(frozen=True)
class Tools:
    root: Path
    node: Path
    n8n: Path
    n8n_node_cli: Path
    zapier: Path

    @property
    def node_bin(self) -> Path:
        return self.node.parent

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{self.node_bin}{os.pathsep}{env.get('PATH', '')}"
        env.update(NO_UPDATE_NOTIFIER="1", DISABLE_ZAPIER_ANALYTICS="1", npm_config_update_notifier="false")
        env.update(extra)
        return env


@lru_cache(maxsize=1)
def tools() -> Tools:
    out = subprocess.run(["bash", str(SETUP_SCRIPT), "--print-env"], capture_output=True, text=True, check=True)
    values = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return Tools(root=Path(values["MEDIAGEN_TOOLS"]), node=Path(values["NODE24"]), n8n=Path(values["N8N"]),
                 n8n_node_cli=Path(values["N8N_NODE_CLI"]), zapier=Path(values["ZAPIER"]))


def require(path: Path, what: str) -> Path:
    """The runtime at ``path``, or a failed test that says how to install it."""
    marker = next((p / ".mediagen-complete" for p in path.parents if (p / ".mediagen-complete").exists()), None)
    if not path.exists() or marker is None:
        pytest.fail(f"{what} is not installed at {path}: {SETUP_HINT}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def runtime_tools() -> Tools:
    return tools()


@pytest.fixture(scope="module")
def sim() -> Iterator[object]:
    from tests.conftest import start_simulator

    yield from start_simulator(time_scale=0.01)
