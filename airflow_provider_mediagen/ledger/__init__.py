"""The credits ledger: what each generation task paid for, read back from what Airflow already stores.

Workers write nothing new anywhere: every generation task pushes one XCom (key :data:`XCOM_KEY`) listing
the jobs it paid for across its tries (:mod:`.entries`); the ledger query reads those rows with their
task instances (:mod:`.query`) for the ``mediagen credits`` command and the API server's route."""

from .entries import XCOM_KEY, LedgerEntry

__all__ = ["LedgerEntry", "XCOM_KEY"]
