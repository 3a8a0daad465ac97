"""The rules a request field states, in words, read from its annotation: optional or not, bounds and
lengths, allowed values, the reusable field types of ``catalog/fields.py``. Split from
:mod:`.param_reference`, which lays them out in ``docs/parameters.md``."""

from __future__ import annotations

import inspect
import json
import types
import typing
from datetime import timedelta
from typing import Any, Literal, Union

import annotated_types
from pydantic import AfterValidator, BaseModel, StringConstraints

from .catalog import fields

__all__ = ["DOC", "main", "render"]

__all__ = ["FieldShape", "md_code", "py_literal"]


def md_code(value: Any) -> str:
    return f"`{value}`"


def py_literal(value: Any) -> str:
    """A default or an example as Python source (strings in double quotes, as the README writes them)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return f"timedelta(hours={seconds / 3600:g})" if seconds % 3600 == 0 else f"timedelta(seconds={seconds:g})"
    if isinstance(value, str):
        return json.dumps(value) if "\\" not in value else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)

# What the reusable field types of catalog/fields.py mean, in words: keyed by the validator function or
# the pattern each one carries, so a field typed with one is described however pydantic stored it.
_VALIDATOR_TEXT: dict[Any, str] = {}
_PATTERN_TEXT: dict[str, str] = {}
for _alias, _text in (
    (fields.Url, "an `http://` or `https://` URL"),
    (fields.HttpsUrl, "an `https://` URL"),
    (fields.WebhookUrl, "an `https://` URL (`http://` only on loopback)"),
    (fields.ImageSize, "`WIDTHxHEIGHT`, each side 64-4096"),
    (fields.HexColor, "a colour `#RGB`, `#RRGGBB` or `#RRGGBBAA`"),
    (fields.E164, "an E.164 phone number (`+` and up to 15 digits)"),
    (fields.LanguageCode, "an ISO language code, e.g. `en`, `pt-BR`"),
):
    for _meta in typing.get_args(_alias)[1:]:
        if isinstance(_meta, AfterValidator):
            _VALIDATOR_TEXT[_meta.func] = _text
        elif isinstance(_meta, StringConstraints) and _meta.pattern:
            _PATTERN_TEXT[str(_meta.pattern)] = _text


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) < len(typing.get_args(annotation)):
            return (args[0] if len(args) == 1 else Union[tuple(args)]), True  # noqa: UP007
    return annotation, False


def _split_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    if typing.get_origin(annotation) is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        return base, meta
    return annotation, []


def _length_rule(low: int | None, high: int | None, unit: str) -> str | None:
    if low and high:
        return f"{low}-{high:,} {unit}"
    if high:
        return f"at most {high:,} {unit}"
    if low == 1:
        return "not empty"
    if low:
        return f"at least {low} {unit}"
    return None


def _rules_from_metadata(meta: list[Any], base: Any) -> list[str]:
    unit = "items" if typing.get_origin(base) is list else "characters"
    low = high = None
    ge = le = gt = lt = None
    rules: list[str] = []
    for item in meta:
        if isinstance(item, annotated_types.MinLen):
            low = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            high = item.max_length
        elif isinstance(item, annotated_types.Ge):
            ge = item.ge
        elif isinstance(item, annotated_types.Le):
            le = item.le
        elif isinstance(item, annotated_types.Gt):
            gt = item.gt
        elif isinstance(item, annotated_types.Lt):
            lt = item.lt
        elif isinstance(item, StringConstraints):
            low = item.min_length if item.min_length is not None else low
            high = item.max_length if item.max_length is not None else high
            if item.pattern:
                rules.append(_PATTERN_TEXT.get(str(item.pattern), f"matches `{item.pattern}`"))
        elif isinstance(item, AfterValidator):
            doc = (inspect.getdoc(item.func) or "").split("\n")[0]
            rules.append(_VALIDATOR_TEXT.get(item.func, doc or f"checked by `{item.func.__name__}`"))
    bounds = []
    if ge is not None and le is not None:
        bounds.append(f"{ge:g}-{le:g}")
    else:
        bounds += [f">= {ge:g}"] if ge is not None else []
        bounds += [f"<= {le:g}"] if le is not None else []
    bounds += [f"> {gt:g}"] if gt is not None else []
    bounds += [f"< {lt:g}"] if lt is not None else []
    length = _length_rule(low, high, unit)
    return bounds + ([length] if length else []) + rules


class FieldShape:
    """A field's type, rules and nested model, as the reference shows them."""

    def __init__(self, annotation: Any, meta: list[Any]) -> None:
        annotation, self.optional = _strip_optional(annotation)
        base, inner_meta = _split_annotated(annotation)
        self.base: Any = base
        self.nested: type[BaseModel] | None = None
        self.rules = _rules_from_metadata([*meta, *inner_meta], base)
        origin = typing.get_origin(base)
        if origin is Literal:
            values = typing.get_args(base)
            self.type = type(values[0]).__name__
            self.rules.insert(0, "one of " + ", ".join(md_code(py_literal(v)) for v in values))
            self.first: Any = values[0]
        elif origin is list:
            item = FieldShape(typing.get_args(base)[0], [])
            if item.nested is not None or (isinstance(item.base, type) and issubclass(item.base, BaseModel)):
                self.nested = item.nested or item.base
                self.type = "list[dict]"
                self.rules.insert(0, f"each a dict of the keys below ({self.nested.__name__})")
            else:
                self.type = f"list[{item.type}]"
                self.rules += [f"each {rule}" for rule in item.rules]
            self.first = None
        else:
            self.type = base.__name__ if isinstance(base, type) else str(base).replace("typing.", "")
            self.first = None
