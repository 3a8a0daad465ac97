"""Accounts, their API keys and their credit balances, for all three services.

One store serves the three services because the mechanics are the same: a key identifies an
account, an account has a plan and credits, keys can be created (Apex, FaceDub) and revoked
(FaceDub), and a revoked key must stop working at once. What differs per service (credit rules,
error shapes) stays in the service modules.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from .config import AccountSpec
from .registry import simulated


@dataclass
class ApiKey:
    """One API key. ``value`` is the secret; ``prefix`` is all a listing ever shows."""

    id: str
    name: str
    value: str
    created_at: float
    revoked: bool = False

    @property
    def prefix(self) -> str:
        # Never the whole key, however short it is (the demo keys are 8-12 characters).
        return self.value[: min(12, max(len(self.value) - 4, 4))]


@dataclass
class Account:
    """A customer of one service."""

    service: str
    name: str
    plan: str
    user_id: str
    #: Ddukddak / Apex: spendable balance. FaceDub: monthly ``credits_limit``.
    credits: int
    suspended: bool = False
    #: FaceDub only: credits consumed this cycle and bonus credits.
    credits_used: int = 0
    bonus_credits: int = 0
    #: Per job type usage counts (Apex ``/api/usage``).
    usage: dict[str, int] = field(default_factory=dict)
    keys: list[ApiKey] = field(default_factory=list)

    def plan_at_least(self, minimum: str) -> bool:
        order = simulated(self.service).plans
        return order.index(self.plan) >= order.index(minimum)

    def active_keys(self) -> list[ApiKey]:
        return [k for k in self.keys if not k.revoked]


def _user_id(service: str, name: str) -> str:
    """Stable user id so JWTs and responses do not change between runs."""
    return "usr_" + hashlib.sha256(f"{service}:{name}".encode()).hexdigest()[:16]


class AccountStore:
    """All accounts of all services, indexed by key value."""

    def __init__(self) -> None:
        self._accounts: list[Account] = []
        self._by_key: dict[str, tuple[Account, ApiKey]] = {}

    def load(self, specs: list[AccountSpec], now: float) -> None:
        """Replace everything with fresh accounts built from ``specs`` (used at start and reset)."""
        self._accounts.clear()
        self._by_key.clear()
        for spec in specs:
            self.add(spec, now)

    def add(self, spec: AccountSpec, now: float) -> Account:
        """Add an account, or add the key to an existing account of the same service and name."""
        if spec.key in self._by_key:
            raise ValueError(f"key {spec.key!r} already exists")
        account = self.find(spec.service, spec.account_name)
        if account is None:
            account = Account(
                service=spec.service,
                name=spec.account_name,
                plan=spec.plan,
                user_id=_user_id(spec.service, spec.account_name),
                credits=spec.initial_credits,
                suspended=spec.suspended,
            )
            self._accounts.append(account)
        key_id = "key_" + hashlib.sha256(spec.key.encode()).hexdigest()[:12]
        self._attach(account, ApiKey(id=key_id, name="default", value=spec.key, created_at=now))
        return account

    def create_key(self, account: Account, name: str, now: float) -> ApiKey:
        """Mint a new random key for ``account`` (Apex ``POST /api/keys``, FaceDub ``POST /api-keys``)."""
        value = simulated(account.service).key_prefix + secrets.token_hex(16)
        key = ApiKey(id="key_" + secrets.token_hex(6), name=name, value=value, created_at=now)
        self._attach(account, key)
        return key

    def _attach(self, account: Account, key: ApiKey) -> None:
        account.keys.append(key)
        self._by_key[key.value] = (account, key)

    def authenticate(self, service: str, value: str | None) -> tuple[Account, ApiKey] | None:
        """The account and key for a bearer value, or None if missing, unknown, revoked or foreign."""
        if not value:
            return None
        found = self._by_key.get(value)
        if found is None or found[0].service != service or found[1].revoked:
            return None
        return found

    def find(self, service: str, name: str) -> Account | None:
        return next((a for a in self._accounts if a.service == service and a.name == name), None)

    def by_user_id(self, service: str, user_id: str) -> Account | None:
        return next((a for a in self._accounts if a.service == service and a.user_id == user_id), None)

    def all(self) -> list[Account]:
        return list(self._accounts)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
