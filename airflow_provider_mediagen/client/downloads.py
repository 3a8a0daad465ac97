"""The parts of a download that need no I/O of their own: its time and size budget, its progress
accounting (a stalled or oversized transfer is refused, not waited for), and the sinks it streams into
(a file written whole or not at all, or a caller's stream). Split from :mod:`.core`; both client twins
use them."""

from __future__ import annotations

import contextlib
import os
import time
from typing import IO, Protocol

import httpx

from . import errors
from .tempnames import is_leftover_of, temp_name

__all__ = ["DEFAULT_DOWNLOAD_TIMEOUT", "DEFAULT_MAX_DOWNLOAD_BYTES", "DownloadBudget", "DownloadProgress", "DownloadSink", "FileSink", "StreamSink"]

#: Download limits: an output is a generated image or video; a peer sending more, or for longer, is not one.
DEFAULT_MAX_DOWNLOAD_BYTES = 2 << 30  # 2 GiB
DEFAULT_DOWNLOAD_TIMEOUT = 1800.0  # 30 min, across attempts and redirects


class DownloadBudget:
    """The deadline of one download, across its attempts, redirects and waits; httpx's own timeouts
    only bound each read, so a peer dripping a byte a second would otherwise never time out."""

    def __init__(self, seconds: float, service: str) -> None:
        self.seconds = seconds
        self.service = service
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def timeout(self, per_read: float) -> httpx.Timeout:
        return httpx.Timeout(max(0.001, min(per_read, self.remaining())))

    def exceeded(self) -> errors.DownloadLimitError:
        return errors.DownloadLimitError(
            f"download of an output did not finish within {self.seconds:g} s (download_timeout); "
            "nothing was kept", limit="time", service=self.service, endpoint="GET output")

    def check(self) -> None:
        if self.remaining() <= 0:
            raise self.exceeded()


class DownloadProgress:
    """Counts one attempt's bytes against the size cap, the deadline and the declared Content-Length."""

    def __init__(self, response: httpx.Response, limit: int, budget: DownloadBudget, service: str) -> None:
        self.response = response
        self.limit = limit
        self.budget = budget
        self.service = service
        self.size = 0
        try:
            self.declared: int | None = int(response.headers["content-length"])
        except (KeyError, ValueError):
            self.declared = None

    def _too_big(self, what: str) -> errors.DownloadLimitError:
        return errors.DownloadLimitError(
            f"output {what} more than max_download_bytes ({self.limit} bytes); nothing was kept",
            limit="size", service=self.service, endpoint="GET output")

    def check_declared(self) -> None:
        if self.declared is not None and self.declared > self.limit:
            raise self._too_big(f"declares {self.declared} bytes,")

    def add(self, count: int) -> None:
        """Called before a chunk is written, so a file over the cap is never written past it."""
        self.size += count
        if self.size > self.limit:
            raise self._too_big("sent")
        self.budget.check()

    def finish(self) -> None:
        """A body shorter (or longer) than its Content-Length is an incomplete file, never published.
        Content-Length counts the bytes on the wire, which differ from the file's only when a host
        compresses although asked not to."""
        encoding = self.response.headers.get("content-encoding", "").strip().lower()
        received = self.size if encoding in ("", "identity") else self.response.num_bytes_downloaded
        if self.declared is not None and received != self.declared:
            raise errors.TransportError(f"download incomplete: {received} of {self.declared} bytes",
                                        service=self.service, endpoint="GET output")


class DownloadSink(Protocol):
    """Where one download writes. Every attempt starts from an empty file (a retry never appends a second
    copy), and the file appears at its name only once complete: :meth:`commit` publishes it, :meth:`discard`
    removes every trace of it."""

    def begin(self) -> IO[bytes]:
        """An empty writer for one attempt; what an earlier attempt wrote is gone."""

    def commit(self) -> None:
        """The whole file arrived: move it into place."""

    def discard(self) -> None:
        """The download failed: remove the partial file (safe to call more than once)."""


class FileSink:
    """A local path written through ``.<name>.<random>.part`` in the same folder, then renamed into place
    (atomic on one filesystem): a reader never sees half a file, and a failure leaves nothing."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.abspath(os.fspath(path))
        folder, name = os.path.split(self.path)
        self.temp = os.path.join(folder, temp_name(name))
        self._handle: IO[bytes] | None = None

    def begin(self) -> IO[bytes]:
        self._close()
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self._handle = open(self.temp, "wb")  # noqa: SIM115 - closed by commit or discard
        return self._handle

    def _close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.close()

    def commit(self) -> None:
        assert self._handle is not None, "commit before begin"
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._close()
        os.replace(self.temp, self.path)
        self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        """Temporary files of earlier writers of this name that were killed before they could clean up."""
        folder, name = os.path.split(self.path)
        for entry in os.listdir(folder):
            if is_leftover_of(entry, name):
                with contextlib.suppress(FileNotFoundError):  # another writer removed it first
                    os.unlink(os.path.join(folder, entry))

    def discard(self) -> None:
        try:
            self._close()
        finally:
            try:
                os.unlink(self.temp)
            except FileNotFoundError:
                pass


class StreamSink:
    """A caller's binary file object: rewound and truncated for each attempt when it can seek. A stream
    that cannot seek cannot be restarted, so a second attempt fails instead of appending a second copy."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self._attempts = 0

    def begin(self) -> IO[bytes]:
        self._attempts += 1
        if self.handle.seekable():
            self.handle.seek(0)
            self.handle.truncate()
        elif self._attempts > 1:
            raise errors.MediaGenError("download failed part way into a stream that cannot be rewound; "
                                       "pass a path or a seekable file to retry it", endpoint="GET output")
        return self.handle

    def commit(self) -> None:
        """Nothing to move: the caller owns the stream."""

    def discard(self) -> None:
        """Nothing to remove: the caller owns the stream."""
