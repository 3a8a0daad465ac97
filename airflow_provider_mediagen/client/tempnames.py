"""Temporary names of files being written whole: ``.<name>.<12 hex>.part`` beside the target, renamed into
place once complete.

A writer that is killed (SIGKILL, OOM, eviction) cannot remove its temporary file; the next writer of the
same name can tell such leftovers from anything else in the folder by this exact shape, and removes them
once its own file is in place."""

from __future__ import annotations

import re
import secrets


def temp_name(name: str) -> str:
    return f".{name}.{secrets.token_hex(6)}.part"


def is_leftover_of(candidate: str, name: str) -> bool:
    """Whether ``candidate`` (a bare file name) is a temporary file of a writer of ``name``."""
    return re.fullmatch(rf"\.{re.escape(name)}\.[0-9a-f]{{12}}\.part", candidate) is not None
