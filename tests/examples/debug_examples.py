"""Run every example DAG once with ``dag.test()`` (the scheduled consumer of the asset pipeline excepted:
the scheduler starts it), in the Airflow home and at the log level the calling test set up. Prints one
line ``RESULTS {dag_id: state}``. Used by test_secrets_at_debug.py as a subprocess, so Airflow configures
its logging at DEBUG from the start."""

from __future__ import annotations

import json
import sys

from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
assert not bag.import_errors, bag.import_errors
states = {}
for dag_id in sorted(bag.dags):
    if dag_id == "mediagen_media_postprocess":
        continue
    states[dag_id] = str(bag.dags[dag_id].test().state)
print("RESULTS " + json.dumps(states), flush=True)
