"""Webhooks end to end: the receiver mounted on the Airflow API server (``app``), its durable store
(``store``), what waiting triggers read back (``feed``), tokens and signatures (``tokens``)."""
