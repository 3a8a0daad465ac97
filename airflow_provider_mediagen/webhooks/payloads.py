"""Reading a delivery: the documented payload of the service, validated (unknown fields tolerated, wrong
types rejected), turned into the normalized Job the waiting side understands."""

from __future__ import annotations

from typing import Any

import pydantic

from ..catalog import SERVICES, Job, UnknownStatusError

__all__ = ["DeliveryError", "parse_delivery"]


class DeliveryError(ValueError):
    """The body is not a valid delivery of this service."""


def parse_delivery(service: str, body: Any) -> Job:
    spec = SERVICES[service]
    if not spec.webhook_payloads:
        raise DeliveryError(f"{spec.title} sends no webhooks")
    if not isinstance(body, dict):
        raise DeliveryError("the body must be a JSON object")
    model = next(iter(spec.webhook_payloads.values()))
    if "event" in body and body.get("event") in spec.webhook_payloads:
        model = spec.webhook_payloads[body["event"]]
    try:
        payload = model.model_validate(body)
    except pydantic.ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg']}"
                           for e in exc.errors(include_url=False))
        raise DeliveryError(f"not a documented {spec.title} webhook payload ({detail})") from None
    data = payload.model_dump(by_alias=True, mode="json")
    job_data = data.get("data", data)  # Apex wraps the job in data; Ddukddak sends it bare
    try:
        return spec.parse_job("webhook", job_data)
    except UnknownStatusError as exc:
        raise DeliveryError(str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise DeliveryError(f"cannot read a job from the delivery ({exc})") from None
