"""Reading a delivery: the documented payload of the service, validated (unknown fields tolerated, wrong
types rejected), turned into the normalized Job the waiting side understands."""

from __future__ import annotations

import json
from typing import Any

import pydantic

from ..catalog import SERVICES, Job, UnknownStatusError

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "MAX_IDS", "MAX_JOB_ID", "DeliveryError", "NotJSONError", "load_json",
           "parse_delivery"]

#: Nesting deeper than any documented payload (the deepest is 3 levels) is refused before it reaches the
#: JSON parser's recursion limit or a validator.
MAX_DEPTH = 32
#: Longer job ids are refused: the store's column holds 250 characters, and no service's ids come close.
MAX_JOB_ID = 200
#: The receiver's cap on any request body, and on the job ids (or intents) one ``/states`` read may name:
#: the feed pages its reads to stay within both.
MAX_BODY_BYTES = 64 * 1024
MAX_IDS = 5000


class DeliveryError(ValueError):
    """The body is not a valid delivery of this service."""


class NotJSONError(ValueError):
    """The body is not JSON this receiver reads (malformed, not UTF-8, or nested too deeply)."""


def _depth_within(body: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest at most ``limit`` deep: checked on the raw bytes, so a
    64 KiB body of ``[[[[...`` never reaches the recursive parser."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return True


def load_json(body: bytes) -> Any:
    """The body parsed, or :class:`NotJSONError` (an answer of 400, never a 500)."""
    if not _depth_within(body, MAX_DEPTH):
        raise NotJSONError(f"the body nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise NotJSONError("the body is not UTF-8 JSON") from None
    except (ValueError, RecursionError):
        raise NotJSONError("the body is not JSON") from None


def parse_delivery(service: str, body: Any) -> Job:
    entry = SERVICES[service]
    envelope = entry.webhook
    if envelope is None:
        raise DeliveryError(f"{entry.title} sends no webhooks")
    if not isinstance(body, dict):
        raise DeliveryError("the body must be a JSON object")
    model = envelope.model_for(body)
    try:
        payload = model.model_validate(body)
    except pydantic.ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg']}"
                           for e in exc.errors(include_url=False))
        raise DeliveryError(f"not a documented {entry.title} webhook payload ({detail})") from None
    job_data = envelope.job_of(payload.model_dump(by_alias=True, mode="json"))
    try:
        job = entry.parse_job("webhook", job_data)
    except UnknownStatusError as exc:
        raise DeliveryError(str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise DeliveryError(f"cannot read a job from the delivery ({exc})") from None
    if not (0 < len(job.id) <= MAX_JOB_ID and job.id.isprintable()):
        raise DeliveryError(f"the job id must be 1 to {MAX_JOB_ID} printable characters")
    return job
