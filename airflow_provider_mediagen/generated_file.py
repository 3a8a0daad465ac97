"""Writing or checking a file generated from the catalog (the README's operator table, docs/parameters.md):
one behaviour for every generator's ``--check``, so a stale file fails CI the same way everywhere."""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(path: Path, fresh: str, current: str, *, check: bool, what: str, command: str) -> int:
    """With ``check``, exit status 1 (and say how to regenerate) when ``current`` differs from ``fresh``;
    else write ``fresh`` to ``path`` when it differs. ``what`` names the content, ``command`` regenerates it."""
    if check:
        if fresh != current:
            print(f"{path}: {what} is stale; run {command}", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        path.write_text(fresh, encoding="utf-8")
        print(f"updated {path}")
    return 0
