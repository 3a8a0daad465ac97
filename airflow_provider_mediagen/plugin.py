"""The provider's Airflow plugin: registers the extra link (and, with webhooks, the receiver app)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from .operators.links import MediaOutputLink


class MediaGenPlugin(AirflowPlugin):
    name = "mediagen"
    operator_extra_links = [MediaOutputLink()]
