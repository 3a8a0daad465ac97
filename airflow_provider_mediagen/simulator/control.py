"""The control API under ``/_sim`` (not part of any service): observe and steer the simulator.

=========================  =====================================================================
``GET  /_sim/health``      ``{"status": "ok"}`` once the server answers.
``GET  /_sim/counters``    requests per endpoint template and status, jobs, credits, webhooks,
                           per service and account (``counters.py``).
``POST /_sim/reset``       forget jobs, files, counters, rate-limit windows, faults and webhook
                           settings; restore the initial config (time scale, durations), accounts
                           and balances.
``GET  /_sim/faults``      the armed rules with ``fired`` / ``remaining``.
``POST /_sim/faults``      replace the rules: a JSON list of rules, or ``{"rules": [...],
                           "seed": N}``; re-arms every rule's RNG (``faults.py``).
``DELETE /_sim/faults``    remove all rules.
``POST /_sim/facedub/jwt`` ``{"key": "fdb_...", "ttl": 3600}`` -> ``{"token": "<HS256 JWT>"}``.
``GET  /_sim/config``      the running config.
``POST /_sim/config``      change ``time_scale``, ``durations`` (merged), ``file_url_ttl``,
                           ``allow_loopback_webhooks`` or ``deliver_public_webhooks`` at run time
                           (new jobs, windows and deliveries use it).
``GET  /_sim/jobs``        every job: service, id, kind, status, stage, account, created_at,
                           finished_at, credits (its cost) and outputs (``url_path``, ``filename``,
                           ``sha256`` and ``size`` once the file was generated, else null)
                           (``?service=`` filters).
``GET  /_sim/memory``      the simulator process's resident memory and how many jobs, files and
                           webhook tasks it holds (soak runs watch it for growth).
``GET  /_sim/attacker/..`` an attacker's server, for ``webhook_forge``: answers a small PNG and
                           counts every fetch as ``attacker_hits``; nothing honest fetches it.
``GET  /_sim/attacker_hits`` ``{"attacker_hits": n}``: how often that server was fetched.
``GET  /_sim/accounts``    accounts with plans, balances and key prefixes.
``POST /_sim/accounts``    add an account (same fields as a config file's ``accounts`` entries).
=========================  =====================================================================

Control errors use FastAPI's ``{"detail": ...}`` shape with 400 / 404.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config import AccountSpec, SimulatorConfig, default_durations
from .faults import FaultRule
from .state import SimState

router = APIRouter(prefix="/_sim")


def state_of(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


async def json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise HTTPException(400, "body must be JSON") from None


class ConfigUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    time_scale: float | None = Field(default=None, gt=0)
    durations: dict[str, float] | None = None
    file_url_ttl: float | None = Field(default=None, gt=0)
    allow_loopback_webhooks: bool | None = None
    deliver_public_webhooks: bool | None = None


def invalid(exc: ValidationError) -> HTTPException:
    return HTTPException(400, exc.errors(include_url=False, include_context=False))


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/counters")
async def counters(request: Request) -> dict[str, Any]:
    return state_of(request).counters.snapshot()


@router.post("/reset")
async def reset(request: Request) -> dict[str, bool]:
    state_of(request).reset()
    return {"reset": True}


@router.get("/faults")
async def get_faults(request: Request) -> list[dict[str, Any]]:
    return state_of(request).faults.describe()


@router.post("/faults")
async def set_faults(request: Request) -> list[dict[str, Any]]:
    body = await json_body(request)
    seed = None
    if isinstance(body, dict):
        seed, body = body.get("seed"), body.get("rules", [])
    if not isinstance(body, list):
        raise HTTPException(400, 'expected a list of fault rules or {"rules": [...], "seed": N}')
    try:
        rules = [FaultRule.model_validate(r) for r in body]
    except ValidationError as exc:
        raise invalid(exc) from None
    state = state_of(request)
    state.faults.set_rules(rules, seed=int(seed) if seed is not None else None)
    return state.faults.describe()


@router.delete("/faults")
async def clear_faults(request: Request) -> list[dict[str, Any]]:
    state = state_of(request)
    state.faults.clear()
    return []


def _config_view(state: SimState) -> dict[str, Any]:
    view = state.config.model_dump(exclude={"accounts"})
    view["durations"] = {k: state.config.duration(k) for k in sorted(default_durations())}
    return view


@router.get("/config")
async def get_config(request: Request) -> dict[str, Any]:
    return _config_view(state_of(request))


@router.post("/config")
async def update_config(request: Request) -> dict[str, Any]:
    state = state_of(request)
    try:
        update = ConfigUpdate.model_validate(await json_body(request))
        merged = state.config.model_dump()
        if update.durations is not None:
            merged["durations"] = {**merged["durations"], **update.durations}
        for name in ("time_scale", "file_url_ttl", "allow_loopback_webhooks", "deliver_public_webhooks"):
            if getattr(update, name) is not None:
                merged[name] = getattr(update, name)
        new_config = SimulatorConfig.model_validate(merged)
    except ValidationError as exc:
        raise invalid(exc) from None
    state.config = new_config
    state.clock.scale = new_config.time_scale
    state.files.ttl = new_config.file_url_ttl
    return _config_view(state)


@router.get("/jobs")
async def jobs(request: Request, service: str | None = None) -> list[dict[str, Any]]:
    state = state_of(request)
    return [
        {
            "service": j.service,
            "id": j.id,
            "kind": j.kind,
            "status": j.status,
            "stage": j.stage,
            "account": j.account.name,
            "created_at": j.created_at,
            "finished_at": j.finished_at,
            "credits": j.data.get("cost"),
            "outputs": [_output_view(state, file_id) for file_id in j.data.get("file_ids", [])],
        }
        for j in state.jobs.list(service)
    ]


def _output_view(state: SimState, file_id: str) -> dict[str, Any]:
    stored = state.files.get(file_id)
    if stored is None:
        return {"url_path": None, "filename": None, "sha256": None, "size": None}
    size = len(stored.data) if stored.data is not None else None
    return {"url_path": stored.url_path, "filename": stored.filename, "sha256": stored.sha256, "size": size}


def _rss_bytes() -> int | None:
    """Resident set size from ``/proc`` (Linux); None elsewhere."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


