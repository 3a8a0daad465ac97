"""Writing a job's outputs to any ObjectStoragePath destination (local, s3://, gs://...), streamed.

File names come from the job id, the kind and the media type, never from text a prompt or a service
controls beyond a sanitized id, so a destination cannot be escaped."""

from __future__ import annotations

import mimetypes
import os
import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from airflow.sdk import ObjectStoragePath

from ..catalog import Job, JobKind
from ..client import MediaClient

__all__ = ["destination", "output_name", "write_outputs"]

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
    output_type = job.raw.get("outputType")
    if isinstance(output_type, str) and (guess := mimetypes.guess_extension(output_type.split(";")[0])):
        return ".jpg" if guess == ".jpe" else guess
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if suffix in _KNOWN_SUFFIXES:
        return suffix
    return f".{kind.extension}" if kind.extension else ".bin"


def output_name(job: Job, kind: JobKind, url: str, index: int = 0) -> str:
    stem = _UNSAFE.sub("_", job.id).strip("_")[:120] or "job"
    number = f"-{index + 1}" if index else ""
    return f"{stem}-{kind.name}{number}{_suffix(kind, url, job)}"


def write_outputs(client: MediaClient, job: Job, kind: JobKind, dest: ObjectStoragePath) -> list[str]:
    """Stream every output URL of ``job`` into ``dest`` (a folder); returns the written URIs."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for index, url in enumerate(job.output_urls):
        target = dest / output_name(job, kind, url, index)
        with target.open("wb") as handle:
            client.download(url, handle)
        written.append(str(target))
    return written
