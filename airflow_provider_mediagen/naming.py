"""Names derived from the catalog that Airflow-facing code and generated docs share: connection types,
default connection ids, class names. Pure functions, no Airflow import, so the provider info can be
built without importing hooks or operators."""

from __future__ import annotations

import re

from .catalog import SERVICES, Service

__all__ = ["conn_type", "default_conn_id", "hook_class_name", "operator_class_name", "service_prefix"]


def conn_type(service: str) -> str:
    return f"mediagen_{service}"


def default_conn_id(service: str) -> str:
    return f"mediagen_{service}_default"


def service_prefix(service: str | Service) -> str:
    """``Ddukddak``, ``Apex``, ``FaceDub``: the first word of the service's title."""
    spec = SERVICES[service] if isinstance(service, str) else service
    return spec.title.split()[0]


_ACRONYMS = {"ai"}


def _camel(kind: str) -> str:
    words = []
    for part in kind.split("_"):
        word = part.upper() if part in _ACRONYMS else part[0].upper() + part[1:]
        words.append(re.sub(r"(?<=\d)([a-z])", lambda m: m.group(1).upper(), word))
    return "".join(words)


def hook_class_name(service: str) -> str:
    return f"{service_prefix(service)}Hook"


def operator_class_name(service: str, kind: str) -> str:
    """``ApexImageOperator``, ``DdukddakAIVideoOperator``, ``ApexText2VideoOperator``..."""
    return f"{service_prefix(service)}{_camel(kind)}Operator"