@router.get("/memory")
async def memory(request: Request) -> dict[str, Any]:
    state = state_of(request)
    return {
        "rss_bytes": _rss_bytes(),
        "jobs": len(state.jobs.list(None)),
        "files": state.files.count(),
        "webhook_tasks": state.webhooks.pending(),
    }


#: Eight bytes of PNG signature and an IHDR-less stub: enough for a client to believe an image.
ATTACKER_BODY = b"\x89PNG\r\n\x1a\nattacker"


@router.api_route("/attacker/{path:path}", methods=["GET", "HEAD"])
async def attacker(request: Request, path: str) -> Response:
    state_of(request).counters.attacker_hit()
    body = b"" if request.method == "HEAD" else ATTACKER_BODY
    return Response(body, media_type="image/png", headers={"Content-Length": str(len(ATTACKER_BODY))})


@router.get("/attacker_hits")
async def attacker_hits(request: Request) -> dict[str, int]:
    return {"attacker_hits": state_of(request).counters.attacker_hits}


@router.get("/accounts")
async def accounts(request: Request) -> list[dict[str, Any]]:
    return [
        {
            "service": a.service,
            "name": a.name,
            "plan": a.plan,
            "user_id": a.user_id,
            "credits": a.credits,
            "credits_used": a.credits_used,
            "suspended": a.suspended,
            "keys": [{"id": k.id, "prefix": k.prefix, "revoked": k.revoked} for k in a.keys],
        }
        for a in state_of(request).accounts.all()
    ]


@router.post("/accounts")
async def add_account(request: Request) -> dict[str, Any]:
    state = state_of(request)
    try:
        spec = AccountSpec.model_validate(await json_body(request))
    except ValidationError as exc:
        raise invalid(exc) from None
    try:
        account = state.accounts.add(spec, state.clock.wall())
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"service": account.service, "name": account.name, "plan": account.plan, "credits": account.credits}
