"""mediagen credits: what generation tasks paid for, from Airflow's metadata database.

Reads the database this Airflow installation is configured with (AIRFLOW_HOME / AIRFLOW__DATABASE__*),
like any airflow command; prints a table in a terminal, or JSON with --json.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime, timedelta, timezone

from .query import BY, Ledger

__all__ = ["main", "parse_since"]

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``7d``, ``12h``, ``30m``, ``2w`` ago, or an ISO date or time (UTC unless it says otherwise)."""
    now = now or datetime.now(timezone.utc)
    match = _SPAN.match(text)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--since {text!r}: give a span (7d, 12h, 30m, 2w) or an ISO date or time (2026-12-01)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _figure(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def render(report: Ledger) -> str:
    """The report as a rich table (plus the connections' balances), as text."""
    from rich.console import Console
    from rich.table import Table

    console = Console(record=True, width=140, force_terminal=False, color_system=None)
    title = f"Credits since {report.since:%Y-%m-%d %H:%M} UTC, by {report.by}"
    table = Table(title=title, show_footer=bool(report.groups))
    total = report.total
    columns = (("jobs", "Jobs"), ("failed", "Failed"), ("estimated", "Estimated"), ("charged", "Charged"),
               ("refunded", "Refunded"), ("net", "Net"), ("estimate_gap", "Charged - estimate"))
    table.add_column(report.by.capitalize(), footer="Total")
    for name, header in columns:
        table.add_column(header, justify="right", footer=_figure(getattr(total, name)))
    for group in report.groups:
        table.add_row(group.key, *(_figure(getattr(group, name)) for name, _ in columns))
    console.print(table)
    notes = []
    if total.without_charge:
        notes.append(f"{total.without_charge} job(s) with no charge reported (not in the sums)")
    if total.without_estimate:
        notes.append(f"{total.without_estimate} job(s) with no documented estimate")
    if total.failed_refund_unreported:
        notes.append(f"{total.failed_refund_unreported} failed job(s) whose service does not report refunds")
    for note in notes:
        console.print(f"Note: {note}.")
    if report.balances:
        accounts = Table(title="Accounts now")
        for header in ("Connection", "Service", "Plan", "Balance"):
            accounts.add_column(header, justify="right" if header == "Balance" else "left")
        for row in report.balances:
            balance = _figure(row.balance) if row.balance is not None else (row.error or "?")
            accounts.add_row(row.conn_id, row.service, row.plan or "", balance)
        console.print(accounts)
    return console.export_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediagen credits", description=__doc__.split("\n\n")[0])
    parser.add_argument("--since", type=parse_since, default="7d",
                        help="from when: a span ago (7d, 12h, 30m, 2w) or an ISO date (default 7d)")
    parser.add_argument("--by", choices=BY, default="day", help="group by (default day)")
    parser.add_argument("--dag", action="append", dest="dags", metavar="DAG_ID",
                        help="only these DAGs (repeatable)")
    parser.add_argument("--no-balances", action="store_true",
                        help="do not read the connections' current balances from the services")
    parser.add_argument("--json", action="store_true", help="JSON for scripts instead of a table")
    args = parser.parse_args(argv)
    if isinstance(args.since, str):  # argparse does not convert a default
        args.since = parse_since(args.since)

    from airflow.utils.session import create_session

    from .balances import balances
    from .query import ledger

    with create_session() as session:
        report = ledger(session, args.since, args.by, dag_ids=args.dags,
                        read_balances=None if args.no_balances else balances)
    if args.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render(report))
    return 0
