"""Authenticating webhook deliveries the services do not sign.

The URL handed to a service carries a token derived from the connection's webhook secret
(HMAC-SHA256 of ``service:conn_id``), so the secret itself never travels and each connection's URL is
different; it is compared in constant time. The state endpoint triggers read (``/states``) takes a
token of its own (HMAC of ``states:service:conn_id``): the delivery token is handed to the services and
sits in URLs proxies log, and must not also let its holder read what was delivered; the read token
never leaves the Airflow deployment and cannot post deliveries. Deliveries relayed by a proxy may also carry a
Standard-Webhooks signature (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>``
over ``id.timestamp.body``), checked against the same secret with a replay window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

__all__ = ["SignatureError", "receiver_token", "sign", "states_token", "tokens_match", "verify_signature"]

REPLAY_WINDOW = 300.0  # seconds a signed delivery stays acceptable


MAX_MESSAGE_ID = 256  # characters; ids are remembered for replay checks, so they are bounded


class SignatureError(ValueError):
    """A signed delivery that is malformed, forged or outside the replay window."""


def _printable_ascii(value: str) -> bool:
    return value.isascii() and value.isprintable()


def _derive(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def receiver_token(secret: str, service: str, conn_id: str) -> str:
    """The token of the delivery URL (unchanged message, so URLs already registered keep working)."""
    return _derive(secret, f"{service}:{conn_id}")


def states_token(secret: str, service: str, conn_id: str) -> str:
    """The token of the ``/states`` read URL: another purpose, so neither token opens the other door."""
    return _derive(secret, f"states:{service}:{conn_id}")


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison; a token that is not ASCII (query strings decode to any text) is
    compared as UTF-8 bytes instead of raising."""
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode("utf-8", "replace"))


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
    # Headers may carry any byte (servers decode them as latin-1): anything outside printable ASCII is
    # refused here, as a clear reject, instead of failing a comparison further down.
    if not all(_printable_ascii(value) for value in (message_id, stamp, signatures)):
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature must be printable ASCII")
    if len(message_id) > MAX_MESSAGE_ID:
        raise SignatureError(f"webhook-id is longer than {MAX_MESSAGE_ID} characters")
    if not (stamp.isdigit() and len(stamp) <= 12):
        raise SignatureError("webhook-timestamp is not an integer")
    timestamp = int(stamp)
    if abs((now if now is not None else time.time()) - timestamp) > window:
        raise SignatureError("webhook-timestamp is outside the replay window")
    expected = sign(secret, message_id, timestamp, body)
    if not any(hmac.compare_digest(expected.encode(), candidate.strip().encode())
               for candidate in signatures.split(" ")):
        raise SignatureError("no webhook-signature matches")
    return message_id
