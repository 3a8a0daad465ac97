"""Fault injection, deterministic from the simulator's seed.

Rules are set as a whole with ``POST /_sim/faults`` (which replaces the previous set) and each rule
draws from its own RNG seeded with ``(seed, rule index)``. Consequently the faults a rule produces
depend only on the sequence of events that *match that rule*: the same seed and the same request
sequence give the same faults, and background activity (job completions, webhooks) matching other
rules cannot shift a rule's sequence. Re-posting the same rules restarts every sequence.

Kinds of fault and where they act:

- request faults, decided when a request arrives (after the endpoint and account are known, before
  authentication errors, rate limits and the handler): ``status`` (answer with that status in the
  service's error shape, with ``Retry-After`` for 429/503), ``slow`` (wait ``delay`` real seconds,
  then answer normally), ``drop`` (close the connection without any response), ``malformed``
  (200 with a body that is not valid JSON);
- ``job_fail``, decided when an asynchronous job is created: that job ends ``failed`` and its
  credits are refunded (synchronous answers are not affected);
- webhook faults, decided per delivery attempt: ``webhook_fail`` (the attempt fails without reaching
  the receiver, so the retry schedule runs), ``webhook_duplicate`` (a successful delivery is sent a
  second time), ``webhook_out_of_order`` (after the final event, a stale event describing the job's
  earlier, non-terminal state is delivered — see ``webhooks.py``).

``count`` limits how many times a rule fires (default: unlimited); ``probability`` (default 1) is
drawn from the rule's RNG every time the rule matches.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .config import ServiceName

FaultKind = Literal[
    "status",
    "slow",
    "drop",
    "malformed",
    "job_fail",
    "webhook_fail",
    "webhook_duplicate",
    "webhook_out_of_order",
]

REQUEST_FAULTS = frozenset({"status", "slow", "drop", "malformed"})
WEBHOOK_FAULTS = frozenset({"webhook_fail", "webhook_duplicate", "webhook_out_of_order"})


class FaultRule(BaseModel):
    """One rule as posted to ``/_sim/faults``."""

    model_config = ConfigDict(extra="forbid")

    service: ServiceName
    endpoint: str | None = None
    account: str | None = None
    fault: FaultKind
    status: int = Field(default=500, ge=400, le=599)
    retry_after: float | None = Field(default=None, ge=0)
    delay: float = Field(default=1.0, ge=0)
    count: int | None = Field(default=None, ge=0)
    probability: float = Field(default=1.0, ge=0, le=1)


class _ArmedRule:
    """A rule with its own RNG and remaining count."""

    def __init__(self, rule: FaultRule, seed: int, index: int) -> None:
        self.rule = rule
        self.rng = random.Random(f"{seed}:{index}")
        self.remaining = rule.count
        self.fired = 0

    def matches(self, service: str, endpoint: str | None, account: str | None) -> bool:
        r = self.rule
        if r.service != service:
            return False
        if r.endpoint is not None and r.endpoint != endpoint:
            return False
        return r.account is None or r.account == account

    def draw(self) -> bool:
        """Decide whether the rule fires for this matching event (consumes one RNG draw)."""
        if self.remaining == 0:
            return False
        if self.rng.random() >= self.rule.probability:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        self.fired += 1
        return True


class FaultInjector:
    """Holds the armed rules and answers "does a fault fire here?"."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rules: list[_ArmedRule] = []

    def set_rules(self, rules: list[FaultRule], seed: int | None = None) -> None:
        if seed is not None:
            self.seed = seed
        self._rules = [_ArmedRule(r, self.seed, i) for i, r in enumerate(rules)]

    def clear(self) -> None:
        self._rules = []

    def describe(self) -> list[dict[str, object]]:
        return [{**a.rule.model_dump(), "fired": a.fired, "remaining": a.remaining} for a in self._rules]

    def _first(
        self, kinds: frozenset[str], service: str, endpoint: str | None, account: str | None
    ) -> FaultRule | None:
        for armed in self._rules:
            if armed.rule.fault in kinds and armed.matches(service, endpoint, account) and armed.draw():
                return armed.rule
        return None

    def request_fault(self, service: str, endpoint: str, account: str) -> FaultRule | None:
        return self._first(REQUEST_FAULTS, service, endpoint, account)

    def job_fails(self, service: str, endpoint: str, account: str) -> bool:
        return self._first(frozenset({"job_fail"}), service, endpoint, account) is not None

    def webhook_fault(self, kind: str, service: str, account: str) -> bool:
        """Whether a webhook fault of ``kind`` fires (endpoint-specific rules never match webhooks)."""
        for armed in self._rules:
            if armed.rule.fault == kind and armed.matches(service, None, account) and armed.draw():
                return True
        return False
