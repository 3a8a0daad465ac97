"""Upload sources for multipart fields, checked against the catalog's file rules before sending.

A source may be a local path, or an open binary file object (anything with ``read``; an
``ObjectStoragePath.open("rb")`` handle works). The file is streamed by httpx's multipart encoder,
never read whole into memory; only its first bytes are sniffed to catch a renamed file.
"""

from __future__ import annotations

import io
import mimetypes
import os
from contextlib import ExitStack
from pathlib import PurePath
from typing import IO, Any, Union

from ..catalog import FileRule
from .errors import ValidationError

__all__ = ["UploadSource", "open_uploads"]

UploadSource = Union[str, "os.PathLike[str]", IO[bytes], tuple[str, IO[bytes]]]


def _size(handle: IO[bytes]) -> int | None:
    try:
        return os.fstat(handle.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    if handle.seekable():
        here = handle.tell()
        end = handle.seek(0, io.SEEK_END)
        handle.seek(here)
        return end - here
    return None


def _sniff(handle: IO[bytes], rule: FileRule) -> bool:
    if not rule.signatures or not handle.seekable():
        return True
    here = handle.tell()
    head = handle.read(32)
    handle.seek(here)
    return any(head[offset:offset + len(sig)] == sig for offset, sig in rule.signatures)


def _check(rule: FileRule, name: str, handle: IO[bytes], *, service: str, endpoint: str) -> tuple[str, IO[bytes], str]:
    def fail(why: str) -> ValidationError:
        return ValidationError(f"field '{rule.field}': {why}", service=service, endpoint=endpoint, field=rule.field)

    suffix = PurePath(name).suffix.lower()
    if suffix not in rule.extensions:
        raise fail(f"{name!r} is not one of {', '.join(rule.extensions)}")
    size = _size(handle)
    if size is not None and size > rule.max_bytes:
        raise fail(f"{size} bytes is over the {rule.max_bytes // (1024 * 1024)} MB limit")
    if size == 0:
        raise fail("the file is empty")
    if not _sniff(handle, rule):
        raise fail(f"{name!r} does not look like {' / '.join(rule.media_types)} (its first bytes do not match)")
    media_type = mimetypes.guess_type(name)[0] or rule.media_types[0]
    if media_type not in rule.media_types:
        media_type = rule.media_types[0]
    return PurePath(name).name, handle, media_type


def open_uploads(
    rules: tuple[FileRule, ...],
    sources: dict[str, Any],
    stack: ExitStack,
    *,
    service: str,
    endpoint: str,
) -> dict[str, tuple[str, IO[bytes], str]]:
    """Open and check every file field; files opened here are closed by ``stack``."""
    missing = [r.field for r in rules if sources.get(r.field) is None]
    if missing:
        raise ValidationError(
            f"field '{missing[0]}': a file is required", service=service, endpoint=endpoint, field=missing[0])
    unknown = set(sources) - {r.field for r in rules}
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError(f"field '{name}': not a file field of this endpoint",
                              service=service, endpoint=endpoint, field=name)
    files = {}
    for rule in rules:
        source = sources[rule.field]
        if isinstance(source, tuple):
            name, handle = source
        elif isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            if not os.path.isfile(path):
                raise ValidationError(f"field '{rule.field}': no such file {path!r}",
                                      service=service, endpoint=endpoint, field=rule.field)
            name, handle = path, stack.enter_context(open(path, "rb"))
        elif hasattr(source, "read"):
            name = str(getattr(source, "name", "") or getattr(source, "path", "") or rule.field)
            handle = source
        else:
            raise ValidationError(f"field '{rule.field}': expected a path or a binary file object",
                                  service=service, endpoint=endpoint, field=rule.field)
        files[rule.field] = _check(rule, name, handle, service=service, endpoint=endpoint)
    return files
