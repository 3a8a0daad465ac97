"""The receiver's URLs for a connection: the public one handed to a service, and the state endpoint
triggers read. Pure string work, shared by operators, triggers and the CLI."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

from ..client.secrets import Secret
from ..hooks.connection import ConnectionSettings
from .tokens import receiver_token, states_token

__all__ = ["INTENT_ID", "PREFIX", "new_intent_id", "receiver_url", "states_url", "with_intent"]

PREFIX = "/mediagen"
INTENT_ID = re.compile(r"[0-9a-f]{32}")  # what the receiver accepts as a submission's id


def new_intent_id() -> str:
    return uuid.uuid4().hex


def with_intent(url: str, intent_id: str) -> str:
    """A receiver URL that names one submission, so its delivery can say which job the submission
    created even when the submit's own answer was lost."""
    assert INTENT_ID.fullmatch(intent_id)
    return f"{url}&intent={intent_id}"


def _path(settings: ConnectionSettings, conn_id: str) -> str:
    return f"{PREFIX}/webhooks/{settings.service}/{quote(conn_id, safe='')}"


def _token(settings: ConnectionSettings, conn_id: str, *, reading: bool = False) -> str:
    """The delivery token (handed to the service) or, ``reading``, the ``/states`` token (kept inside
    the Airflow deployment); both registered so logs and errors mask them for as long as they are used."""
    assert settings.webhook_secret is not None
    derive = states_token if reading else receiver_token
    token = derive(settings.webhook_secret.get(), settings.service, conn_id)
    Secret(token)  # registered (kept by the registry, see client.secrets) so log lines mask it
    return token


def receiver_url(settings: ConnectionSettings, conn_id: str) -> str | None:
    """The URL a service should POST deliveries to, or None when the connection has no webhook setup."""
    if not (settings.webhook_secret and settings.webhook_base_url):
        return None
    return f"{settings.webhook_base_url}{_path(settings, conn_id)}?token={_token(settings, conn_id)}"


def states_url(settings: ConnectionSettings, conn_id: str) -> str | None:
    """The URL triggers and workers read recorded deliveries from, with the read-only states token
    (the delivery token does not open it), or None when the connection has no webhook setup."""
    base = settings.webhook_internal_url or settings.webhook_base_url
    if not (settings.webhook_secret and base):
        return None
    return f"{base}{_path(settings, conn_id)}/states?token={_token(settings, conn_id, reading=True)}"
