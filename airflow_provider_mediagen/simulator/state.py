"""The whole mutable state of one simulator instance, in one object.

Keeping it in one place (hung on ``app.state.sim``) makes ``POST /_sim/reset`` trivially complete
and lets several simulators live in one process (each app has its own state; nothing is global).
Everything here is used from the server's event loop only, so no locks are needed.
"""

from __future__ import annotations

import random
import secrets
import uuid
from typing import TYPE_CHECKING

from .accounts import AccountStore
from .clock import Clock
from .config import SimulatorConfig
from .counters import Counters
from .faults import FaultInjector
from .files import FileStore
from .jobs import JobStore
from .ratelimit import FixedWindowLimiter, SlidingWindowLimiter
from .webhooks import WebhookSender

if TYPE_CHECKING:
    from .service import ServiceDef


class SimState:
    """Accounts, jobs, files, limiters, faults, counters and the services' own data."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.initial_config = config
        self.config = config.model_copy(deep=True)
        self.clock = Clock(config.time_scale)
        self.accounts = AccountStore()
        self.counters = Counters()
        self.faults = FaultInjector(config.seed)
        self.jobs = JobStore(self.clock)
        self.files = FileStore(config.file_url_ttl)
        self.fixed_limiter = FixedWindowLimiter(self.clock)
        self.sliding_limiter = SlidingWindowLimiter(self.clock)
        self.webhooks = WebhookSender(
            self.clock, self.counters, self.faults, deliver_public=lambda: self.config.deliver_public_webhooks
        )
        #: Signs FaceDub's SSE JWTs; stable for the life of the instance.
        self.jwt_secret = secrets.token_hex(32)
        self.services: dict[str, ServiceDef] = {}
        self._ids = random.Random(config.seed)
        self.accounts.load(self.config.all_accounts(), self.clock.wall())

    def reset(self) -> None:
        """Back to the state right after start: the initial config, accounts and balances."""
        self.config = self.initial_config.model_copy(deep=True)
        self.clock.scale = self.config.time_scale
        self.files.ttl = self.config.file_url_ttl
        self.webhooks.cancel_all()
        self.jobs.clear()
        self.files.clear()
        self.counters.reset()
        self.faults.clear()
        self.faults.seed = self.config.seed
        self.fixed_limiter.reset()
        self.sliding_limiter.reset()
        self._ids = random.Random(self.config.seed)
        self.accounts.load(self.config.all_accounts(), self.clock.wall())
        for service in self.services.values():
            service.reset()

    def new_id(self, prefix: str = "", length: int = 12) -> str:
        """A short random id, reproducible from the seed."""
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return prefix + "".join(self._ids.choice(alphabet) for _ in range(length))

    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def duration(self, kind: str) -> float:
        return self.config.duration(kind)
