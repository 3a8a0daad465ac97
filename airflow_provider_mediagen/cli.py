"""The ``mediagen`` command: ``sim`` (local simulator), ``demo`` (the whole product on real Airflow),
``connectors`` (generate the no-code connectors), ``webhook`` (register the Apex webhook receiver).

Subcommands import their module only when chosen, so ``mediagen --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

_COMMANDS = {
    "sim": ("airflow_provider_mediagen.simulator", "Serve the local simulator of the three services"),
    "demo": ("airflow_provider_mediagen.demo", "Run the example DAGs on real Airflow against the simulator"),
    "connectors": ("airflow_provider_mediagen.connectors.cli", "Generate the no-code connectors from the catalog"),
    "webhook": ("airflow_provider_mediagen.webhooks.cli", "Register the webhook receiver with a service"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="mediagen", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=sorted(_COMMANDS), help="; ".join(f"{k}: {v[1]}" for k, v in _COMMANDS.items()))
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    args, rest = parser.parse_known_args(argv[:1])
    module = import_module(_COMMANDS[args.command][0])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
