"""The provider's tables in Airflow's migrations: ``airflow db migrate`` creates and upgrades them (and
``airflow db reset`` drops them) through this manager, found by Airflow in the provider's
``db-managers``. The receiver still makes a missing table on its first request, for a deployment that
installed this version without running ``airflow db migrate``; the migrations tolerate that."""

from __future__ import annotations

from pathlib import Path

from airflow.utils.db_manager import BaseDBManager

from .store import VERSION_TABLE, metadata

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class MediaGenDBManager(BaseDBManager):
    metadata = metadata
    migration_dir = str(_MIGRATIONS)
    alembic_file = str(_MIGRATIONS / "alembic.ini")
    version_table_name = VERSION_TABLE
    supports_table_dropping = True
