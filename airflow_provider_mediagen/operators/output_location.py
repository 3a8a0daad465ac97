"""Checking ``output_path`` before anything is paid for: a scheme Airflow knows, its filesystem driver
installed, and (for local folders, where it is cheap) a folder that can be written.

Found after the submit, any of these would fail a task whose job was already charged, and again on each
retry; found here, the error names the field and the ``pip install`` that fixes it.
"""

from __future__ import annotations

import os
import re
from typing import Any

from airflow.sdk import ObjectStoragePath

from ..catalog import Endpoint
from .outputs import destination
from .validation import ParameterError

__all__ = ["checked_destination", "checked_output_name"]

# What to install for the object stores Airflow's ObjectStoragePath serves through provider packages.
_INSTALL = {
    "s3": "pip install 'apache-airflow-providers-amazon[s3fs]'",
    "s3a": "pip install 'apache-airflow-providers-amazon[s3fs]'",
    "gs": "pip install 'apache-airflow-providers-google' gcsfs",
    "gcs": "pip install 'apache-airflow-providers-google' gcsfs",
    "abfs": "pip install 'apache-airflow-providers-microsoft-azure' adlfs",
    "az": "pip install 'apache-airflow-providers-microsoft-azure' adlfs",
    "adl": "pip install 'apache-airflow-providers-microsoft-azure' adlfs",
    "wasb": "pip install 'apache-airflow-providers-microsoft-azure' adlfs",
}


def _reject(service: str, endpoint: Endpoint, why: str, field: str = "output_path") -> ParameterError:
    return ParameterError(f"field '{field}': {why}; nothing was submitted", service=service,
                          endpoint=endpoint.key, field=field)


# A file stem, not a path: no separators, no leading dot (hidden files, "..").
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,119}")


def checked_output_name(service: str, endpoint: Endpoint, value: Any,
                        folder: ObjectStoragePath | None = None) -> str | None:
    """``output_name`` as a safe file stem, or a :class:`ParameterError`; with ``folder`` (at run time,
    before the submit) also refused when a file of that name is already there, so a job is never paid for
    only to overwrite another output (two rows templating to the same name are the usual cause)."""
    if value is None:
        return None
    stem = value.strip() if isinstance(value, str) else value
    if not isinstance(stem, str) or not _STEM.fullmatch(stem) or ".." in stem:
        raise _reject(service, endpoint, f"{value!r} is not a file name: use 1-120 letters, digits, '.', '_', "
                      "'-' or spaces, starting with a letter or digit (the extension is added from the media "
                      "type)", "output_name")
    if folder is not None:
        taken = _taken(folder, stem)
        if taken:
            raise _reject(service, endpoint, f"{str(folder / taken)!r} already exists and outputs are never "
                          "overwritten: choose another name (or remove the file)", "output_name")
    return stem


def _taken(folder: ObjectStoragePath, stem: str) -> str | None:
    """The name of an existing output of ``stem`` in ``folder`` (``stem.ext`` or ``stem-N.ext``)."""
    pattern = re.compile(re.escape(stem) + r"(-\d+)?\.[A-Za-z0-9]+")
    try:
        names = [entry.name for entry in folder.iterdir()]
    except (FileNotFoundError, NotADirectoryError):
        return None
    return next((name for name in sorted(names) if pattern.fullmatch(name)), None)


def checked_destination(service: str, endpoint: Endpoint, value: Any, *, create: bool = True) -> ObjectStoragePath:
    """The ObjectStoragePath for ``value``, or a :class:`ParameterError` naming ``output_path`` and the fix.

    ``create`` (at run time) loads the driver, makes a local folder and checks it is writable; at parse
    time only the scheme is checked (nothing is created, no connection is read)."""
    text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else value
    if isinstance(text, str) and not text.strip():
        raise _reject(service, endpoint, "is empty")
    scheme = text.split("://", 1)[0].lower() if isinstance(text, str) and "://" in text else "file"
    try:
        path = destination(text)
        if create:  # at run time, load the filesystem driver (which may read a connection): not at parse
            path.fs  # noqa: B018 - a missing driver fails here, not after paying
    except ImportError as exc:
        hint = _INSTALL.get(scheme)
        raise _reject(service, endpoint, f"{text!r} needs a filesystem driver that is not installed ({exc})"
                      + (f": {hint}" if hint else "")) from None
    except (ValueError, TypeError) as exc:
        raise _reject(service, endpoint, f"{text!r} is not a usable location ({exc})"
                      + (f"; for {scheme}:// run {_INSTALL[scheme]}" if scheme in _INSTALL else "")) from None
    if create and path.protocol in ("file", "local", ""):
        local = path.path
        try:
            os.makedirs(local, exist_ok=True)
        except OSError as exc:
            raise _reject(service, endpoint, f"cannot create the folder {local!r} ({exc.strerror})") from None
        if not os.path.isdir(local) or not os.access(local, os.W_OK | os.X_OK):
            raise _reject(service, endpoint, f"the folder {local!r} is not writable by this worker")
    return path
