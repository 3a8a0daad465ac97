"""How a call to a service is built and how its answer is read: shared, I/O-free, by the sync and the
async client alike (the httpx way of twins that share one model of a request).

Everything that can be decided without the network is decided here: validation against the catalog
(before a byte is sent), path rendering, the envelope, the response model, the error mapping, and
whether a failure may be retried without risking a double charge.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pydantic

from ..catalog import Endpoint, Job, RequestModel, Service, UnknownStatusError
from . import errors
from .secrets import scrub

__all__ = ["InvalidItem", "PreparedCall", "ServiceProtocol", "job_id_in", "validation_error"]

# Transport failures that prove the request never left this machine, so a retry cannot charge twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# Where the three services put a job's id (``uid``, ``jobId``, ``job_id``/``id``), and the longest id
# believed: an answer we cannot parse may still name its job, and that id must be kept before anything.
_ID_KEYS = ("jobId", "job_id", "uid", "id", "callId", "voiceId")
MAX_JOB_ID_LENGTH = 200


def job_id_in(body: Any, depth: int = 2) -> str | None:
    """The job id an answer carries, even when the rest of it is of the wrong shape: at the top level,
    or inside an envelope up to ``depth`` levels down. Only short printable strings (or integers) count."""
    if not isinstance(body, Mapping):
        return None
    for key in _ID_KEYS:
        value = body.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            continue
        text = str(value)
        if 0 < len(text) <= MAX_JOB_ID_LENGTH and text.isprintable() and not text.isspace():
            return text
    if depth > 0:
        for value in body.values():
            found = job_id_in(value, depth - 1)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class InvalidItem:
    """One item of a list answer that does not match the documented shape: kept apart, so only the job
    it describes fails, never every waiter of the list."""

    raw: Any
    detail: str


@dataclass
class PreparedCall:
    """A validated call, ready for either client to send."""

    endpoint: Endpoint
    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, tuple[str, Any, str]] | None = None
    job_id: str | None = None
    auth: bool = True

    @property
    def idempotent(self) -> bool:
        return self.endpoint.method == "GET"


def validation_error(service: str, endpoint: str | None,
                     exc: pydantic.ValidationError | list[Any]) -> errors.ValidationError:
    """One readable error naming every bad field and its rule (pydantic's text, without URLs)."""
    problems = []
    first_field = None
    items = exc.errors(include_url=False) if isinstance(exc, pydantic.ValidationError) else exc
    for item in items:
        loc = ".".join(str(p) for p in item.get("loc", ())) or "(request)"
        first_field = first_field or loc
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"field '{loc}': {message}")
    return errors.ValidationError(
        "invalid request: " + "; ".join(problems), service=service, endpoint=endpoint, field=first_field
    )


def _detail(exc: pydantic.ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))


