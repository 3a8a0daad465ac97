"""Hooks: a connection turned into a client, sync for workers and async for triggers.

One class serves every service; the per-service classes (``<Service>Hook``, one per catalog
service) are made from the catalog so each connection type has its hook, and a new catalog
service gets one without an edit here.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from airflow.sdk import BaseHook

from .. import naming
from ..catalog import SERVICES
from ..client import AsyncMediaClient, MediaClient, MediaGenError
from .connection import ConnectionSettings, settings_from_connection

__all__ = ["MediaGenHook", "hook_for"]


class MediaGenHook(BaseHook):
    """Access to one media-generation service through an Airflow connection.

    :param conn_id: the connection (default ``mediagen_<service>_default``); its password is the API key,
        its host (or extra ``base_url``) the base URL, default the real service.
    :param service: a name in ``catalog.SERVICES`` (set by the per-service subclasses).
    """

    conn_name_attr = "conn_id"
    service_name: ClassVar[str] = ""
    default_conn_name: ClassVar[str] = ""
    conn_type: ClassVar[str] = ""
    hook_name: ClassVar[str] = "Media generation"

    def __init__(self, conn_id: str | None = None, *, service: str | None = None, **client_options: Any) -> None:
        super().__init__()
        self.service = service or self.service_name
        if self.service not in SERVICES:
            raise ValueError(f"unknown service {self.service!r} (known: {', '.join(SERVICES)})")
        self.conn_id = conn_id or naming.default_conn_id(self.service)
        self._client_options = client_options

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r}, service={self.service!r})"

    # --- settings -------------------------------------------------------------------------------

    @cached_property
    def settings(self) -> ConnectionSettings:
        return settings_from_connection(self.service, self.get_connection(self.conn_id))

    async def asettings(self) -> ConnectionSettings:
        """Connection settings read without blocking the event loop (triggers must use this)."""
        if "settings" not in self.__dict__:
            self.__dict__["settings"] = settings_from_connection(self.service, await self.aget_connection(self.conn_id))
        return self.__dict__["settings"]

    # --- clients --------------------------------------------------------------------------------

    def get_conn(self) -> MediaClient:
        """A sync client (the caller closes it, or uses it as a context manager)."""
        settings = self.settings
        return MediaClient(self.service, settings.api_key.get(), **{**settings.client_options(), **self._client_options})

    get_client = get_conn

    async def aget_client(self) -> AsyncMediaClient:
        settings = await self.asettings()
        return AsyncMediaClient(self.service, settings.api_key.get(),
                                **{**settings.client_options(), **self._client_options})

    def test_connection(self) -> tuple[bool, str]:
        """The cheapest documented read that proves the key works (the catalog's ``check_endpoint``)."""
        try:
            with self.get_conn() as client:
                client.check()
        except (MediaGenError, ValueError) as exc:
            return False, str(exc)
        endpoint = SERVICES[self.service].check_endpoint
        return True, f"{SERVICES[self.service].title}: the key works ({endpoint} answered)"


def _service_hook(service: str) -> type[MediaGenHook]:
    entry = SERVICES[service]
    return type(naming.hook_class_name(service), (MediaGenHook,), {
        "__module__": __name__,
        "__doc__": f"{MediaGenHook.__doc__.splitlines()[0]} Bound to {entry.title}.",  # type: ignore[union-attr]
        "service_name": service,
        "default_conn_name": naming.default_conn_id(service),
        "conn_type": naming.conn_type(service),
        "hook_name": f"{entry.title} (media generation)",
    })


_HOOKS: dict[str, type[MediaGenHook]] = {service: _service_hook(service) for service in SERVICES}
globals().update({cls.__name__: cls for cls in _HOOKS.values()})
__all__ += [cls.__name__ for cls in _HOOKS.values()]


def hook_for(service: str, conn_id: str | None = None) -> MediaGenHook:
    return _HOOKS[service](conn_id)
