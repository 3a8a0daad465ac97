"""The triggerer process's shared pollers: one per (event loop, service, connection)."""

from __future__ import annotations

import asyncio

from ..client.poller import StatusPoller
from ..hooks.mediagen import hook_for

__all__ = ["shared_poller"]

_POLLERS: dict[tuple[int, str, str], StatusPoller] = {}
_LOCKS: dict[tuple[int, str, str], asyncio.Lock] = {}


async def shared_poller(service: str, conn_id: str) -> StatusPoller:
    """The poller every trigger of this connection shares; made on first use, with the connection read
    asynchronously (never a sync lookup on the event loop)."""
    key = (id(asyncio.get_running_loop()), service, conn_id)
    poller = _POLLERS.get(key)
    if poller is not None and not _stale(poller):
        return poller
    lock = _LOCKS.setdefault(key, asyncio.Lock())
    async with lock:
        poller = _POLLERS.get(key)
        if poller is None or _stale(poller):
            client = await hook_for(service, conn_id).aget_client()
            poller = StatusPoller(client)
            _POLLERS[key] = poller
    return poller


def _stale(poller: StatusPoller) -> bool:
    """A poller whose loop ended (idle) and whose client was closed is rebuilt, so a rotated key or a
    new base URL is picked up."""
    return poller.client._http.is_closed
