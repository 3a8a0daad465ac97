"""Registering the receiver with a service that takes one account-level webhook URL (Apex:
``POST /api/settings``). The URL carries the connection's receiver token, so it is never returned,
logged or rendered: only its host is."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from .. import naming
from ..catalog import SERVICES
from ..client import MediaGenError
from ..hooks.mediagen import MediaGenHook, hook_for
from ..webhooks.urls import receiver_url

__all__ = ["MediaWebhookRegisterOperator", "register_webhook"]


def register_webhook(hook: MediaGenHook) -> dict[str, Any]:
    """Point the service's account webhook at this connection's receiver; returns a small summary."""
    spec = SERVICES[hook.service]
    if spec.webhook_registration is None:
        raise ValueError(f"{spec.title} takes no account-level webhook URL (per-request URLs are set by the "
                         "operators themselves)" if spec.webhook_payloads else f"{spec.title} sends no webhooks")
    url = receiver_url(hook.settings, hook.conn_id)
    if url is None:
        raise ValueError(f"connection {hook.conn_id!r} has no webhook setup: set its extras webhook_secret and "
                         "webhook_base_url (the public URL of the Airflow API server)")
    endpoint = spec.endpoint(spec.webhook_registration)
    (field,) = endpoint.request.model_fields  # type: ignore[union-attr]
    with hook.get_conn() as client:
        client.call(spec.webhook_registration, {field: url})
    parts = urlsplit(url)
    return {"service": hook.service, "conn_id": hook.conn_id, "registered": True,
            "receiver": f"{parts.scheme}://{parts.netloc}{parts.path}"}


class MediaWebhookRegisterOperator(BaseOperator):
    """Register this Airflow's webhook receiver as the service's account webhook (Apex: job.completed /
    job.failed then wake waiting tasks sooner than polling would).

    :param service: a service with an account-level webhook setting (``apex``).
    :param conn_id: its connection, with extras ``webhook_secret`` and ``webhook_base_url``.
    """

    ui_color = "#f4e3ff"

    def __init__(self, *, service: str = "apex", conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if SERVICES[service].webhook_registration is None:
            raise ValueError(f"{SERVICES[service].title} takes no account-level webhook URL")
        self.service = service
        self.conn_id = conn_id or naming.default_conn_id(service)

    def execute(self, context: Any) -> dict[str, Any]:
        try:
            summary = register_webhook(hook_for(self.service, self.conn_id))
        except (ValueError, MediaGenError) as exc:
            raise AirflowFailException(str(exc)) from None
        self.log.info("Registered %s as the %s webhook", summary["receiver"], self.service)
        return summary
