"""The provider's Airflow plugin: the operator extra link, and one app mounted on the Airflow 3 API server
under ``/mediagen``: the webhook receiver (``/mediagen/webhooks/{service}/{conn_id}``) and the credits
ledger (``/mediagen/credits``, behind Airflow's authentication and the user's DAG permissions), and
the Credits page (``/mediagen/credits/page``, under Browse in the UI)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI

from .ledger.api import credits_router
from .ledger.page import PAGE_PATH
from .operators.links import MediaOutputLink
from .webhooks.app import create_receiver_app
from .webhooks.urls import PREFIX


def _app() -> FastAPI:
    app = create_receiver_app()
    app.include_router(credits_router())
    return app


class MediaGenPlugin(AirflowPlugin):
    name = "mediagen"
    operator_extra_links = [MediaOutputLink()]
    fastapi_apps = [{"app": _app(), "url_prefix": PREFIX, "name": "mediagen webhook receiver and credits ledger"}]
    # The Credits page in the UI's Browse menu, shown in the UI's frame (same origin: the UI's session).
    external_views = [{"name": "Credits", "href": f"{PREFIX}{PAGE_PATH}", "destination": "nav",
                       "category": "browse", "url_route": "mediagen-credits"}]
