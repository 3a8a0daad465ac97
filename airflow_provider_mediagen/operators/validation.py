"""Checking operator parameters against the catalog: static values when the DAG is parsed (a bad prompt
fails the DAG import, not a paid run), templated ones once rendered, before any request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic
from airflow.sdk.exceptions import AirflowFailException

from ..catalog import Endpoint, RequestModel
from ..client.errors import ValidationError
from ..client.protocol import validation_error
from ..job_refs import is_job_ref

__all__ = ["ParameterError", "is_dynamic", "parameter_error", "validate_static", "validate_rendered"]


class ParameterError(ValidationError, AirflowFailException):
    """A parameter breaks a documented rule. Also an ``AirflowFailException``: a mapped task is built
    from its parameters in the worker, outside ``execute``, and no retry can fix a bad value."""


def parameter_error(exc: ValidationError, where: str) -> ParameterError:
    """``exc`` with ``where`` (the operator and task) in front of its message."""
    return ParameterError(f"{where}: {exc.message}", service=exc.service, endpoint=exc.endpoint, field=exc.field)


def is_dynamic(value: Any) -> bool:
    """True for values only known at run time: Jinja templates, XComArgs, mapped arguments, job
    references (resolved to a fresh URL when the task runs), and containers holding any of them."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value or is_job_ref(value)
    if isinstance(value, Mapping):
        return any(is_dynamic(v) for v in value.values())
    if isinstance(value, (list, tuple, set)):
        return any(is_dynamic(v) for v in value)
    # XComArgs and mapped arguments resolve at run time: recognised by that public interface (``resolve``
    # and ``iter_references``), not by their private base class.
    return callable(getattr(value, "resolve", None)) and callable(getattr(value, "iter_references", None))


def _names(model: type[RequestModel], field: str) -> set[str]:
    info = model.model_fields.get(field)
    return {field, info.alias} if info is not None and info.alias else {field}


def validate_static(service: str, endpoint: Endpoint, values: Mapping[str, Any]) -> None:
    """Raise for every rule a static value breaks; rules touching a dynamic value wait for rendering."""
    model = endpoint.request
    if model is None:
        return
    dynamic = {name for field, value in values.items() if is_dynamic(value) for name in _names(model, field)}
    static = {k: v for k, v in values.items() if not is_dynamic(v) and v is not None}
    try:
        model.model_validate(static)
    except pydantic.ValidationError as exc:
        kept = [
            error for error in exc.errors(include_url=False)
            if not (error["type"] == "missing" and error["loc"] and error["loc"][0] in dynamic)
            and not (error["loc"] and error["loc"][0] in dynamic)
            and not (not error["loc"] and dynamic)  # model-level rules need every value
        ]
        if kept:
            raise validation_error(service, endpoint.key, kept) from None


def validate_rendered(service: str, endpoint: Endpoint, values: Mapping[str, Any]) -> RequestModel:
    """The request model for rendered values; unset (None) optional fields are left to their defaults."""
    model = endpoint.request
    assert model is not None
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except pydantic.ValidationError as exc:
        raise validation_error(service, endpoint.key, exc) from None


def reject(service: str, endpoint: Endpoint, field: str, why: str) -> ValidationError:
    return ValidationError(f"field '{field}': {why}", service=service, endpoint=endpoint.key, field=field)
