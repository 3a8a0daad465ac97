"""Register the Airflow webhook receiver with a service, or show its address (mediagen webhook).

    mediagen webhook register --service SERVICE [--conn-id mediagen_SERVICE_default]
    mediagen webhook show --service SERVICE [--conn-id ...]

The connection is read the way Airflow reads it (environment variables, secrets backends, the
metadata DB); the receiver token in the URL is never printed.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from ..catalog import SERVICES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediagen webhook", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["register", "show"])
    parser.add_argument("--service", choices=sorted(SERVICES), required=True)
    parser.add_argument("--conn-id", help="Airflow connection (default mediagen_<service>_default)")
    args = parser.parse_args(argv)

    from airflow.models.connection import Connection

    from ..hooks.connection import settings_from_connection
    from ..hooks.mediagen import hook_for
    from .registration import register_webhook
    from ..webhooks.urls import receiver_url

    hook = hook_for(args.service, args.conn_id)
    # Outside a task the connection is read through Airflow's core model (env vars, secrets, DB).
    hook.__dict__["settings"] = settings_from_connection(args.service,
                                                         Connection.get_connection_from_secrets(hook.conn_id))
    try:
        if args.action == "register":
            summary = register_webhook(hook)
            print(f"{SERVICES[args.service].title}: webhook set to {summary['receiver']}?token=***")
        else:
            url = receiver_url(hook.settings, hook.conn_id)
            if url is None:
                print(f"connection {hook.conn_id!r} has no webhook setup (extras webhook_secret, webhook_base_url)")
                return 1
            parts = urlsplit(url)
            print(f"{parts.scheme}://{parts.netloc}{parts.path}?token=***")
    except Exception as exc:  # a CLI prints the reason, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
