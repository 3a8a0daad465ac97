"""``mediagen demo``: the example DAGs end to end on real Airflow 3.3 against the local simulator.

See :mod:`.run` for what it does; :mod:`.environment` holds what the examples expect around them,
:mod:`.stack` starts and stops real Airflow processes, :mod:`.gallery` writes the HTML gallery.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from .run import main as _main

    return _main(argv)


__all__ = ["main"]
