"""Rate limiters: fixed windows (Ddukddak, Apex) and sliding windows (FaceDub).

Windows are given in documented seconds and scaled by the clock when a window opens, so a
time-scaled run keeps the documented *count* per window while the window itself shrinks.

A fixed window opens at the first request of a bucket and lasts ``window`` seconds; the next
request after it ends opens a new one. This makes "N allowed, then 429" deterministic for a test
that sends its requests inside one window.

Limits apply per bucket key (the services' API key or user); callers only consult the limiter after
authentication, so 401 answers never consume anybody's quota.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .clock import Clock


@dataclass(frozen=True)
class Decision:
    """Outcome of one rate-limit check, with what the headers need."""

    allowed: bool
    limit: int
    remaining: int
    #: Monotonic instant when the window resets (fixed) or the oldest hit leaves it (sliding).
    reset_at: float
    #: Real seconds to wait before a retry can succeed (0 when allowed).
    retry_after: float


class FixedWindowLimiter:
    """Counts hits per bucket in fixed windows."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}  # bucket -> (window end, hits)

    def reset(self) -> None:
        self._windows.clear()

    def peek(self, bucket: str, limit: int, window: float) -> Decision:
        """The current state of a bucket without counting a hit (for headers on uncounted answers)."""
        now = self._clock.monotonic()
        end, hits = self._windows.get(bucket, (0.0, 0))
        if now >= end:
            return Decision(True, limit, limit, now + self._clock.scaled(window), 0.0)
        return Decision(hits < limit, limit, max(limit - hits, 0), end, 0.0)

    def hit(self, bucket: str, limit: int, window: float) -> Decision:
        now = self._clock.monotonic()
        end, hits = self._windows.get(bucket, (0.0, 0))
        if now >= end:
            end, hits = now + self._clock.scaled(window), 0
        if hits >= limit:
            self._windows[bucket] = (end, hits)
            return Decision(False, limit, 0, end, end - now)
        hits += 1
        self._windows[bucket] = (end, hits)
        return Decision(True, limit, limit - hits, end, 0.0)


class SlidingWindowLimiter:
    """Counts hits per bucket over the last ``window`` seconds (a log of hit instants)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def reset(self) -> None:
        self._hits.clear()

    def hit(self, bucket: str, limit: int, window: float) -> Decision:
        now = self._clock.monotonic()
        span = self._clock.scaled(window)
        log = self._hits.setdefault(bucket, deque())
        while log and log[0] <= now - span:
            log.popleft()
        if len(log) >= limit:
            reset_at = log[0] + span
            return Decision(False, limit, 0, reset_at, reset_at - now)
        log.append(now)
        return Decision(True, limit, limit - len(log), log[0] + span, 0.0)
