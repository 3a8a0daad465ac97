"""Counters per service and account, read by tests and benchmarks through ``GET /_sim/counters``.

They are how a test proves a client's behaviour from the vendor's side: how many requests of which
endpoint got which status, how many jobs and credits, how many webhook attempts. Requests without a
valid key are counted under the account name ``anonymous``.

Webhook counters are per HTTP attempt: ``attempted = delivered + failed`` (a retry that succeeds
adds one failed and one delivered attempt).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

ANONYMOUS = "anonymous"


def _account_entry() -> dict[str, Any]:
    return {
        "requests": defaultdict(lambda: defaultdict(int)),
        "jobs_created": 0,
        "credits_charged": 0,
        "credits_refunded": 0,
        "webhooks": {"attempted": 0, "delivered": 0, "failed": 0},
    }


class Counters:
    """Nested counters ``service -> account -> metric``."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, dict[str, Any]]] = {}
        self.reset()

    def reset(self) -> None:
        self._data = {s: defaultdict(_account_entry) for s in ("ddukddak", "apex", "facedub")}

    def request(self, service: str, account: str, endpoint: str, status: int) -> None:
        self._data[service][account]["requests"][endpoint][str(status)] += 1

    def job_created(self, service: str, account: str) -> None:
        self._data[service][account]["jobs_created"] += 1

    def charged(self, service: str, account: str, credits: int) -> None:
        self._data[service][account]["credits_charged"] += credits

    def refunded(self, service: str, account: str, credits: int) -> None:
        self._data[service][account]["credits_refunded"] += credits

    def webhook(self, service: str, account: str, delivered: bool) -> None:
        entry = self._data[service][account]["webhooks"]
        entry["attempted"] += 1
        entry["delivered" if delivered else "failed"] += 1

    def snapshot(self) -> dict[str, Any]:
        """A plain-JSON copy."""
        out: dict[str, Any] = {}
        for service, accounts in self._data.items():
            out[service] = {}
            for name, entry in accounts.items():
                out[service][name] = {
                    "requests": {ep: dict(codes) for ep, codes in entry["requests"].items()},
                    "jobs_created": entry["jobs_created"],
                    "credits_charged": entry["credits_charged"],
                    "credits_refunded": entry["credits_refunded"],
                    "webhooks": dict(entry["webhooks"]),
                }
        return out
