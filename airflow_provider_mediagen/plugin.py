"""The provider's Airflow plugin: the operator extra link, and the webhook receiver mounted on the
Airflow 3 API server under ``/mediagen`` (``/mediagen/webhooks/{service}/{conn_id}``)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from .operators.links import MediaOutputLink
from .webhooks.app import create_receiver_app
from .webhooks.urls import PREFIX


class MediaGenPlugin(AirflowPlugin):
    name = "mediagen"
    operator_extra_links = [MediaOutputLink()]
    fastapi_apps = [{"app": create_receiver_app(), "url_prefix": PREFIX, "name": "mediagen webhook receiver"}]
