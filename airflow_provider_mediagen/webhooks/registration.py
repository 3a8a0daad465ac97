"""Pointing a service's account-level webhook (the catalog's ``Service.webhook_registration``) at this
connection's receiver. The URL carries the connection's receiver token, so it is never returned, logged
or rendered: only its host is. Used by the ``mediagen webhook register`` command and the register
operator (which imports it: the webhooks package imports nothing of the operators)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..catalog import SERVICES
from ..hooks.mediagen import MediaGenHook
from .urls import receiver_url

__all__ = ["register_webhook"]


def register_webhook(hook: MediaGenHook) -> dict[str, Any]:
    """Point the service's account webhook at this connection's receiver; returns a small summary."""
    entry = SERVICES[hook.service]
    if entry.webhook_registration is None:
        raise ValueError(f"{entry.title} takes no account-level webhook URL (per-request URLs are set by the "
                         "operators themselves)" if entry.webhook is not None else f"{entry.title} sends no webhooks")
    url = receiver_url(hook.settings, hook.conn_id)
    if url is None:
        raise ValueError(f"connection {hook.conn_id!r} has no webhook setup: set its extras webhook_secret and "
                         "webhook_base_url (the public URL of the Airflow API server)")
    endpoint = entry.endpoint(entry.webhook_registration)
    (field,) = endpoint.request.model_fields  # type: ignore[union-attr]
    with hook.get_conn() as client:
        client.call(entry.webhook_registration, {field: url})
    parts = urlsplit(url)
    return {"service": hook.service, "conn_id": hook.conn_id, "registered": True,
            "receiver": f"{parts.scheme}://{parts.netloc}{parts.path}"}
