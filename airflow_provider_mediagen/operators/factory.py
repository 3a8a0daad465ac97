"""One mechanism for every generation operator: a class per (service, kind), made from the catalog.

Each class gets an explicit signature (the documented request fields, keyword-only, with their types
and defaults, then the common lifecycle parameters), a docstring listing them, and ``template_fields``
covering every request field. ``inspect.signature``, ``help()``, Airflow's argument checks and
``.partial().expand()`` all see that signature; ``operators/__init__.pyi`` (generated from the same
source) gives IDEs the same view statically.
"""

from __future__ import annotations

import functools
import inspect
import re
from typing import Any

from .. import naming
from ..catalog import SERVICES, Completion, JobKind, Service
from .base import MediaGenerationOperator

__all__ = ["build_operator", "operator_parameters"]

_COMMON = [p for name, p in inspect.signature(MediaGenerationOperator.__init__).parameters.items()
           if name not in ("self", "request", "kwargs")]
_RESERVED = set(dir(MediaGenerationOperator)) | {p.name for p in _COMMON} | {"task_id", "dag"}


def operator_parameters(service: Service, kind: JobKind) -> tuple[list[inspect.Parameter], dict[str, str]]:
    """The request parameters of the operator for ``kind``, and a description of each."""
    endpoint = service.endpoint(kind.submit)
    params: list[inspect.Parameter] = []
    docs: dict[str, str] = {}
    for rule in endpoint.files:
        params.append(inspect.Parameter(rule.field, inspect.Parameter.KEYWORD_ONLY, annotation=str))
        docs[rule.field] = (f"file to upload ({', '.join(rule.extensions)}, at most "
                            f"{rule.max_bytes // (1024 * 1024)} MB): a local path or an ObjectStoragePath URI")
    model = endpoint.request
    for name, info in (model.model_fields.items() if model else ()):
        if name in _RESERVED:
            raise TypeError(f"{service.name} {kind.name}: request field {name!r} collides with an operator attribute")
        default = inspect.Parameter.empty if info.is_required() else info.get_default(call_default_factory=True)
        annotation = info.annotation if info.annotation is not None else Any
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
        wire = f" (``{info.alias}`` in the API)" if info.alias and info.alias != name else ""
        docs[name] = (info.description or name) + wire
    return params, docs


def _docstring(service: Service, kind: JobKind, docs: dict[str, str]) -> str:
    endpoint = service.endpoint(kind.submit)
    cost = endpoint.credit_cost.describe() if endpoint.credit_cost else "no documented cost"
    how = {Completion.SYNC: "answered at once", Completion.POLL: "polled", Completion.LIST: "listed",
           Completion.WEBHOOK: "webhook", Completion.SSE: "SSE stream"}
    lines = [
        f"{service.title}: {kind.title} (``{endpoint.method} {endpoint.path}``, {cost}).",
        "",
        f"{kind.description or endpoint.summary}".strip(),
        f"Completion: {', '.join(how[c] for c in kind.completion)}. Plan: {endpoint.plan or service.api_plan or 'any'}.",
        "Every parameter below is templated and checked against the documented rules, at parse time when",
        "static and after rendering otherwise; see :class:`MediaGenerationOperator` for the common ones.",
        "",
    ]
    lines += [f":param {name}: {text}" for name, text in docs.items()]
    return "\n".join(lines)


def build_operator(service_name: str, kind_name: str) -> type[MediaGenerationOperator]:
    service = SERVICES[service_name]
    kind = service.kind(kind_name)
    params, docs = operator_parameters(service, kind)
    files = tuple(rule.field for rule in service.endpoint(kind.submit).files)
    fields = tuple(p.name for p in params if p.name not in files)

    def __init__(self: MediaGenerationOperator, **kwargs: Any) -> None:
        request = {name: kwargs.pop(name) for name in (*fields, *files) if name in kwargs}
        MediaGenerationOperator.__init__(self, request=request, **kwargs)

    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    rest = inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD, annotation=Any)
    __init__.__signature__ = inspect.Signature([self_param, *params, *_COMMON, rest])  # type: ignore[attr-defined]
    __init__.__doc__ = _docstring(service, kind, docs)

    name = naming.operator_class_name(service_name, kind_name)
    renderers = {p.name: "json" for p in params if "list" in str(p.annotation) or "dict" in str(p.annotation)}
    namespace = {
        "__module__": "airflow_provider_mediagen.operators",
        "__qualname__": name,
        "__doc__": __init__.__doc__,
        "__init__": __init__,
        "service": service_name,
        "kind": kind_name,
        "request_fields": fields,
        "file_fields": files,
        "template_fields": (*fields, *files, *MediaGenerationOperator.common_template_fields),
        "template_fields_renderers": renderers,
    }
    cls = type(name, (MediaGenerationOperator,), namespace)
    cls.__init__ = _naming_missing_arguments(cls, service, kind)  # type: ignore[method-assign]
    return cls  # type: ignore[return-value]


_MISSING = re.compile(r"missing keyword arguments? (.+)")


def _naming_missing_arguments(cls: type, service: Service, kind: JobKind) -> Any:
    """Airflow's own check of required arguments (after ``default_args`` are merged) says only
    "missing keyword argument 'prompt'": the same check, with the operator, the task and the endpoint
    named, so a DAG import error points at the task to fix."""
    checked = cls.__init__
    endpoint = service.endpoint(kind.submit)

    @functools.wraps(checked)
    def __init__(self: MediaGenerationOperator, *args: Any, **kwargs: Any) -> None:
        try:
            checked(self, *args, **kwargs)
        except TypeError as exc:
            missing = _MISSING.fullmatch(str(exc))
            if missing is None:
                raise
            raise TypeError(f"{cls.__name__} task {kwargs.get('task_id', '<no task_id>')!r}: missing required "
                            f"parameter(s) {missing.group(1)} ({service.name} {endpoint.method} {endpoint.path}); "
                            "nothing was submitted") from None

    # Airflow sets XComArg dependencies once, in the wrapper whose ``__init__.__wrapped__`` is the class's
    # own ``__init__``: point there, past Airflow's wrapper, or XComArg inputs would lose their upstreams.
    __init__.__wrapped__ = checked.__wrapped__  # type: ignore[attr-defined]
    return __init__