class ServiceProtocol:
    """The request/response rules of one service, bound to a base URL."""

    def __init__(self, service: Service, base_url: str | None = None) -> None:
        self.service = service
        self.base_url = (base_url or service.base_url).rstrip("/")
        self._job_lists = frozenset(k.list for k in service.kinds.values() if k.list)

    # --- building -------------------------------------------------------------------------------

    def validate(self, endpoint: Endpoint, body: Mapping[str, Any] | RequestModel | None) -> RequestModel | None:
        model = endpoint.request
        if model is None:
            if body:
                raise errors.ValidationError(
                    "this endpoint takes no request body", service=self.service.name, endpoint=endpoint.key)
            return None
        if isinstance(body, model):
            return body
        if isinstance(body, RequestModel):
            body = body.model_dump(by_alias=True, exclude_none=True)
        try:
            return model.model_validate(dict(body or {}))
        except pydantic.ValidationError as exc:
            raise validation_error(self.service.name, endpoint.key, exc) from None

    def prepare(
        self,
        endpoint_name: str,
        body: Mapping[str, Any] | RequestModel | None = None,
        *,
        query: Mapping[str, Any] | None = None,
        files: dict[str, tuple[str, Any, str]] | None = None,
        path: Mapping[str, str] | None = None,
    ) -> PreparedCall:
        endpoint = self.service.endpoint(endpoint_name)
        request = self.validate(endpoint, body)
        params: dict[str, Any] = {}
        if query:
            if endpoint.query is None:
                params = dict(query)
            else:
                try:
                    params = endpoint.query.model_validate(dict(query)).to_wire()
                except pydantic.ValidationError as exc:
                    raise validation_error(self.service.name, endpoint.key, exc) from None
        try:
            rendered = endpoint.render_path(**(path or {}))
        except ValueError as exc:
            raise errors.ValidationError(str(exc), service=self.service.name, endpoint=endpoint.key) from None
        call = PreparedCall(endpoint=endpoint, method=endpoint.method, url=self.base_url + rendered, params=params)
        call.job_id = (path or {}).get("uid") or (path or {}).get("job_id") or params.get("id")
        wire = request.to_wire() if request is not None else None
        if endpoint.encoding == "multipart":
            call.data = {k: str(v) for k, v in (wire or {}).items()}
            call.files = files
        elif endpoint.encoding == "json":
            call.json = wire
        call.auth = endpoint.auth == "api_key"
        return call

    # --- reading --------------------------------------------------------------------------------

    def _error_fields(self, response: httpx.Response) -> tuple[str, str | None]:
        shape = self.service.error_shape
        try:
            body = response.json()
        except ValueError:
            return scrub(response.text[:300] or response.reason_phrase), None
        if not isinstance(body, Mapping):
            return scrub(str(body)[:300]), None
        message = body.get(shape.get("message", "error")) or body.get("message") or body.get("detail")
        if isinstance(message, Mapping):  # tolerate {"error": {"message": ..., "code": ...}}
            return scrub(str(message.get("message", message))), message.get("code")
        code = body.get(shape["code"]) if "code" in shape else None
        return scrub(str(message or response.reason_phrase)), (str(code) if code is not None else None)

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                pass
        reset = response.headers.get("X-RateLimit-Reset")
        if reset:
            try:
                return max(0.0, float(reset) - time.time())
            except ValueError:
                pass
        return None

    def error_from(self, call: PreparedCall, response: httpx.Response) -> errors.MediaGenError:
        message, code = self._error_fields(response)
        status = response.status_code
        common: dict[str, Any] = dict(
            service=self.service.name, endpoint=call.endpoint.key, status_code=status, code=code, job_id=call.job_id)
        if not call.idempotent and status >= 500 and status != 503:
            return errors.SubmissionUncertainError(
                f"{message}; the request may have taken effect (a job may exist): check before retrying", **common)
        cls = errors.error_for_status(status)
        if cls in (errors.RateLimitedError, errors.ServerError):
            return cls(message, retry_after=self._retry_after(response), **common)
        return cls(message, **common)

    def read(self, call: PreparedCall, response: httpx.Response) -> Any:
        """The parsed answer (envelope removed, response model applied), or the typed error raised."""
        if not response.is_success:
            raise self.error_from(call, response)
        common: dict[str, Any] = dict(
            service=self.service.name, endpoint=call.endpoint.key, status_code=response.status_code,
            job_id=call.job_id)
        try:
            body = response.json()
        except (ValueError, json.JSONDecodeError):
            raise self._unreadable(call, "the answer is not valid JSON", common) from None
        if call.endpoint.envelope:
            if not isinstance(body, Mapping) or call.endpoint.envelope not in body:
                raise self._unreadable(call, f"the answer lacks its '{call.endpoint.envelope}' envelope", common,
                                       body)
            body = body[call.endpoint.envelope]
        return self._model(call, body, common)

    def _model(self, call: PreparedCall, body: Any, common: dict[str, Any]) -> Any:
        endpoint = call.endpoint
        model = endpoint.response
        if model is None or model is dict:
            return body
        many = endpoint.response_is_list and not (endpoint.one_by_query and endpoint.one_by_query in call.params)
        if many:
            if not isinstance(body, list):
                raise self._unreadable(call, "expected a list", common, body)
            if endpoint.name in self._job_lists:  # one odd job must not fail the read for every waiter
                return [self._item(model, item) for item in body]
            try:
                return [model.model_validate(item) for item in body]
            except pydantic.ValidationError as exc:
                raise self._unreadable(call, f"the answer does not match the documented shape ({_detail(exc)})",
                                       common, body) from None
        try:
            return model.model_validate(body)
        except pydantic.ValidationError as exc:
            raise self._unreadable(call, f"the answer does not match the documented shape ({_detail(exc)})",
                                   common, body) from None

    @staticmethod
    def _item(model: type[pydantic.BaseModel], item: Any) -> Any:
        try:
            return model.model_validate(item)
        except pydantic.ValidationError as exc:
            return InvalidItem(item, f"does not match the documented shape ({_detail(exc)})")

    def _unreadable(self, call: PreparedCall, what: str, common: dict[str, Any],
                    body: Any = None) -> errors.MediaGenError:
        if not call.idempotent:
            job_id = job_id_in(body)
            return errors.SubmissionUncertainError(
                f"{what}; the request was accepted, so a job may exist"
                + (f" (the answer names job {job_id})" if job_id else "") + ": check before retrying",
                **{**common, "job_id": job_id or common.get("job_id")})
        return errors.ProtocolError(what, **common)

    def transport_error(self, call: PreparedCall, exc: httpx.TransportError) -> errors.MediaGenError:
        common: dict[str, Any] = dict(service=self.service.name, endpoint=call.endpoint.key, job_id=call.job_id)
        detail = scrub(f"{type(exc).__name__}: {exc}")
        if call.idempotent or isinstance(exc, _NOT_SENT):
            error: errors.MediaGenError = errors.TransportError(detail, **common)
            error.not_sent = isinstance(exc, _NOT_SENT)  # type: ignore[attr-defined]
            return error
        return errors.SubmissionUncertainError(
            f"{detail}; the request may have reached the service (a job may exist): check before retrying",
            **common)

    # --- retry policy ---------------------------------------------------------------------------

    @staticmethod
    def retryable(call: PreparedCall, exc: BaseException) -> bool:
        """Reads retry every transient failure; writes only when the service provably refused them
        (429, 503) or the request never left this machine."""
        if not isinstance(exc, errors.MediaGenError) or not exc.transient:
            return False
        if call.idempotent:
            return True
        if isinstance(exc, errors.RateLimitedError):
            return True
        if isinstance(exc, errors.ServerError):
            return exc.status_code == 503
        return isinstance(exc, errors.TransportError) and getattr(exc, "not_sent", False)

    @staticmethod
    def backoff(attempt: int, exc: BaseException | None, base: float = 0.5, cap: float = 30.0) -> float:
        """Seconds to wait before attempt ``attempt + 1``: the service's own hint (Retry-After /
        X-RateLimit-Reset) plus a little jitter, else full-jitter exponential backoff."""
        hint = getattr(exc, "retry_after", None)
        if hint is not None:
            return hint + random.uniform(0, min(1.0, 0.1 * hint + 0.05))
        return random.uniform(0, min(cap, base * 2 ** attempt))

    # --- jobs -----------------------------------------------------------------------------------

    def job(self, kind: str, payload: Mapping[str, Any] | pydantic.BaseModel | InvalidItem,
            call: PreparedCall | None = None) -> Job:
        """The normalized job of an answer. ``call`` is the read that fetched it; ``None`` means the answer
        to a submission, where anything unreadable (an unknown status, a missing field) means a job may
        exist and was paid for: :class:`SubmissionUncertainError`, carrying the job id when the answer
        names one, never a retryable error that would submit again."""
        submitted = call is None or not call.idempotent
        endpoint = call.endpoint.key if call else None
        if isinstance(payload, InvalidItem):
            job_id = job_id_in(payload.raw)
            raise errors.ProtocolError(f"{self.service.title} listed job {job_id or '(no id)'} in a form that "
                                       f"{payload.detail}", service=self.service.name, endpoint=endpoint,
                                       job_id=job_id)
        if isinstance(payload, pydantic.BaseModel):
            payload = payload.model_dump(by_alias=True, mode="json")
        try:
            return self.service.parse_job(kind, payload)
        except (UnknownStatusError, KeyError, TypeError, ValueError, AttributeError) as exc:
            job_id = job_id_in(payload)
            what = str(exc) if isinstance(exc, UnknownStatusError) else f"cannot read a job from the answer ({exc})"
            if submitted:
                raise errors.SubmissionUncertainError(
                    f"{what}; the submission was accepted"
                    + (f" as job {job_id}" if job_id else ", so a job may exist")
                    + ": it is kept and never submitted again on its own",
                    service=self.service.name, endpoint=endpoint, job_id=job_id) from None
            raise errors.ProtocolError(what, service=self.service.name, endpoint=endpoint,
                                       job_id=job_id) from None

    def jobs(self, kind: str, items: list[Any], call: PreparedCall) -> tuple[list[Job], dict[str, errors.MediaGenError]]:
        """The jobs of a list answer, read one by one: an item that cannot be read becomes an error of
        that job alone (keyed by its id; items without an id are dropped with the rest kept)."""
        jobs: list[Job] = []
        problems: dict[str, errors.MediaGenError] = {}
        for item in items:
            try:
                jobs.append(self.job(kind, item, call))
            except errors.MediaGenError as exc:
                if exc.job_id:
                    problems[exc.job_id] = exc
        return jobs, problems

    def status_call(self, kind: str, job_id: str) -> PreparedCall:
        """The read that reports one job of this kind."""
        spec = self.service.kind(kind)
        if spec.status is None:
            raise errors.UnsupportedOperationError(
                f"{self.service.title} documents no status endpoint for {spec.title} jobs"
                f" ({spec.description or 'completion is learned another way'})",
                service=self.service.name, job_id=job_id)
        endpoint = self.service.endpoint(spec.status)
        if endpoint.one_by_query:
            return self.prepare(spec.status, query={endpoint.one_by_query: job_id})
        (param,) = endpoint.path_params
        return self.prepare(spec.status, path={param: job_id})

    def list_call(self, kind: str | None = None) -> tuple[PreparedCall, str]:
        """The read that lists recent jobs, and the kind to attribute them to."""
        kinds = [self.service.kind(kind)] if kind else list(self.service.kinds.values())
        for spec in kinds:
            if spec.list:
                return self.prepare(spec.list), spec.name
        raise errors.UnsupportedOperationError(
            f"{self.service.title} documents no endpoint listing jobs", service=self.service.name)

    def default_poll_interval(self, kind: str) -> float:
        """The cadence the service's docs give for the kind (``JobKind.poll_seconds``: advice, or the pause
        of the docs' polling example), else a tenth of its typical duration, 2-30 s.
        More waiting jobs than the read budget covers at this cadence are read as fast as the budget
        allows instead (the shared poller)."""
        spec = self.service.kind(kind)
        if spec.poll_seconds:
            return spec.poll_seconds
        return min(30.0, max(2.0, spec.typical_seconds / 10))
