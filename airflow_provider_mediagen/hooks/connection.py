"""Reading a service's settings out of an Airflow connection, and nothing else: the API key is wrapped
at once so it never reaches a repr, a log line or trigger kwargs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..catalog import SERVICES
from ..client.poller import DEFAULT_READ_SHARE, READ_SHARE_RANGE
from ..client.secrets import Secret

__all__ = ["DEFAULT_READ_SHARE", "READ_SHARE_RANGE", "ConnectionSettings", "settings_from_connection"]

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class ConnectionSettings:
    service: str
    api_key: Secret
    base_url: str
    time_scale: float = 1.0
    webhook_secret: Secret | None = None
    jwt: Secret | None = None
    webhook_base_url: str | None = None
    webhook_internal_url: str | None = None
    require_signature: bool = False
    read_share: float = DEFAULT_READ_SHARE

    def client_options(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "time_scale": self.time_scale}


def _base_url(service: str, host: str | None, port: int | None, schema: str | None, extra: dict[str, Any]) -> str:
    if extra.get("base_url"):
        return str(extra["base_url"]).rstrip("/")
    if not host:
        return SERVICES[service].base_url
    if urlsplit(host).scheme in ("http", "https"):
        return host.rstrip("/")
    scheme = "http" if host in _LOCAL_HOSTS else "https"
    netloc = f"{host}:{port}" if port else host
    path = f"/{schema.strip('/')}" if schema else ""
    return f"{scheme}://{netloc}{path}"


def settings_from_connection(service: str, conn: Any) -> ConnectionSettings:
    """Settings from a connection: password = API key; host (or extra ``base_url``) = base URL, default
    the real service; extras ``webhook_secret``, ``jwt`` (FaceDub SSE), ``webhook_base_url`` (the
    public URL of the Airflow API server, where services deliver webhooks), ``webhook_internal_url``
    (the same server as triggers reach it, if different), ``require_signature`` (only accept
    Standard-Webhooks-signed deliveries), ``read_share`` (the part of the documented read budget the
    triggerer's shared poller may spend, default 0.8) and ``time_scale`` (only for a time-scaled
    simulator)."""
    extra = conn.extra_dejson or {}
    if not conn.password:
        raise ValueError(
            f"connection {conn.conn_id!r} has no API key: put the {SERVICES[service].title} key "
            f"({SERVICES[service].key_prefix}...) in its password field")
    secret_extra = {k: Secret(str(extra[k])) for k in ("webhook_secret", "jwt") if extra.get(k)}
    return ConnectionSettings(
        service=service,
        api_key=Secret(conn.password),
        base_url=_base_url(service, conn.host, conn.port, conn.schema, extra),
        time_scale=float(extra.get("time_scale") or 1.0),
        webhook_secret=secret_extra.get("webhook_secret"),
        jwt=secret_extra.get("jwt"),
        webhook_base_url=(str(extra["webhook_base_url"]).rstrip("/") if extra.get("webhook_base_url") else None),
        webhook_internal_url=(str(extra["webhook_internal_url"]).rstrip("/")
                              if extra.get("webhook_internal_url") else None),
        require_signature=str(extra.get("require_signature", "")).lower() in ("1", "true", "yes"),
        read_share=_read_share(conn.conn_id, extra.get("read_share")),
    )


def _read_share(conn_id: str, value: Any) -> float:
    if value in (None, ""):
        return DEFAULT_READ_SHARE
    try:
        share = float(value)
    except (TypeError, ValueError):
        share = float("nan")
    low, high = READ_SHARE_RANGE
    if not low <= share <= high:  # NaN fails too
        raise ValueError(f"connection {conn_id!r}: extra read_share must be a number from {low} to {high} "
                         f"(a part of the documented read budget), got {value!r}")
    return share
