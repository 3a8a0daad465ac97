"""The ``mediagen`` OpenLineage run facet (imported only where the OpenLineage integration is installed:
it needs ``openlineage-python`` and ``attrs``)."""

from __future__ import annotations

from typing import Any

import attrs
from openlineage.client.facet_v2 import RunFacet

__all__ = ["MediaGenRunFacet", "SCHEMA_URL"]

SCHEMA_URL = ("https://raw.githubusercontent.com/airflow-provider-mediagen/airflow-provider-mediagen/main/"
              "docs/openlineage/MediaGenRunFacet.json")


@attrs.define
class MediaGenRunFacet(RunFacet):
    """Which service, kind, model and job made a generation task's outputs, what it cost, and its prompt
    as a hash (the text only where the connection allows it)."""

    service: str
    kind: str
    conn_id: str
    job_id: str | None = None
    status: str = "unknown"
    model: str | None = None
    credits_estimated: float | None = None
    credits_charged: float | None = None
    credits_refunded: float | None = None
    prompt_sha256: dict[str, str] = attrs.field(factory=dict)
    prompt: dict[str, Any] | None = None

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL
