"""airflow-provider-mediagen: AI media generation (Ddukddak, Apex Studio, FaceDub) as dependable
pipeline steps. This module stays import-light: the catalog and client never import Airflow."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "get_provider_info"]


def get_provider_info() -> dict:
    """Airflow's provider entry point (lazy: Airflow calls it, DAG files never pay for it)."""
    from .provider_info import get_provider_info as _info

    return _info()
