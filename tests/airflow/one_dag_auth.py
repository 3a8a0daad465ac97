"""An auth manager for the credits route's test: Airflow's SimpleAuthManager, except that the user
``onedag`` may read one DAG only (SimpleAuthManager's roles are all-DAGs-or-none; a real deployment would
use FAB's or Keycloak's per-DAG permissions through the same auth manager interface)."""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

ONE_DAG = "money_apex_worker"
LIMITED_USER = "onedag"


class OneDagAuthManager(SimpleAuthManager):
    def is_authorized_dag(self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None) -> bool:
        if user.get_name() == LIMITED_USER and getattr(details, "id", None) != ONE_DAG:
            return False
        return super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details)
