"""Drive the generated n8n package through n8n's own tools: lint, build, and a real n8n that imports a
credential and workflows and executes them (``n8n execute``), all in a private user folder."""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_mediagen.demo.stack import free_port

from .conftest import CONNECTORS, Tools, require


def build_package(tools: Tools, work: Path) -> tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """Copy the generated package, link the cached toolchain in, run ``n8n-node lint`` and ``build``."""
    cli = require(tools.n8n_node_cli, "@n8n/node-cli")
    require(tools.node, "Node 24")
    pkg = work / "package"
    shutil.copytree(CONNECTORS / "n8n", pkg, ignore=shutil.ignore_patterns("node_modules", "dist"))
    (pkg / "node_modules").symlink_to(cli.parents[1])  # <tools>/n8n-node-cli-x/node_modules
    env = tools.env(PATH=f"{cli.parent}{os.pathsep}{tools.env()['PATH']}", CI="1", NO_COLOR="1")
    lint = subprocess.run([str(cli), "lint"], cwd=pkg, env=env, check=False, capture_output=True, text=True, timeout=300)
    build = subprocess.run([str(cli), "build"], cwd=pkg, env=env, check=False, capture_output=True, text=True, timeout=300)
    return pkg, lint, build


@dataclass
class N8nRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        """``--rawOutput`` prints log lines first: the result is the JSON from the first ``{``."""
        start = self.stdout.find("{")
        if start < 0:
            raise AssertionError(f"n8n printed no JSON:\n{self.output[-4000:]}")
        return json.JSONDecoder().raw_decode(self.stdout[start:])[0]


class N8n:
    """A hermetic n8n: its own user folder, database, encryption key and task-broker port."""

    def __init__(self, tools: Tools, package: Path, home: Path) -> None:
        self.binary = require(tools.n8n, "n8n")
        require(tools.node, "Node 24")
        self.home = home
        extensions = home / "extensions" / "n8n-nodes-mediagen"
        shutil.copytree(package / "dist", extensions / "dist")
        shutil.copy(package / "package.json", extensions / "package.json")
        self.env = tools.env(
            N8N_USER_FOLDER=str(home / "user"),
            N8N_CUSTOM_EXTENSIONS=str(extensions),
            N8N_ENCRYPTION_KEY=secrets.token_hex(16),
            N8N_DIAGNOSTICS_ENABLED="false",
            N8N_VERSION_NOTIFICATIONS_ENABLED="false",
            N8N_TEMPLATES_ENABLED="false",
            N8N_PERSONALIZATION_ENABLED="false",
            N8N_RUNNERS_BROKER_PORT=str(free_port()),
            N8N_LOG_LEVEL="info",
            N8N_LOG_OUTPUT="console",
            DB_SQLITE_POOL_SIZE="1",
            N8N_BLOCK_ENV_ACCESS_IN_NODE="false",
        )

    def run(self, *args: str, timeout: float = 240) -> N8nRun:
        proc = subprocess.run([str(self.binary), *args], env=self.env, check=False, capture_output=True, text=True,
                              timeout=timeout, cwd=self.home)
        return N8nRun(proc.returncode, proc.stdout, proc.stderr)

    def import_file(self, kind: str, data: Any, name: str) -> N8nRun:
        path = self.home / f"{name}.json"
        path.write_text(json.dumps(data))
        result = self.run(f"import:{kind}", f"--input={path}")
        assert result.returncode == 0, f"n8n import:{kind} failed:\n{result.output[-4000:]}"
        return result

    def execute(self, workflow_id: str) -> N8nRun:
        return self.run("execute", f"--id={workflow_id}", "--rawOutput")


def workflow(workflow_id: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """A manual-trigger workflow running ``nodes`` in a chain."""
    start = {"id": "start", "name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
             "position": [0, 0], "parameters": {}}
    chain = [start]
    for i, node in enumerate(nodes, 1):
        chain.append({"id": f"n{i}", "typeVersion": 1, "position": [220 * i, 0], **node})
    connections = {a["name"]: {"main": [[{"node": b["name"], "type": "main", "index": 0}]]}
                   for a, b in itertools.pairwise(chain)}
    return {"id": workflow_id, "name": workflow_id, "active": False, "nodes": chain, "connections": connections,
            "settings": {"executionOrder": "v1"}, "pinData": {}}
