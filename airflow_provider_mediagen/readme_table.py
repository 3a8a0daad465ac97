"""The README's table of operators and sensors, generated from the catalog.

    python -m airflow_provider_mediagen.readme_table          # rewrite the table in README.md
    python -m airflow_provider_mediagen.readme_table --check  # exit 1 when README.md is stale

The table sits between the two marker lines below; everything else in the README is hand-written.
Imports only the catalog and the naming rules (no Airflow), so it runs anywhere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import naming
from .generated_file import write_or_check
from .catalog import SERVICES, Completion

BEGIN = "<!-- BEGIN GENERATED: operators (python -m airflow_provider_mediagen.readme_table) -->"
END = "<!-- END GENERATED: operators -->"
README = Path(__file__).resolve().parents[1] / "README.md"

_HOW = {Completion.SYNC: "answered at once", Completion.POLL: "polled", Completion.LIST: "listed",
        Completion.WEBHOOK: "webhook", Completion.SSE: "SSE"}


def _required(service: str, kind: str) -> list[str]:
    entry = SERVICES[service]
    endpoint = entry.endpoint(entry.kind(kind).submit)
    names = [rule.field for rule in endpoint.files]
    if endpoint.request is not None:
        names += [name for name, info in endpoint.request.model_fields.items() if info.is_required()]
    return names


def render_table() -> str:
    """The Markdown table (one row per generation operator, then the sensor), deterministic."""
    lines = [
        "| Class | Service | What it makes | Endpoint | Credits (documented) | Completion | Required parameters |",
        "|---|---|---|---|---|---|---|",
    ]
    for service, entry in SERVICES.items():
        for kind_name, kind in entry.kinds.items():
            endpoint = entry.endpoint(kind.submit)
            cost = endpoint.credit_cost.describe() if endpoint.credit_cost else "-"
            how = ", ".join(_HOW[c] for c in kind.completion)
            required = ", ".join(f"`{name}`" for name in _required(service, kind_name)) or "-"
            lines.append(f"| `{naming.operator_class_name(service, kind_name)}` | {entry.title} | {kind.title} "
                         f"| `{endpoint.method} {endpoint.path}` | {cost or '-'} | {how} | {required} |")
    pollable = sorted(f"{service}/{kind_name}" for service, entry in SERVICES.items()
                      for kind_name, kind in entry.kinds.items() if kind.pollable)
    lines.append(f"| `MediaJobSensor` | all | waits for an existing job | the kind's status endpoint | - "
                 f"| poke or deferrable | `service`, `kind`, `job_id` ({len(pollable)} pollable kinds) |")
    lines.append("| `MediaWebhookRegisterOperator` | services with an account webhook | registers the receiver "
                 "| " + ", ".join(f"`{entry.webhook_registration and entry.endpoint(entry.webhook_registration).key}`"
                                  for entry in SERVICES.values() if entry.webhook_registration) + " | - | - | `service` |")
    return "\n".join(lines) + "\n"


def updated(text: str) -> str:
    """``text`` (a README) with the table between the markers regenerated."""
    try:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise ValueError(f"README has no generated-table markers ({BEGIN!r} ... {END!r})") from None
    return f"{head}{BEGIN}\n{render_table()}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_mediagen.readme_table",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the README's table is stale")
    parser.add_argument("--readme", default=str(README))
    args = parser.parse_args(argv)
    path = Path(args.readme)
    text = path.read_text(encoding="utf-8")
    return write_or_check(path, updated(text), text, check=args.check, what="the operator table",
                          command="python -m airflow_provider_mediagen.readme_table")


if __name__ == "__main__":
    sys.exit(main())
