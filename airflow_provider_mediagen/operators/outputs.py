"""Writing a job's outputs to any ObjectStoragePath destination (local, s3://, gs://...), streamed.

File names come from the job id, the kind and the media type, never from text a prompt or a service
controls beyond a sanitized id, so a destination cannot be escaped.

Each file is written to ``.<name>.<random>.part`` in the destination folder and moved to its name only
once complete (the client checks the byte count against Content-Length): a reader, an asset consumer or
the next task never sees half a file, and a failed download leaves nothing behind. A signed URL that
expired (the task ran long after the job, or a retry reuses a recorded result) is renewed by re-reading
the job, when the caller says how.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import IO
from urllib.parse import urlsplit

from airflow.sdk import ObjectStoragePath

from ..catalog import Job, JobKind
from ..client import MediaClient
from ..client.errors import ExpiredURLError, ProtocolError
from ..client.tempnames import is_leftover_of, temp_name

log = logging.getLogger(__name__)

__all__ = ["MAX_URL_REFRESHES", "destination", "output_name", "write_outputs"]

#: How often one file's URL may be renewed: a URL that expires again at once will not be fixed by a third.
MAX_URL_REFRESHES = 2

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_KNOWN_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4", ".mov", ".webm", ".wav", ".mp3", ".m4a"}


def destination(path: str | os.PathLike[str] | ObjectStoragePath) -> ObjectStoragePath:
    """An ObjectStoragePath for a URI or a plain local path."""
    if isinstance(path, ObjectStoragePath):
        return path
    text = os.fspath(path)
    if "://" not in text:
        text = "file://" + os.path.abspath(text)
    return ObjectStoragePath(text)


def _suffix(kind: JobKind, url: str, job: Job) -> str:
    if job.media_type and (guess := mimetypes.guess_extension(job.media_type.split(";")[0])):
        return ".jpg" if guess == ".jpe" else guess
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if suffix in _KNOWN_SUFFIXES:
        return suffix
    return f".{kind.extension}" if kind.extension else ".bin"


def output_name(job: Job, kind: JobKind, url: str, index: int = 0, stem: str | None = None) -> str:
    """``<stem>[-N].<ext>``: the user's ``output_name`` when given (checked by ``output_location``), else
    ``<job_id>-<kind>``; the extension from the media type, ``-2``, ``-3`` for a job's later files."""
    stem = stem or f"{_UNSAFE.sub('_', job.id).strip('_')[:120] or 'job'}-{kind.name}"
    number = f"-{index + 1}" if index else ""
    return f"{stem}{number}{_suffix(kind, url, job)}"


class _StorageSink:
    """A :class:`~..client.core.DownloadSink` on any fsspec filesystem behind an ObjectStoragePath:
    writes ``.<name>.<random>.part`` beside the target and moves it into place (a rename on local disks,
    copy-then-delete on object stores, where the object appears only once whole)."""

    def __init__(self, target: ObjectStoragePath) -> None:
        self.target = target
        self.fs = target.fs
        self.temp = (target.parent / temp_name(target.name)).path
        self._handle: IO[bytes] | None = None

    def begin(self) -> IO[bytes]:
        self._close()
        self._handle = self.fs.open(self.temp, "wb")  # "wb" starts an earlier attempt's file again from zero
        return self._handle

    def _close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.close()

    def commit(self) -> None:
        self._close()  # an object store uploads on close: a failure here is still a failed download
        self.fs.mv(self.temp, self.target.path)
        _record_lineage(self.target)
        self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        """Temporary files of earlier tries writing this name that were killed before they could clean
        up. Best effort: the file is already in place, and a folder that cannot be listed keeps them."""
        try:
            for entry in self.fs.ls(self.target.parent.path, detail=False):
                if is_leftover_of(PurePosixPath(entry).name, self.target.name):
                    with contextlib.suppress(FileNotFoundError):
                        self.fs.rm(entry)
        except Exception as exc:  # noqa: BLE001 - never fail a task whose file was written whole
            log.warning("Could not remove earlier tries' temporary files beside %s: %s", self.target, exc)

    def discard(self) -> None:
        try:
            with contextlib.suppress(Exception):  # the download's own error is the one worth raising
                self._close()
        finally:
            with contextlib.suppress(FileNotFoundError):
                if self.fs.exists(self.temp):
                    self.fs.rm(self.temp)


def _record_lineage(target: ObjectStoragePath) -> None:
    """What ``target.open("wb")`` reported before writes went through a temporary name: the output
    asset is the final file, never the ``.part`` one."""
    try:
        from airflow.sdk.lineage import get_hook_lineage_collector
    except ImportError:  # pragma: no cover - older SDKs
        return
    get_hook_lineage_collector().add_output_asset(context=target, uri=str(target))


def write_outputs(client: MediaClient, job: Job, kind: JobKind, dest: ObjectStoragePath, *,
                  refresh: Callable[[], Job] | None = None, stem: str | None = None) -> list[str]:
    """Stream every output URL of ``job`` into ``dest`` (a folder), each file atomically; returns the
    written URIs.

    ``refresh`` re-reads the job from the service. When a signed URL has expired (the file host answers
    403), it is called for fresh URLs and the file at the same index is fetched again, at most
    :data:`MAX_URL_REFRESHES` times per file; the fresh URLs serve the later files too. Without it an
    expired URL fails with an :class:`ExpiredURLError` naming the job. ``stem`` names the files
    (:func:`output_name`)."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    urls = tuple(job.output_urls)
    for index, url in enumerate(job.output_urls):
        target = dest / output_name(job, kind, url, index, stem)
        urls = _download_renewing(client, job, urls, index, target, refresh)
        written.append(str(target))
    return written


def _download_renewing(client: MediaClient, job: Job, urls: tuple[str, ...], index: int,
                       target: ObjectStoragePath, refresh: Callable[[], Job] | None) -> tuple[str, ...]:
    """Download output ``index`` to ``target``, renewing expired URLs; returns the URLs last used."""
    for refreshes in range(MAX_URL_REFRESHES + 1):
        try:
            client.download(urls[index], _StorageSink(target))
            return urls
        except ExpiredURLError as exc:
            if refresh is None:
                raise _expired(job, index, exc, "no way to re-read the job for fresh URLs was given "
                               "(write_outputs(refresh=...))") from None
            if refreshes == MAX_URL_REFRESHES:
                raise _expired(job, index, exc, f"still refused after {MAX_URL_REFRESHES} fresh reads of "
                               "the job") from None
            urls = _fresh_urls(refresh(), job, index)
    raise AssertionError("unreachable")


def _fresh_urls(fresh: Job, job: Job, index: int) -> tuple[str, ...]:
    if len(fresh.output_urls) <= index:
        raise ProtocolError(f"a fresh read of the job lists {len(fresh.output_urls)} output URL(s), not output "
                            f"{index + 1}", service=job.service, job_id=job.id)
    return tuple(fresh.output_urls)


def _expired(job: Job, index: int, exc: ExpiredURLError, why: str) -> ExpiredURLError:
    return ExpiredURLError(f"the signed URL of output {index + 1} expired (the file host answered 403); {why}",
                           service=job.service, endpoint=exc.endpoint, status_code=exc.status_code,
                           job_id=job.id)
