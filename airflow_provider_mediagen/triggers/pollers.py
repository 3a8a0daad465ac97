"""The triggerer process's shared pollers: one per (event loop, service, connection), made on a
connection's first wait and released once nothing has waited on it for ``IDLE_RELEASE`` seconds, so a
triggerer that served thousands of connections holds only those in use. A poller reads its connection
again when the service refuses the key, and when a new wait arrives (at most every ``REFRESH_EVERY``
seconds): a changed key or base URL is then used from the next read on, without a restart."""

from __future__ import annotations

import asyncio
import re
import weakref

from ..client.aio import AsyncMediaClient
from ..client.poller import StatusPoller
from ..client.ratelimit import key_fingerprint
from ..hooks.connection import ConnectionSettings
from ..hooks.mediagen import hook_for
from ..webhooks.feed import DeliveryFeed
from ..webhooks.urls import states_url

__all__ = ["shared_poller", "pollers_of_this_loop"]

# Keyed by the loop object itself (not its id, which a later loop may reuse once this one is gone).
_POLLERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], StatusPoller]] = (
    weakref.WeakKeyDictionary())
# One lock per loop for *making* pollers: each new connection costs a lookup whose secret masking is
# synchronous on the loop (Airflow's masker recompiles one regex of every secret masked so far), so
# thousands of triggers of distinct connections starting together would otherwise pay all of it in
# one loop iteration.
_CREATION_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def pollers_of_this_loop() -> dict[tuple[str, str], StatusPoller]:
    return _POLLERS.setdefault(asyncio.get_running_loop(), {})


async def shared_poller(service: str, conn_id: str) -> StatusPoller:
    """The poller every trigger of this connection shares; made on first use, with the connection read
    asynchronously (never a sync lookup on the event loop). A connection with a webhook setup adds the
    receiver's deliveries as a feed; one with a JWT adds the service's status stream (SSE)."""
    key = (service, conn_id)
    pollers = pollers_of_this_loop()
    poller = pollers.get(key)
    if poller is not None and not _stale(poller):
        poller.request_refresh()
        return poller
    lock = _CREATION_LOCKS.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        poller = pollers.get(key)
        if poller is None or _stale(poller):
            hook = hook_for(service, conn_id)
            settings = await hook.asettings()
            client = await hook.aget_client()
            feed_url = states_url(settings, conn_id)

            identity = _identity(settings)

            async def renew() -> AsyncMediaClient | None:
                """A client of the connection when its key or base URL is no longer the one the poller
                reads with (else None)."""
                nonlocal identity
                fresh = hook_for(service, conn_id)
                now = _identity(await fresh.asettings())
                if now == identity:
                    return None
                identity = now
                return await fresh.aget_client()

            def forget(released: StatusPoller) -> None:
                if pollers.get(key) is released:
                    del pollers[key]

            poller = StatusPoller(client, read_share=settings.read_share,
                                  feed=DeliveryFeed(feed_url) if feed_url else None,
                                  stream_token=settings.jwt.get() if settings.jwt else None,
                                  renew=renew, on_release=forget)
            pollers[key] = poller
            # Airflow's masker compiled a regex of every secret so far for this lookup, and CPython's re
            # cache keeps the last 512 of those (each the size of all secrets): with thousands of
            # connections that is most of a triggerer's memory. Nothing reuses them; drop them.
            re.purge()
            # Hand the loop back before the next creation, so other tasks (and running pollers)
            # get a turn between two lookups.
            await asyncio.sleep(0)
    return poller


def _identity(settings: ConnectionSettings) -> tuple[str, str]:
    """What makes a connection another one for reading: its key (by fingerprint) and its base URL."""
    return key_fingerprint(settings.api_key.get()), settings.base_url


def _stale(poller: StatusPoller) -> bool:
    """A released poller, or one whose client was closed, is rebuilt (the connection read again)."""
    return poller.released or poller.client.is_closed
