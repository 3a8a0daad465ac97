"""The generic layers name no service: what a service is lives in its catalog module (and, for the
simulator, its own module), so a fourth service needs no edit above the catalog."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import airflow_provider_mediagen
from airflow_provider_mediagen import naming
from airflow_provider_mediagen.catalog import SERVICES

PACKAGE = Path(airflow_provider_mediagen.__file__).parent
GENERIC = ("client", "operators", "triggers", "webhooks", "connectors", "hooks", "sensors")


def _names() -> re.Pattern[str]:
    words = {name for name in SERVICES} | {naming.service_prefix(name) for name in SERVICES}
    return re.compile(r"\b(" + "|".join(sorted(map(re.escape, words))) + r")", re.IGNORECASE)


def _sources(layer: str) -> list[Path]:
    # Generated files (the operators' .pyi stubs) list every service by design; sources and templates do not.
    return sorted(p for p in (PACKAGE / layer).rglob("*") if p.suffix in (".py", ".j2"))


@pytest.mark.parametrize("layer", GENERIC)
def test_no_service_is_named_in_a_generic_layer(layer: str) -> None:
    pattern = _names()
    found = [f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
             for path in _sources(layer)
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(line)]
    assert _sources(layer), f"no sources found in {layer}"
    assert not found, "service names in a generic layer:\n" + "\n".join(found)


def test_the_check_sees_a_service_name_when_one_is_written() -> None:
    name = next(iter(SERVICES))
    assert _names().search(f'default = "{name}"') and _names().search(f"({naming.service_prefix(name)}: 24 h)")
