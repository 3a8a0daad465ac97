"""Configuration of the simulator: time scale, seed, accounts and job durations.

Everything a user can tune lives here so that the CLI, the in-process server and a JSON config file
all build the same object. Durations are given in *documented* seconds (what the real service takes);
the simulator multiplies them by ``time_scale`` at run time, so one knob speeds up jobs, rate-limit
windows and webhook retries together and keeps their ratios.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ServiceName = Literal["ddukddak", "apex", "facedub"]

SERVICES: tuple[ServiceName, ...] = ("ddukddak", "apex", "facedub")

#: Key prefixes each service documents; a key without its prefix is refused at configuration time.
KEY_PREFIXES: dict[str, str] = {"ddukddak": "dd_live_", "apex": "sk_live_", "facedub": "fdb_"}

#: Plans of each service, lowest first (docs/undocumented-behaviour.md).
PLANS: dict[str, tuple[str, ...]] = {
    "ddukddak": ("free_trial", "automate", "scale", "enterprise"),
    "apex": ("free", "creator", "pro", "enterprise"),
    "facedub": ("creator", "pro", "agency"),
}

#: Default credits per plan when an account does not say. Ddukddak's are the documented monthly
#: credits; Apex and FaceDub publish none, so these are plausible balances / limits.
DEFAULT_CREDITS: dict[str, dict[str, int]] = {
    "ddukddak": {"free_trial": 30, "automate": 1_000, "scale": 10_000, "enterprise": 50_000},
    "apex": {"free": 100, "creator": 2_000, "pro": 10_000, "enterprise": 100_000},
    "facedub": {"creator": 30, "pro": 60, "agency": 150},
}

#: Realistic job durations in documented seconds, before time scaling. Keys are "service.kind".
DEFAULT_DURATIONS: dict[str, float] = {
    "ddukddak.ai_image": 15.0,
    "ddukddak.ai_video": 240.0,
    "ddukddak.template_video": 60.0,
    "apex.image": 8.0,
    "apex.video": 120.0,
    "apex.voice": 10.0,
    "apex.avatar": 60.0,
    "apex.clip": 90.0,
    "apex.b-roll": 60.0,
    "apex.text2video": 120.0,
    "apex.commercial": 300.0,
    "apex.translate": 180.0,
    "apex.instant-ad": 60.0,
    "apex.photoshoot": 20.0,
    "facedub.job": 90.0,
}


class AccountSpec(BaseModel):
    """One account with one API key. ``credits`` is the balance (Ddukddak, Apex) or the monthly
    ``credits_limit`` (FaceDub); ``None`` means the plan's default."""

    model_config = ConfigDict(extra="forbid")

    service: ServiceName
    key: str
    plan: str
    credits: int | None = None
    name: str | None = None
    suspended: bool = False

    @model_validator(mode="after")
    def _check(self) -> AccountSpec:
        prefix = KEY_PREFIXES[self.service]
        if not self.key.startswith(prefix) or len(self.key) <= len(prefix):
            raise ValueError(f"{self.service} keys must start with {prefix!r}: got {self.key!r}")
        if self.plan not in PLANS[self.service]:
            raise ValueError(f"{self.service} plan must be one of {PLANS[self.service]}: got {self.plan!r}")
        if self.credits is not None and self.credits < 0:
            raise ValueError("credits must be >= 0")
        return self

    @property
    def account_name(self) -> str:
        """Counters are keyed by this name; a nameless account is named after its key."""
        return self.name or self.key

    @property
    def initial_credits(self) -> int:
        return self.credits if self.credits is not None else DEFAULT_CREDITS[self.service][self.plan]


DEFAULT_ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec(service="ddukddak", key="dd_live_demo", plan="enterprise", credits=50_000, name="demo"),
    AccountSpec(service="apex", key="sk_live_demo", plan="enterprise", credits=100_000, name="demo"),
    AccountSpec(service="facedub", key="fdb_demo", plan="agency", credits=150, name="demo"),
)

DEFAULT_KEYS: dict[str, str] = {a.service: a.key for a in DEFAULT_ACCOUNTS}


class SimulatorConfig(BaseModel):
    """Everything that shapes one simulator instance."""

    model_config = ConfigDict(extra="forbid")

    time_scale: float = Field(default=1.0, gt=0)
    seed: int = 0
    allow_loopback_webhooks: bool = True
    #: Really send webhook deliveries to hosts beyond this machine. Off by default: a simulator must not
    #: contact the hosts named in its input (docs examples, generated test data); such deliveries are
    #: recorded as ``withheld`` instead. Turn it on only to receive deliveries at a public URL (a no-code
    #: platform's catch hook, say) while trying a workflow against the simulator.
    deliver_public_webhooks: bool = False
    accounts: list[AccountSpec] = Field(default_factory=list)
    durations: dict[str, float] = Field(default_factory=dict)
    public_base_url: str | None = None
    #: Lifetime of signed output URLs in real (unscaled) seconds; 24 h as Apex documents.
    file_url_ttl: float = Field(default=86_400.0, gt=0)

    @field_validator("durations")
    @classmethod
    def _known_kinds(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(DEFAULT_DURATIONS))
        if unknown:
            raise ValueError(f"unknown job kinds {unknown}; known: {sorted(DEFAULT_DURATIONS)}")
        if any(v < 0 for v in value.values()):
            raise ValueError("durations must be >= 0")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @classmethod
    def from_file(cls, path: str | Path) -> SimulatorConfig:
        """Load a JSON config file (the same fields as the constructor)."""
        return cls.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))

    def duration(self, kind: str) -> float:
        """Documented (unscaled) seconds a job of ``kind`` takes."""
        return self.durations.get(kind, DEFAULT_DURATIONS[kind])

    def all_accounts(self) -> list[AccountSpec]:
        """Default accounts first, then the configured ones."""
        return [*DEFAULT_ACCOUNTS, *self.accounts]
