"""What Airflow's providers manager learns about this package, built from the catalog so a new
service appears (connection type, hook, operators) without an edit here."""

from __future__ import annotations

from typing import Any

from . import __version__, naming
from .catalog import SERVICES
from .client.poller import DEFAULT_READ_SHARE, READ_SHARE_RANGE

_PKG = "airflow_provider_mediagen"


def _connection_type(service: str) -> dict[str, Any]:
    entry = SERVICES[service]
    fields: dict[str, Any] = {
        "base_url": {"label": "Base URL", "schema": {"type": ["string", "null"], "default": entry.base_url},
                     "description": "The service's API base URL; point it at `mediagen sim` or a proxy."},
        "webhook_secret": {"label": "Webhook secret", "schema": {"type": ["string", "null"], "format": "password"},
                           "description": "Secret carried by the webhook receiver URL handed to the service."},
        "webhook_base_url": {"label": "Public webhook base URL", "schema": {"type": ["string", "null"]},
                             "description": "Public URL of the Airflow API server, for webhook deliveries."},
        "webhook_internal_url": {"label": "Internal API server URL", "schema": {"type": ["string", "null"]},
                                 "description": "The API server as triggers reach it, if not the public URL."},
        "require_signature": {"label": "Require signed deliveries", "schema": {"type": ["boolean", "null"],
                                                                              "default": False},
                              "description": "Accept only Standard-Webhooks-signed deliveries (from a relay)."},
        "read_share": {"label": "Read budget share", "schema": {"type": ["number", "null"],
                                                                "default": DEFAULT_READ_SHARE,
                                                                "minimum": READ_SHARE_RANGE[0],
                                                                "maximum": READ_SHARE_RANGE[1]},
                       "description": "Part of the documented read budget the triggerer's shared poller spends."},
        "rate_limit_url": {"label": "Shared rate budget (Redis URL)",
                           "schema": {"type": ["string", "null"], "format": "password"},
                           "description": "redis://host:6379/0: every worker, triggerer and API server on this "
                                          "key spends one rate budget (pip install airflow-provider-mediagen[redis])."},
        "time_scale": {"label": "Time scale (simulator only)", "schema": {"type": ["number", "null"], "default": 1.0},
                       "description": "Shrinks client rate-limit windows for a time-scaled simulator; 1.0 otherwise."},
    }
    if any(kind.stream for kind in entry.kinds.values()):
        fields["jwt"] = {"label": "JWT for the status stream", "schema": {"type": ["string", "null"], "format": "password"},
                         "description": f"{entry.title}'s SSE stream takes a JWT, not the API key."}
    return {
        "connection-type": naming.conn_type(service),
        "hook-class-name": f"{_PKG}.hooks.mediagen.{naming.hook_class_name(service)}",
        "hook-name": f"{entry.title} (media generation)",
        "conn-fields": fields,
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port", "login", "extra"],
            "relabeling": {"password": "API key", "host": "Base URL (optional)"},
            "placeholders": {"password": f"{entry.key_prefix}...", "host": entry.base_url},
        },
    }


def get_provider_info() -> dict[str, Any]:
    titles = ", ".join(s.title for s in SERVICES.values())
    return {
        "package-name": "airflow-provider-mediagen",
        "name": "Media generation",
        "description": f"AI media generation as pipeline steps: {titles}.",
        "versions": [__version__],
        "integrations": [{"integration-name": s.title, "external-doc-url": s.base_url, "tags": ["service"]}
                         for s in SERVICES.values()],
        "hooks": [{"integration-name": s.title, "python-modules": [f"{_PKG}.hooks.mediagen"]}
                  for s in SERVICES.values()],
        "operators": [{"integration-name": s.title,
                       "python-modules": [f"{_PKG}.operators", f"{_PKG}.operators.webhook"]}
                      for s in SERVICES.values()],
        "sensors": [{"integration-name": s.title, "python-modules": [f"{_PKG}.sensors.job"]}
                    for s in SERVICES.values()],
        "triggers": [{"integration-name": s.title,
                      "python-modules": [f"{_PKG}.triggers.job", f"{_PKG}.triggers.completions"]}
                     for s in SERVICES.values()],
        "connection-types": [_connection_type(name) for name in SERVICES],
        "extra-links": [f"{_PKG}.operators.links.MediaOutputLink"],
        "plugins": [{"name": "mediagen", "plugin-class": f"{_PKG}.plugin.MediaGenPlugin"}],
        # ``airflow db migrate`` creates and upgrades the webhook receiver's tables through it.
        "db-managers": [f"{_PKG}.webhooks.db.MediaGenDBManager"],
        "config": {
            "mediagen": {
                "description": "The media generation provider's webhook receiver (on the API servers).",
                "options": {
                    "webhook_retention_days": {
                        "description": ("Days a recorded webhook delivery is kept after its last change; older "
                                        "ones are pruned by the receiver itself, in batches, at most every 5 "
                                        "minutes per API server. Keep it above your longest wait: a trigger "
                                        "still waiting for a pruned job learns its state by polling (or, for "
                                        "a webhook-only kind, only from a new delivery)."),
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "30",
                        "default": "7",
                    },
                },
            },
        },
    }
