"""Counters per service and account, read by tests and benchmarks through ``GET /_sim/counters``.

They are how a test proves a client's behaviour from the vendor's side: how many requests of which
endpoint got which status, how many jobs and credits, how many webhook attempts. Requests without a
valid key are counted under the account name ``anonymous``.

Webhook counters are per HTTP attempt: ``attempted = delivered + failed`` (a retry that succeeds
adds one failed and one delivered attempt). ``withheld`` counts deliveries to a host beyond this machine
that were recorded and not sent (``deliver_public_webhooks`` off): they make no attempt.

The fault counters say how often a money-relevant fault hit (``faults.py``): ``responses_lost``
(answers thrown away after the handler ran), ``downloads_truncated``, ``urls_expired`` (counted
under the account of the job that made the file) and ``webhooks_forged`` (forged deliveries; they
are not webhook attempts of the service). ``attacker_hits`` is not per service (the snapshot keeps its
service -> account shape): every fetch of the attacker endpoint ``/_sim/attacker/...``, whoever fetched
it, read through ``GET /_sim/attacker_hits``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .registry import registered

ANONYMOUS = "anonymous"

#: Per-account counters of faults, in snapshot order.
FAULT_COUNTERS = ("responses_lost", "downloads_truncated", "urls_expired", "webhooks_forged")


def _account_entry() -> dict[str, Any]:
    return {
        "requests": defaultdict(lambda: defaultdict(int)),
        "jobs_created": 0,
        "credits_charged": 0,
        "credits_refunded": 0,
        "webhooks": {"attempted": 0, "delivered": 0, "failed": 0, "withheld": 0},
        **dict.fromkeys(FAULT_COUNTERS, 0),
    }


class Counters:
    """Nested counters ``service -> account -> metric``."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, dict[str, Any]]] = {}
        self.attacker_hits = 0
        self.reset()

    def reset(self) -> None:
        self._data = {s: defaultdict(_account_entry) for s in registered()}
        self.attacker_hits = 0

    def request(self, service: str, account: str, endpoint: str, status: int) -> None:
        self._data[service][account]["requests"][endpoint][str(status)] += 1

    def job_created(self, service: str, account: str) -> None:
        self._data[service][account]["jobs_created"] += 1

    def charged(self, service: str, account: str, credits: int) -> None:
        self._data[service][account]["credits_charged"] += credits

    def refunded(self, service: str, account: str, credits: int) -> None:
        self._data[service][account]["credits_refunded"] += credits

    def fault(self, service: str, account: str, name: str) -> None:
        """One more of the fault counter ``name`` (one of :data:`FAULT_COUNTERS`)."""
        if name not in FAULT_COUNTERS:
            raise ValueError(f"unknown fault counter {name!r}")
        self._data[service][account][name] += 1

    def attacker_hit(self) -> None:
        self.attacker_hits += 1

    def webhook_withheld(self, service: str, account: str) -> None:
        self._data[service][account]["webhooks"]["withheld"] += 1

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
                    **{counter: entry[counter] for counter in FAULT_COUNTERS},
                }
        return out
