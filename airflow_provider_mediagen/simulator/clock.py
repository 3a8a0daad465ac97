"""The simulator's notion of time.

Two clocks are needed: a monotonic one to schedule job phases, rate-limit windows and retries (immune
to wall-clock jumps), and the wall clock for timestamps the APIs expose (``created_at``,
``X-RateLimit-Reset``). ``scale`` turns documented seconds into real seconds; it can change at run time
(``POST /_sim/config``) and every mechanism reads it when it needs it.
"""

from __future__ import annotations

import math
import time


class Clock:
    """Monotonic + wall time with a mutable time scale."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def scaled(self, documented_seconds: float) -> float:
        """Real seconds corresponding to ``documented_seconds`` at the current scale."""
        return documented_seconds * self.scale

    def retry_after(self, real_seconds: float) -> str:
        """``Retry-After`` value for a real delay at the current scale."""
        return format_seconds(real_seconds, self.scale)

    def wall_at(self, monotonic_instant: float) -> float:
        """Wall-clock time of a monotonic instant (for headers such as X-RateLimit-Reset)."""
        return self.wall() + (monotonic_instant - self.monotonic())


def format_seconds(seconds: float, scale: float = 1.0) -> str:
    """Render a delay for ``Retry-After``, never shorter than the real wait.

    At real speed (``scale >= 1``) it is whole seconds, rounded up (at least 1). A time-scaled run
    produces sub-second delays, so then it is a decimal with millisecond precision, rounded up; the
    project contract lets clients parse floats.
    """
    seconds = max(seconds, 0.0)
    if scale >= 1:
        return str(max(1, math.ceil(seconds - 1e-9)))
    millis = math.ceil(seconds * 1000 - 1e-6)
    return f"{millis / 1000:.3f}".rstrip("0").rstrip(".") if millis else "0"
