"""Asset names the provider uses, so DAGs can schedule on finished media of a service."""

from __future__ import annotations

from airflow.sdk import Asset

__all__ = ["service_asset"]


def service_asset(service: str, kind: str | None = None) -> Asset:
    """``mediagen://<service>`` (every finished job of the service) or ``mediagen://<service>/<kind>``."""
    return Asset(f"mediagen://{service}" + (f"/{kind}" if kind else ""))
