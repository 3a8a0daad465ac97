"""The mediagen command: sim (the local simulator), demo (the whole product on real Airflow), connectors
(generate the no-code connectors), webhook (register the webhook receiver with a service), credits (what
generation tasks paid for).

Subcommands import their module only when chosen, so ``mediagen --help`` stays instant. The first
paragraph above is the help text, so it is plain text, not reStructuredText.
"""

from __future__ import annotations

import argparse
import configparser
import os
import sys
from collections.abc import MutableMapping
from importlib import import_module
from pathlib import Path

_COMMANDS = {
    "sim": ("airflow_provider_mediagen.simulator", "Serve the local simulator of the three services"),
    "demo": ("airflow_provider_mediagen.demo", "Run the example DAGs on real Airflow against the simulator"),
    "connectors": ("airflow_provider_mediagen.connectors.cli", "Generate the no-code connectors from the catalog"),
    "webhook": ("airflow_provider_mediagen.webhooks.cli", "Register the webhook receiver with a service"),
    "credits": ("airflow_provider_mediagen.ledger.cli", "What generation tasks paid for (from Airflow's database)"),
}
#: Commands that need an optional extra (checked before the command's module is imported).
_NEEDS = {"sim": "sim", "demo": "sim"}

NAMESPACE_LEVELS = "AIRFLOW__LOGGING__NAMESPACE_LEVELS"
# ``airflow.models.Connection.get_uri()`` logs "Connection schemes (type: mediagen_apex) shall not contain
# '_' according to RFC3986" at WARNING for any connection type with an underscore, and
# ``Connection.get_connection_from_secrets()`` calls it for every connection a secrets backend finds (to
# fill the secrets cache, even when the cache is off). That is this logger's only WARNING; its errors stay.
_QUIET_CONNECTION_SCHEME = "airflow.models.connection.Connection=error"


def _configured_namespace_levels(environ: MutableMapping[str, str]) -> str:
    """``[logging] namespace_levels`` from airflow.cfg, read without importing Airflow (importing it
    configures logging, which is what has to wait)."""
    home = environ.get("AIRFLOW_HOME") or str(Path("~/airflow").expanduser())
    path = Path(environ.get("AIRFLOW_CONFIG") or Path(home) / "airflow.cfg")
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return ""
    return parser.get("logging", "namespace_levels", fallback="").strip()


def quiet_connection_scheme_warning(environ: MutableMapping[str, str] = os.environ) -> None:
    """Silence the RFC 3986 warning for this process, through Airflow's own ``[logging] namespace_levels``.

    The provider's connection types (``mediagen_apex``...) cannot lose their underscore without breaking
    every connection users already have, and Airflow reads the logging levels once, when it configures
    logging at import: so :func:`main` calls this before anything imports Airflow. The user's own levels are kept (the
    environment variable overrides airflow.cfg, so the file's value is carried over), and a level the user
    set for that logger wins."""
    current = environ.get(NAMESPACE_LEVELS)
    if current is None:
        current = _configured_namespace_levels(environ)
    logger = _QUIET_CONNECTION_SCHEME.split("=")[0]
    if any(entry.split("=")[0].strip() == logger for entry in current.replace(",", " ").split()):
        return
    environ[NAMESPACE_LEVELS] = f"{current} {_QUIET_CONNECTION_SCHEME}".strip()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="mediagen", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=sorted(_COMMANDS), help="; ".join(f"{k}: {v[1]}" for k, v in _COMMANDS.items()))
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    args, rest = parser.parse_known_args(argv[:1])
    if args.command in _NEEDS:
        from .extras import require

        problem = require(_NEEDS[args.command], f"mediagen {args.command}")
        if problem is not None:
            print(problem, file=sys.stderr)
            return 2
    if "airflow" not in sys.modules:  # else logging is configured already: too late, leave it alone
        quiet_connection_scheme_warning()
    module = import_module(_COMMANDS[args.command][0])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
