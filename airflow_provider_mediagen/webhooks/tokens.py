"""Authenticating webhook deliveries the services do not sign.

The URL handed to a service carries a token derived from the connection's webhook secret
(HMAC-SHA256 of ``service:conn_id``), so the secret itself never travels and each connection's URL is
different; it is compared in constant time. Deliveries relayed by a proxy may also carry a
Standard-Webhooks signature (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>``
over ``id.timestamp.body``), checked against the same secret with a replay window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

__all__ = ["SignatureError", "receiver_token", "sign", "tokens_match", "verify_signature"]

REPLAY_WINDOW = 300.0  # seconds a signed delivery stays acceptable


class SignatureError(ValueError):
    """A signed delivery that is malformed, forged or outside the replay window."""


def receiver_token(secret: str, service: str, conn_id: str) -> str:
    digest = hmac.new(secret.encode(), f"{service}:{conn_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     window: float = REPLAY_WINDOW) -> str:
    """The delivery's message id once its signature checks out; raises :class:`SignatureError`."""
    message_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (message_id and stamp and signatures):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not an integer") from None
    if abs((now if now is not None else time.time()) - timestamp) > window:
        raise SignatureError("webhook-timestamp is outside the replay window")
    expected = sign(secret, message_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate.strip()) for candidate in signatures.split(" ")):
        raise SignatureError("no webhook-signature matches")
    return message_id
