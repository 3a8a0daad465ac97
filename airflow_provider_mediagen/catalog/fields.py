"""Reusable field types for request models: the rules the docs state more than once."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, AnyHttpUrl, Field, StringConstraints, TypeAdapter, WithJsonSchema
from pydantic import ValidationError as PydanticValidationError


_ANY_URL = TypeAdapter(AnyHttpUrl)


def _url(value: str) -> str:
    try:
        _ANY_URL.validate_python(value)
    except PydanticValidationError:
        raise ValueError("must be an http:// or https:// URL") from None
    return value


def _https_only(value: str) -> str:
    if not _url(value).lower().startswith("https://"):
        raise ValueError("must be an https:// URL")
    return value


def _https_or_loopback(value: str) -> str:
    from urllib.parse import urlsplit

    if urlsplit(_url(value)).hostname in ("127.0.0.1", "localhost", "::1"):
        return value
    return _https_only(value)


_URI_SCHEMA = WithJsonSchema({"type": "string", "format": "uri"})

WebhookUrl = Annotated[str, AfterValidator(_https_or_loopback), _URI_SCHEMA]
"""A webhook URL: HTTPS as the docs require, except on loopback, where TLS adds nothing (local receivers
and the simulator; a real service refuses loopback URLs anyway, by its SSRF rules)."""

HttpsUrl = Annotated[str, AfterValidator(_https_only), _URI_SCHEMA]
"""A URL the docs say must be HTTPS ("HTTPS URL of ..."); kept as the caller wrote it."""

Url = Annotated[str, AfterValidator(_url), _URI_SCHEMA]
"""Any http(s) URL, kept as the caller wrote it."""

HexColor = Annotated[str, StringConstraints(pattern=r"^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$")]

E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{1,14}$")]

LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")]

NonEmpty = Annotated[str, StringConstraints(min_length=1)]


def text(min_length: int = 1, max_length: int | None = None, description: str = "", **kw: Any) -> Any:
    """A required-or-defaulted string field with the documented length bounds."""
    return Field(min_length=min_length, max_length=max_length, description=description, **kw)


def iso_datetime(value: Any) -> datetime | None:
    """Parse the services' timestamps (ISO-8601 strings or Unix seconds) to aware datetimes."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, datetime):
        return value
    text_value = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text_value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _image_size(value: str) -> str:
    width, sep, height = value.partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        raise ValueError("must be WIDTHxHEIGHT, e.g. 1024x1024")
    if not all(64 <= int(side) <= 4096 for side in (width, height)):
        raise ValueError("width and height must each be 64-4096")
    return value


ImageSize = Annotated[str, AfterValidator(_image_size)]
"""``WIDTHxHEIGHT`` as Ddukddak's ``image_size`` takes it."""
