"""The one exception handlers raise for any documented error answer.

Handlers say *what* went wrong (status, message, optional machine code, extra headers); the service
definition decides *how* it looks on the wire (Apex ``{"error", "code"}``, Ddukddak ``{"error"}``,
FaceDub ``{"detail"}``). That keeps the three services' handlers free of error formatting.
"""

from __future__ import annotations


class ServiceError(Exception):
    """An error answer in the current service's documented shape."""

    def __init__(
        self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


def bad_request(field: str, problem: str) -> ServiceError:
    """400 naming the offending field."""
    return ServiceError(400, f"{field}: {problem}")
