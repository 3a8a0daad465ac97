"""The top-level ``connectors/README.md``: what was generated, from what, and what cannot be expressed."""

from __future__ import annotations

from .render import render_template
from .spec import ServiceSpec


def render(specs: list[ServiceSpec]) -> dict[str, str]:
    return {"README.md": render_template("common/README.md.j2", specs=specs)}
