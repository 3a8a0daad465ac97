"""What one connection costs a triggerer as connections accumulate in it: Airflow's part and the provider's.

``BaseHook.aget_connection`` masks each connection's password and extra (``amask_secret``), and Airflow's
``SecretsMasker.add_mask`` then recompiles one regex of *every* secret masked so far
(``re.compile("|".join(patterns))``), so a lookup at n registered secrets costs O(n), and n lookups O(n^2).
In a triggerer the same secret is also sent to the supervisor process, whose masker does the same.

Measured here, per lookup, at 100 / 1,000 / 5,000 secrets already registered (they are registered in one
go, so reaching 5,000 does not itself take the hour the quadratic path would):

- **Airflow's**: one ``aget_connection`` of a new connection (env-variable secrets backend, as the
  triggerer consults first), masking included; and the masking alone (``add_mask`` of the new password);
- **the provider's**: everything the provider does for a new connection once Airflow has answered (its
  settings parsed from the connection, a client with its pool and rate limiters, the shared poller), with
  the lookup itself taken out.

Run: ``.venv/bin/python -m benchmarks.mask_cost [n ...]`` (default 100 1000 5000).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import statistics
import sys
import time
from typing import Any

REPEATS = 7


def _register(masker: Any, n: int) -> None:
    """``n`` distinct secrets in the masker, compiled once (as n earlier lookups would have left it)."""
    masker.reset_masker()
    masker.patterns.update(re.escape("fdb_" + secrets.token_hex(16)) for _ in range(n))
    masker.replacer = re.compile("|".join(masker.patterns))


async def _measure(n: int) -> dict[str, float]:
    from airflow.sdk import BaseHook
    from airflow.sdk._shared.secrets_masker.secrets_masker import _secrets_masker

    from airflow_provider_mediagen.hooks.connection import settings_from_connection
    from airflow_provider_mediagen.triggers.pollers import pollers_of_this_loop, shared_poller

    masker = _secrets_masker()
    lookup, mask, ours = [], [], []
    for i in range(REPEATS):
        _register(masker, n)
        conn_id = f"mask_cost_{n}_{i}"
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({
            "conn_type": "mediagen_facedub", "password": "fdb_" + secrets.token_hex(16),
            "host": "http://127.0.0.1:9/facedub", "extra": {"time_scale": 0.05}})
        t0 = time.perf_counter()
        conn = await BaseHook.aget_connection(conn_id)
        lookup.append(time.perf_counter() - t0)

        _register(masker, n)
        t0 = time.perf_counter()
        masker.add_mask("fdb_" + secrets.token_hex(16))
        mask.append(time.perf_counter() - t0)

        # The provider's part: the same connection again, Airflow's answer handed over (no lookup).
        async def answered(*_: Any, _conn: Any = conn) -> Any:
            return _conn

        original = BaseHook.aget_connection
        BaseHook.aget_connection = answered  # type: ignore[method-assign,assignment]
        try:
            t0 = time.perf_counter()
            settings_from_connection("facedub", conn)
            poller = await shared_poller("facedub", conn_id)
            ours.append(time.perf_counter() - t0)
        finally:
            BaseHook.aget_connection = original  # type: ignore[method-assign]
        await poller.client.aclose()
        pollers_of_this_loop().clear()
    return {"lookup_ms": statistics.median(lookup) * 1000, "mask_ms": statistics.median(mask) * 1000,
            "ours_ms": statistics.median(ours) * 1000}


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [100, 1_000, 5_000]
    print("| secrets already registered | Airflow: one connection lookup ms (masking included) | "
          "Airflow: masking one new secret ms | provider: settings + client + poller ms |")
    print("|---|---|---|---|")
    for n in sizes:
        r = asyncio.run(_measure(n))
        print(f"| {n:,} | {r['lookup_ms']:.1f} | {r['mask_ms']:.1f} | {r['ours_ms']:.2f} |", flush=True)
    print(f"(median of {REPEATS}; a triggerer also sends each secret to its supervisor, whose masker pays again)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
