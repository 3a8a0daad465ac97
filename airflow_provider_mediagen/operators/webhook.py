"""The operator that registers the receiver with a service taking one account-level webhook URL (the
registration itself is :func:`..webhooks.registration.register_webhook`)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook, BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from .. import naming
from ..catalog import SERVICES
from ..client import MediaGenError
from ..hooks.mediagen import hook_for
from ..webhooks.registration import register_webhook

__all__ = ["MediaWebhookRegisterOperator", "register_webhook"]  # register_webhook: re-exported


def _registrable(service: str) -> None:
    if SERVICES[service].webhook_registration is None:
        takes = ", ".join(name for name, entry in SERVICES.items() if entry.webhook_registration is not None)
        raise ValueError(f"{SERVICES[service].title} takes no account-level webhook URL (services that do: {takes})")


def _service_of(conn_id: str) -> str:
    """The service a connection is for, read from its type (``mediagen_<service>``)."""
    actual = str(BaseHook.get_connection(conn_id).conn_type or "").replace("-", "_")
    found = next((name for name in SERVICES if naming.conn_type(name) == actual), None)
    if found is None:
        raise ValueError(f"connection {conn_id!r} is of type {actual!r}, not a media-generation service's "
                         f"({', '.join(naming.conn_type(name) for name in SERVICES)}): pass service=")
    return found


class MediaWebhookRegisterOperator(BaseOperator):
    """Register this Airflow's webhook receiver as the service's account webhook (its job events then
    wake waiting tasks sooner than polling would).

    :param service: a service with an account-level webhook setting; when not given, the service of
        ``conn_id``'s connection type (read when the task runs, not when the DAG is parsed).
    :param conn_id: its connection, with extras ``webhook_secret`` and ``webhook_base_url``.
    """

    ui_color = "#f4e3ff"

    def __init__(self, *, service: str | None = None, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if service is None and conn_id is None:
            raise ValueError(f"{self.task_id}: name the service (service=) or its connection (conn_id=)")
        if service is not None:
            _registrable(service)
        self.service = service
        self.conn_id = conn_id or naming.default_conn_id(service)  # type: ignore[arg-type]

    def execute(self, context: Any) -> dict[str, Any]:
        try:
            service = self.service or _service_of(self.conn_id)
            _registrable(service)
            summary = register_webhook(hook_for(service, self.conn_id))
        except (ValueError, MediaGenError) as exc:
            raise AirflowFailException(str(exc)) from None
        self.log.info("Registered %s as the %s webhook", summary["receiver"], service)
        return summary
