"""Reading a service's settings out of an Airflow connection, and nothing else: the API key is wrapped
at once so it never reaches a repr, a log line or trigger kwargs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..catalog import SERVICES
from ..client.poller import DEFAULT_READ_SHARE, READ_SHARE_RANGE
from ..client.secrets import Secret
from ..naming import conn_type

__all__ = ["DEFAULT_READ_SHARE", "READ_SHARE_RANGE", "ConnectionConfigError", "ConnectionSettings",
           "settings_from_connection"]


class ConnectionConfigError(ValueError):
    """The connection cannot be used as it is (wrong type, no key, a bad extra): retrying cannot help,
    so operators fail the task at once, before any request."""

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
    #: the secret before the last rotation, accepted for deliveries (never for ``/states``) until
    #: ``previous_webhook_secret_until`` (epoch seconds): deliveries already promised to the old URL
    previous_webhook_secret: Secret | None = None
    previous_webhook_secret_until: float = 0.0
    #: Redis holding one rate budget per key for every process (it may hold a password: a Secret)
    rate_limit_url: Secret | None = None
    #: OpenLineage events may carry the prompt text itself (else only its SHA-256)
    lineage_prompt_text: bool = False

    def client_options(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "time_scale": self.time_scale,
                "rate_limit_url": self.rate_limit_url.get() if self.rate_limit_url else None}


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
    the real service; extras ``webhook_secret``, ``jwt`` (for a status stream), ``webhook_base_url`` (the
    public URL of the Airflow API server, where services deliver webhooks), ``webhook_internal_url``
    (the same server as triggers reach it, if different), ``require_signature`` (only accept
    Standard-Webhooks-signed deliveries), ``read_share`` (the part of the documented read budget the
    triggerer's shared poller may spend, default 0.8) and ``time_scale`` (only for a time-scaled
    simulator)."""
    _check_conn_type(service, conn)
    extra = conn.extra_dejson or {}
    if not conn.password:
        raise ConnectionConfigError(
            f"connection {conn.conn_id!r} has no API key: put the {SERVICES[service].title} key "
            f"({SERVICES[service].key_prefix}...) in its password field")
    secret_extra = {k: Secret(str(extra[k])) for k in ("webhook_secret", "jwt") if extra.get(k)}
    if "jwt" in secret_extra:
        _mask_in_airflow(secret_extra["jwt"].get())
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
        lineage_prompt_text=str(extra.get("lineage_prompt_text", "")).lower() in ("1", "true", "yes"),
        read_share=_read_share(conn.conn_id, extra.get("read_share")),
        rate_limit_url=_rate_limit_url(conn.conn_id, extra.get("rate_limit_url")),
        **_previous_secret(conn.conn_id, extra),
    )


def _rate_limit_url(conn_id: str, value: Any) -> Secret | None:
    """``redis://`` or ``rediss://`` (TLS), checked when the connection is read, before any request."""
    if not value:
        return None
    url = str(value).strip()
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConnectionConfigError(
            f"connection {conn_id!r}: extra rate_limit_url must be a Redis URL (redis://host:6379/0, "
            "rediss:// for TLS, unix:///path/redis.sock)")
    if urlsplit(url).password:
        _mask_in_airflow(url)
    return Secret(url)


def _previous_secret(conn_id: str, extra: dict[str, Any]) -> dict[str, Any]:
    """Extras ``webhook_secret_previous`` and ``webhook_secret_previous_until`` (ISO 8601 or epoch
    seconds): a rotated secret's grace, stated by whoever rotated it. Without a readable end there is no
    grace: an old secret accepted for ever would defeat the rotation."""
    previous = extra.get("webhook_secret_previous")
    if not previous:
        return {}
    raw = extra.get("webhook_secret_previous_until")
    try:
        until = float(raw) if isinstance(raw, (int, float)) or str(raw).replace(".", "", 1).isdigit() \
            else datetime.fromisoformat(str(raw).replace("Z", "+00:00")).timestamp()
    except (TypeError, ValueError):
        raise ConnectionConfigError(
            f"connection {conn_id!r}: webhook_secret_previous needs webhook_secret_previous_until, the end of "
            f"its grace (ISO 8601 or epoch seconds), got {raw!r}") from None
    return {"previous_webhook_secret": Secret(str(previous)), "previous_webhook_secret_until": until}


def _check_conn_type(service: str, conn: Any) -> None:
    """Refuse a connection of another type before its password is sent anywhere: without this check
    ``conn_id="postgres_default"`` would send the database password as a Bearer token to the service's
    default host. URI-style types (``mediagen-<service>://``) are normalized as Airflow does (``-`` -> ``_``)."""
    expected = conn_type(service)
    actual = str(conn.conn_type or "").replace("-", "_")
    if actual != expected:
        raise ConnectionConfigError(
            f"connection {conn.conn_id!r} is of type {conn.conn_type!r}, not {expected!r}: a "
            f"{SERVICES[service].title} operator only uses {expected} connections, so nothing was sent "
            f"(create one with conn_type {expected!r}, or pass conn_id= of one)")


def _mask_in_airflow(value: str) -> None:
    """Have Airflow's own masker hide ``value`` in task and trigger logs. Airflow masks an extra only
    when its key names a secret (``[core] sensitive_var_conn_names`` and its defaults: "secret",
    "token"...); ``jwt`` names none, so it is masked here by value. Where a sync send to the supervisor
    would deadlock (the triggerer's loop with a request in flight), the local mask is already in place."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # not inside an Airflow installation
        return
    try:
        from airflow.sdk.execution_time.comms import DeadlockImminentError
        deadlock: tuple[type[BaseException], ...] = (DeadlockImminentError,)
    except ImportError:  # an SDK without it: nothing to tolerate, and the mask is still added
        deadlock = ()
    try:
        mask_secret(value)
    except deadlock:  # a BaseException on purpose; the local mask was added before the send
        pass


def _read_share(conn_id: str, value: Any) -> float:
    if value in (None, ""):
        return DEFAULT_READ_SHARE
    try:
        share = float(value)
    except (TypeError, ValueError):
        share = float("nan")
    low, high = READ_SHARE_RANGE
    if not low <= share <= high:  # NaN fails too
        raise ConnectionConfigError(f"connection {conn_id!r}: extra read_share must be a number from {low} to "
                                    f"{high} (a part of the documented read budget), got {value!r}")
    return share
