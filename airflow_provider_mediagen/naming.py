"""Names derived from the catalog that Airflow-facing code and generated docs share: connection types,
default connection ids, class names. Pure functions, no Airflow import, so the provider info can be
built without importing hooks or operators."""

from __future__ import annotations

import re

from .catalog import SERVICES, Service

__all__ = ["ACRONYMS", "camel", "class_case", "conn_type", "default_conn_id", "hook_class_name",
           "operator_class_name", "pascal", "service_prefix", "snake", "title_case", "words"]


def conn_type(service: str) -> str:
    return f"mediagen_{service}"


def default_conn_id(service: str) -> str:
    return f"mediagen_{service}_default"


def service_prefix(service: str | Service) -> str:
    """``Ddukddak``, ``Apex``, ``FaceDub``: the first word of the service's title."""
    entry = SERVICES[service] if isinstance(service, str) else service
    return entry.title.split()[0]


#: Words written in capitals wherever a name is shown or spelt in code (labels, class names, keys).
ACRONYMS = {"url": "URL", "id": "ID", "api": "API", "uid": "UID", "tts": "TTS", "llm": "LLM", "jwt": "JWT",
            "ai": "AI", "png": "PNG", "iso": "ISO", "b": "B", "sse": "SSE", "ugc": "UGC", "e164": "E.164"}


def words(name: str) -> list[str]:
    """``aspect_ratio`` / ``negativePrompt`` / ``b-roll`` -> lower-case words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[\s_\-./]+", spaced) if w]


def title_case(name: str) -> str:
    return " ".join(ACRONYMS.get(w, w.capitalize()) for w in words(name))


def camel(name: str) -> str:
    ws = words(name)
    return ws[0] + "".join(w.capitalize() for w in ws[1:]) if ws else name


def pascal(name: str) -> str:
    return "".join(w.capitalize() for w in words(name))


def snake(name: str) -> str:
    return "_".join(words(name))


def class_case(name: str) -> str:
    """``ai_video`` -> ``AIVideo``, ``text2video`` -> ``Text2Video``: a Python class name's words, acronyms
    in capitals and a letter after a digit starting a word."""
    out = []
    for word in words(name):
        spelt = re.sub(r"[^A-Za-z0-9]", "", ACRONYMS.get(word, word[:1].upper() + word[1:]))
        out.append(re.sub(r"(?<=\d)([a-z])", lambda m: m.group(1).upper(), spelt))
    return "".join(out)


def hook_class_name(service: str) -> str:
    return f"{service_prefix(service)}Hook"


def operator_class_name(service: str, kind: str) -> str:
    """``ApexImageOperator``, ``DdukddakAIVideoOperator``, ``ApexText2VideoOperator``..."""
    return f"{service_prefix(service)}{class_case(kind)}Operator"
