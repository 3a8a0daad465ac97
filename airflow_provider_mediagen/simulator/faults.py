"""Fault injection, deterministic from the simulator's seed.

Rules are set as a whole with ``POST /_sim/faults`` (which replaces the previous set) and each rule
draws from its own RNG seeded with ``(seed, rule index)``. Consequently the faults a rule produces
depend only on the sequence of events that *match that rule*: the same seed and the same request
sequence give the same faults, and background activity (job completions, webhooks) matching other
rules cannot shift a rule's sequence. Re-posting the same rules restarts every sequence.

Kinds of fault and where they act:

- request faults, decided when a request arrives (after the endpoint and account are known, before
  authentication errors, rate limits and the handler): ``status`` (answer with that status in the
  service's error shape, with ``Retry-After`` for 429/503), ``slow`` (receive the request in full, wait
  ``delay`` real seconds, then handle and answer it normally, even when the client has gone meanwhile,
  as a server that received it would), ``drop`` (close the connection without any response), ``malformed``
  (200 with a body that is not valid JSON);
- response faults, decided once the request has passed authentication, rate limit and plan checks,
  just before the handler runs; the handler then runs fully (jobs created, credits charged,
  webhooks scheduled) and only its answer is altered (``gateway.py``): ``lose_response`` (the answer
  is thrown away and the connection aborted: the client cannot know whether its submission
  counted; counted as status ``"0"`` like ``drop`` and as ``responses_lost``), ``unknown_status``
  (the job's ``status`` in a JSON answer becomes ``value``, default ``"accepted"``: the job of a
  submit or single-job answer, or exactly one item of a list answer, the first non-terminal one,
  else the first, or the job the rule's ``job_id`` names (wherever it is listed; nothing changes
  where it is not); through Apex's ``data`` envelope; a JSON answer without a job status is left
  alone), ``wrong_shape`` (a JSON answer becomes ``{"result": <original body>}``, same status);
- ``read_lag``, on status reads of one job (Ddukddak ``GET /ai/images/:uid`` and
  ``GET /ai/videos/:uid``, Apex ``GET /api/jobs?id=``, FaceDub ``GET /jobs/{job_id}``): decided
  once per job and read endpoint, at the first read of it that matches the rule while the job is
  younger than ``delay`` real seconds; a lagged job then reads as the service's own "not found" 404
  until it is ``delay`` real seconds old, as an eventually consistent store would answer. ``count``
  counts lagged jobs;
- ``job_fail``, decided when an asynchronous job is created: that job ends ``failed`` and its
  credits are refunded (synchronous answers are not affected);
- download faults, decided per valid download of an output file (``GET``/``HEAD /_files/...``
  with a good signature; ``service`` and ``account`` are those of the job that made the file,
  ``endpoint`` is null or ``"GET /_files"``): ``truncate`` (``GET`` only: status line and headers
  with the full ``Content-Length``, about half of the bytes, then the connection is aborted;
  counted as ``downloads_truncated``), ``expire_url`` (403 exactly as an expired signed URL;
  counted as ``urls_expired``);
- webhook faults, decided per delivery attempt: ``webhook_fail`` (the attempt fails without reaching
  the receiver, so the retry schedule runs), ``webhook_duplicate`` (a successful delivery is sent a
  second time), ``webhook_out_of_order`` (after the final event, a stale event describing the job's
  earlier, non-terminal state is delivered — see ``webhooks.py``);
- ``webhook_forge``, decided when a job is created for which the service will deliver a webhook
  (Apex: the account has a webhook URL; Ddukddak: the request had ``webhook_url``): before the
  real delivery, a forged ``completed`` delivery is POSTed once to the same URL (same token, never
  signed, no retries) whose output URL is ``value`` or, by default, the simulator's attacker
  endpoint ``{base}/_sim/attacker/<job_id>.png`` (every fetch counted as ``attacker_hits``). The
  real delivery waits until the forged one has been answered. Counted as ``webhooks_forged``, not
  as webhook attempts.

Webhook rules (``webhook_*``) are service-level: a rule with an ``endpoint`` never matches them.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


FaultKind = Literal[
    "status",
    "slow",
    "drop",
    "malformed",
    "job_fail",
    "webhook_fail",
    "webhook_duplicate",
    "webhook_out_of_order",
    "lose_response",
    "unknown_status",
    "wrong_shape",
    "read_lag",
    "truncate",
    "expire_url",
    "webhook_forge",
]

REQUEST_FAULTS = frozenset({"status", "slow", "drop", "malformed"})
RESPONSE_FAULTS = frozenset({"lose_response", "unknown_status", "wrong_shape"})
DOWNLOAD_FAULTS = frozenset({"truncate", "expire_url"})
WEBHOOK_FAULTS = frozenset({"webhook_fail", "webhook_duplicate", "webhook_out_of_order", "webhook_forge"})

#: The endpoint name download faults match (``endpoint`` null matches too).
DOWNLOAD_ENDPOINT = "GET /_files"
#: ``unknown_status``'s replacement status when the rule gives no ``value``.
DEFAULT_UNKNOWN_STATUS = "accepted"


class FaultRule(BaseModel):
    """One rule as posted to ``/_sim/faults``."""

    model_config = ConfigDict(extra="forbid")

    service: str
    endpoint: str | None = None
    account: str | None = None
    fault: FaultKind
    status: int = Field(default=500, ge=400, le=599)
    retry_after: float | None = Field(default=None, ge=0)
    delay: float = Field(default=1.0, ge=0)
    count: int | None = Field(default=None, ge=0)
    probability: float = Field(default=1.0, ge=0, le=1)
    #: ``unknown_status``: the status to show; ``webhook_forge``: the forged output URL.
    value: str | None = None
    #: ``unknown_status``: the job whose status is replaced (default: the first non-terminal one listed).
    job_id: str | None = None


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

    def response_fault(self, service: str, endpoint: str, account: str) -> FaultRule | None:
        """A fault altering the handler's answer (``lose_response``, ``unknown_status``, ``wrong_shape``)."""
        return self._first(RESPONSE_FAULTS, service, endpoint, account)

    def download_fault(self, service: str, account: str, with_body: bool) -> FaultRule | None:
        """A fault for one valid download; ``truncate`` only when a body is sent (not for HEAD)."""
        kinds = DOWNLOAD_FAULTS if with_body else frozenset({"expire_url"})
        return self._first(kinds, service, DOWNLOAD_ENDPOINT, account)

    def read_lag(self, service: str, endpoint: str, account: str, age: float) -> float | None:
        """Decide a job's read lag at its first read: the lag in real seconds, ``0.0`` when some
        rule could have fired but did not, ``None`` when no rule applies (decide again later).

        Only rules whose ``delay`` exceeds the job's ``age`` are considered (and draw).
        """
        considered = False
        for armed in self._rules:
            rule = armed.rule
            if rule.fault != "read_lag" or age >= rule.delay or not armed.matches(service, endpoint, account):
                continue
            considered = True
            if armed.draw():
                return rule.delay
        return 0.0 if considered else None

    def job_fails(self, service: str, endpoint: str, account: str) -> bool:
        return self._first(frozenset({"job_fail"}), service, endpoint, account) is not None

    def webhook_fault(self, kind: str, service: str, account: str) -> bool:
        """Whether a webhook fault of ``kind`` fires (endpoint-specific rules never match webhooks)."""
        return self.webhook_rule(kind, service, account) is not None

    def webhook_rule(self, kind: str, service: str, account: str) -> FaultRule | None:
        """The webhook rule of ``kind`` that fires, if any (for rules whose ``value`` matters)."""
        for armed in self._rules:
            if armed.rule.fault == kind and armed.matches(service, None, account) and armed.draw():
                return armed.rule
        return None
