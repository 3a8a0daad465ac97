"""Configuration of the simulator: time scale, seed, accounts and job durations.

Everything a user can tune lives here so that the CLI, the in-process server and a JSON config file
all build the same object. Durations are given in *documented* seconds (what the real service takes);
the simulator multiplies them by ``time_scale`` at run time, so one knob speeds up jobs, rate-limit
windows and webhook retries together and keeps their ratios.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .registry import registered, simulated


@cache
def default_durations() -> Mapping[str, float]:
    """Realistic job durations in documented seconds, before time scaling. Keys are "service.kind".
    Built once from the (cached) registry: every simulated job reads it."""
    return MappingProxyType({f"{sim.name}.{kind}": seconds
                             for sim in registered().values() for kind, seconds in sim.durations.items()})


class AccountSpec(BaseModel):
    """One account with one API key. ``credits`` is the balance (Ddukddak, Apex) or the monthly
    ``credits_limit`` (FaceDub); ``None`` means the plan's default."""

    model_config = ConfigDict(extra="forbid")

    service: str
    key: str
    plan: str
    credits: int | None = None
    name: str | None = None
    suspended: bool = False

    @model_validator(mode="after")
    def _check(self) -> AccountSpec:
        sim = simulated(self.service)
        prefix = sim.key_prefix
        if not self.key.startswith(prefix) or len(self.key) <= len(prefix):
            raise ValueError(f"{self.service} keys must start with {prefix!r}: got {self.key!r}")
        if self.plan not in sim.plans:
            raise ValueError(f"{self.service} plan must be one of {sim.plans}: got {self.plan!r}")
        if self.credits is not None and self.credits < 0:
            raise ValueError("credits must be >= 0")
        return self

    @property
    def account_name(self) -> str:
        """Counters are keyed by this name; a nameless account is named after its key."""
        return self.name or self.key

    @property
    def initial_credits(self) -> int:
        return self.credits if self.credits is not None else simulated(self.service).default_credits[self.plan]


def default_accounts() -> tuple[AccountSpec, ...]:
    """The demo account of every simulated service (named ``demo``), in listing order."""
    return tuple(AccountSpec(service=sim.name, key=sim.demo.key, plan=sim.demo.plan, credits=sim.demo.credits,
                             name="demo") for sim in registered().values())


def default_keys() -> dict[str, str]:
    """Service -> its demo account's key."""
    return {a.service: a.key for a in default_accounts()}


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
        known = default_durations()
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown job kinds {unknown}; known: {sorted(known)}")
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
        return self.durations.get(kind, default_durations()[kind])

    def all_accounts(self) -> list[AccountSpec]:
        """Default accounts first, then the configured ones."""
        return [*default_accounts(), *self.accounts]
