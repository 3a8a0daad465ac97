"""Cutting a client's connection from inside the app, for the faults that must look like a network
failure (``drop``, ``lose_response``, ``truncate``) rather than an HTTP answer.

uvicorn's ``send`` is a bound method of its request cycle, which holds the socket transport; the
app stashes that raw ``send`` in the scope (``app.py``), because Starlette's middleware stack wraps
``send`` before any middleware of ours could see the original.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.types import Scope

#: How long :func:`abort_connection` waits for already-written bytes to leave the process.
DRAIN_TIMEOUT = 5.0


def _transport(scope: Scope) -> Any:
    raw_send = scope.get("sim.raw_send")
    return getattr(getattr(raw_send, "__self__", None), "transport", None)


async def abort_connection(scope: Scope, drain: bool = False) -> bool:
    """Abort the client connection; False when the server gives no access to its transport.

    With ``drain``, bytes already written (a truncated body) are first let out of the transport's
    buffer, which ``abort`` would otherwise discard, so the client really receives them. Yielding
    once afterwards lets uvicorn notice the disconnect, so it does not try to write a 500.
    """
    transport = _transport(scope)
    if transport is None:
        return False
    if drain:
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while transport.get_write_buffer_size() > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
    transport.abort()
    await asyncio.sleep(0)
    return True
