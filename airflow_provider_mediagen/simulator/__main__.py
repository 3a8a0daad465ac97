"""``python -m airflow_provider_mediagen.simulator``: same as ``mediagen sim``."""

import sys

from .cli import main

sys.exit(main())
