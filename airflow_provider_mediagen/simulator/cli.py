"""``mediagen sim``: serve the simulator in the foreground until Ctrl-C / SIGTERM.

Prints the three base URLs and the default keys, then ``READY http://HOST:PORT`` (flushed) once the
server listens, so a harness that starts it as a subprocess can wait for that line.
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from .config import SimulatorConfig
from .registry import registered


def build_parser(prog: str = "mediagen sim") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local simulator of Ddukddak, Apex Studio and FaceDub on one port.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8400, help="port (default 8400; 0 picks a free one)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="multiply job durations, rate-limit windows and webhook delays (0.01 = 100x faster)",
    )
    parser.add_argument("--config", default=None, help="JSON config file (SimulatorConfig fields)")
    parser.add_argument("--seed", type=int, default=None, help="seed for ids and fault injection")
    parser.add_argument(
        "--no-loopback-webhooks", action="store_true", help="refuse loopback webhook URLs (the documented SSRF rules)"
    )
    parser.add_argument(
        "--deliver-public-webhooks",
        action="store_true",
        help="really send webhook deliveries to hosts beyond this machine (default: only loopback receivers "
        "get them; others are counted as withheld)",
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    return parser


def load_config(args: argparse.Namespace) -> SimulatorConfig:
    """The config file (if any) with command-line options applied on top."""
    config = SimulatorConfig.from_file(args.config) if args.config else SimulatorConfig()
    changes: dict[str, object] = {}
    if args.time_scale is not None:
        changes["time_scale"] = args.time_scale
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.no_loopback_webhooks:
        changes["allow_loopback_webhooks"] = False
    if args.deliver_public_webhooks:
        changes["deliver_public_webhooks"] = True
    return SimulatorConfig.model_validate({**config.model_dump(), **changes})


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``mediagen sim`` and ``python -m airflow_provider_mediagen.simulator``."""
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args)
    except (OSError, ValueError, ValidationError) as exc:
        print(f"error: invalid simulator configuration: {exc}", file=sys.stderr)
        return 2

    from .server import _NotifyingServer, bind_socket, make_uvicorn_config  # heavy imports after parsing

    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    base = f"http://{host}:{port}"

    def announce() -> None:
        print("mediagen simulator")
        width = len(base) + max(len(sim.prefix) for sim in registered().values()) + 2
        for name, sim in registered().items():
            print(f"  {sim.title.split()[0]:<9} {base + sim.prefix:<{width}} key {_key(config, name)}")
        print(f"  control   {base}/_sim  (time scale {config.time_scale}, seed {config.seed})")
        print(f"READY {base}", flush=True)

    server = _NotifyingServer(make_uvicorn_config(config, args.log_level), on_ready=announce, handle_signals=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


def _key(config: SimulatorConfig, service: str) -> str:
    return next(a.key for a in config.all_accounts() if a.service == service)
