"""Log and error scrubbing reaches what the issue found unscrubbed: records of child loggers reaching
handlers on the root logger, secrets registered through a temporary ``Secret(...)``, the signatures of
signed storage URLs, and the FaceDub JWT in Airflow's own task-log masker."""

from __future__ import annotations

import gc
import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from airflow.sdk import Connection  # imported first: Airflow sets up its logging on import
from airflow.sdk.log import mask_logs, mask_secret

from airflow_provider_mediagen.client.secrets import Secret, install_log_filter, scrub
from airflow_provider_mediagen.hooks.connection import settings_from_connection
from airflow_provider_mediagen.webhooks.urls import receiver_url, states_url

from .test_endpoints import simulator_jwt

MASK = "**********"


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"


class _RootLines(logging.Handler):
    """What a handler on the root logger writes: the formatted lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def root_lines() -> Iterator[list[str]]:
    """The only handler is on the root logger (as in Airflow's and most applications' setups); the
    package's and the HTTP stack's loggers, children included, log at DEBUG and propagate to it."""
    names = ("httpx", "httpcore", "httpcore.http11", "httpcore.connection", "airflow_provider_mediagen",
             "airflow_provider_mediagen.poller", "airflow_provider_mediagen.webhooks")
    loggers = [logging.getLogger(n) for n in names]
    saved = [(lg.level, lg.propagate, lg.disabled, list(lg.handlers)) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.propagate, lg.disabled, lg.handlers = True, False, []
    handler = _RootLines()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler.lines
    root.removeHandler(handler)
    for lg, (level, propagate, disabled, handlers) in zip(loggers, saved):
        lg.setLevel(level)
        lg.propagate, lg.disabled, lg.handlers = propagate, disabled, handlers


@pytest.mark.parametrize("name", ["airflow_provider_mediagen.poller", "httpcore.http11"])
def test_child_logger_records_are_masked_at_root_handlers(root_lines: list[str], name: str) -> None:
    """A filter on ``httpcore`` or ``airflow_provider_mediagen`` never sees a record logged on a child
    logger: the record goes straight to the handlers of its ancestors."""
    install_log_filter()  # what every client does when it is made
    key = _unique("sk_live_")
    held = Secret(key)
    logger = logging.getLogger(name)
    logger.debug("request to https://svc.example/jobs with %s", key)
    logger.warning(f"response header x-echo: {key}")
    assert len(root_lines) == 2, root_lines
    assert all(MASK in line for line in root_lines) and not [line for line in root_lines if key in line]
    assert held.get() == key


def test_a_secret_registered_through_a_temporary_stays_masked() -> None:
    """``Secret(token)`` whose object is dropped at once (how URL tokens are registered) still masks the
    token after a garbage collection."""
    token = _unique("feed-token-")
    Secret(token)
    gc.collect()
    assert scrub(f"POST https://airflow.example/states?t={token} failed") == \
        f"POST https://airflow.example/states?t={MASK} failed"


def test_receiver_tokens_stay_masked_once_their_urls_are_made(root_lines: list[str]) -> None:
    """The delivery and ``/states`` tokens are registered when their URLs are made, as temporaries."""
    conn = Connection(conn_id="scrub_apex", conn_type="mediagen_apex", password=_unique("sk_live_"),
                      extra=json.dumps({"webhook_secret": _unique("whsec-"),
                                        "webhook_base_url": "https://airflow.example"}))
    settings = settings_from_connection("apex", conn)
    urls = [receiver_url(settings, conn.conn_id), states_url(settings, conn.conn_id)]
    tokens = [str(httpx.URL(u).params["token"]) for u in urls if u]
    assert len(tokens) == 2
    del settings, urls
    gc.collect()
    install_log_filter()
    logging.getLogger("airflow_provider_mediagen.webhooks").warning("tokens %s and %s", *tokens)
    assert root_lines == [f"airflow_provider_mediagen.webhooks tokens {MASK} and {MASK}"]


def test_sse_jwt_stays_masked_after_the_stream(make_client: Any, simulator: Any, sample_photo: Any,
                                                sample_video: Any) -> None:
    """The JWT a status stream was opened with is masked in later messages too, not only in the
    stream's URL (its ``token=`` query value is masked by pattern anyway)."""
    fd = make_client("facedub")
    job = fd.submit("video", character_photo=sample_photo, reference_video=sample_video, duration=1)
    token = simulator_jwt(simulator)
    assert list(fd.stream_job(job.id, token))[-1].terminal
    gc.collect()
    assert token not in scrub(f"the stream was opened with {token}")


SIGNED_URLS = {
    "S3 V4": ("https://bucket.s3.amazonaws.com/out/video.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
              "&X-Amz-Credential=AKIAEXAMPLE%2F20260316%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260316T120000Z"
              "&X-Amz-Expires=900&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE&X-Amz-SignedHeaders=host"
              "&X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
              ["AKIAEXAMPLE", "IQoJb3JpZ2luX2VjEXAMPLE",
               "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"],
              ["X-Amz-Expires=900", "X-Amz-Date=20260316T120000Z"]),
    "GCS V4": ("https://storage.googleapis.com/b/o.png?X-Goog-Algorithm=GOOG4-RSA-SHA256"
               "&X-Goog-Credential=svc%40proj.iam.gserviceaccount.com%2F20260316%2Fauto%2Fstorage%2Fgoog4_request"
               "&X-Goog-Expires=600&X-Goog-Signature=8b1a9953c4611296a827abf8c47804d7a1c3f0e2",
               ["svc%40proj", "8b1a9953c4611296a827abf8c47804d7a1c3f0e2"], ["X-Goog-Expires=600"]),
    "Azure SAS": ("https://acct.blob.core.windows.net/c/out.mp4?sv=2022-11-02&se=2026-03-16T13%3A00%3A00Z&sr=b&sp=r"
                  "&sig=Zm9vYmFyYmF6cXV4%2BcXV1eA%3D%3D",
                  ["Zm9vYmFyYmF6cXV4%2BcXV1eA%3D%3D"], ["se=2026-03-16T13%3A00%3A00Z", "sp=r"]),
    "CloudFront": ("https://d111111abcdef8.cloudfront.net/v.mp4?Expires=1773666000"
                   "&Signature=nitfHRCrtziwO2HwPfWw~yYDhUF5EwRunQA-j19DzZrvDh6hQ73lDx"
                   "&Key-Pair-Id=K2JCJMDEHXQW5F",
                   ["nitfHRCrtziwO2HwPfWw~yYDhUF5EwRunQA-j19DzZrvDh6hQ73lDx"], ["Expires=1773666000"]),
}


@pytest.mark.parametrize("name", SIGNED_URLS)
def test_signed_url_credentials_are_masked_and_the_rest_kept(name: str) -> None:
    url, hidden, kept = SIGNED_URLS[name]
    text = scrub(f"GET {url} -> 403")
    assert not [value for value in hidden if value in text], text
    assert all(part in text for part in kept), text  # expiry and the like stay readable for debugging


def test_signed_output_url_is_masked_in_the_download_log_line(make_client: Any, root_lines: list[str]) -> None:
    """A real download of a simulator output: httpx logs the signed URL; its ``sig`` value is masked,
    its path and expiry are not."""
    apex = make_client("apex")
    job = apex.submit_and_wait("image", prompt="scrub me", poll_interval=0.05, timeout=30)
    url = httpx.URL(job.output_urls[0])
    signature = url.params["sig"]
    apex.download(str(url), io.BytesIO())
    lines = [line for line in root_lines if url.path in line]
    assert lines, root_lines
    assert not [line for line in root_lines if signature in line]
    assert any(f"sig={MASK}" in line and f"expires={url.params['expires']}" in line for line in lines), lines


def test_jwt_extra_is_masked_by_airflows_task_log_masker() -> None:
    """Airflow masks a fetched connection's password and its extra as one JSON text, and hides an
    extra's value only under a sensitive key name; ``jwt`` is not one, so reading the settings masks the
    JWT by value in the masker Airflow's task and trigger logs go through (``airflow.sdk.log.mask_logs``,
    the structlog processor of the task-log pipeline)."""
    jwt = f"eyJhbGciOiJIUzI1NiJ9.{_unique('')}.{_unique('')}"
    conn = Connection(conn_id="scrub_facedub", conn_type="mediagen_facedub", password=_unique("fdb_"),
                      extra=json.dumps({"jwt": jwt}))
    mask_secret(conn.extra)  # what Airflow itself does with a fetched connection's extra
    event = {"event": f"opening the status stream with {jwt}", "token": None}
    assert jwt in json.dumps(mask_logs(None, "info", dict(event)))  # not yet hidden on its own
    settings = settings_from_connection("facedub", conn)
    assert settings.jwt is not None and settings.jwt.get() == jwt
    assert jwt not in json.dumps(mask_logs(None, "info", dict(event)))


def test_values_too_short_to_be_secrets_do_not_mask_every_letter() -> None:
    """Before: ``Secret("k")`` (a placeholder key) turned every "k" of every later log line into stars."""
    from airflow_provider_mediagen.client.secrets import MIN_MASKED_LENGTH, Secret, scrub

    short, real = Secret("k"), Secret("sk_live_" + "short-test-0123")
    assert scrub("keep looking at sk_live_short-test-0123") == "keep looking at **********"
    assert repr(short) == repr(real) == "Secret('**********')" and MIN_MASKED_LENGTH == 5


def test_thousands_of_secrets_each_masked_whole_whenever_registered() -> None:
    """The matcher is an automaton rebuilt in batches (one pass per text, whatever the number of
    secrets); values registered since the last build, and values that contain or overlap older ones,
    are masked whole all the same."""
    base = uuid.uuid4().hex
    held = [Secret(f"fdb_{base}_{i:05d}") for i in range(3000)]
    assert scrub(f"a {held[1234].get()} b") == "a ********** b"
    # Registered after the build, one of them containing an older secret: no tail of it may show.
    newer = Secret(held[7].get() + "_rotated")
    shorter = Secret(held[8].get()[:-3])
    text = scrub(f"{newer.get()} | {held[8].get()} | {shorter.get()}x | {held[2999].get()}")
    assert text == "********** | ********** | **********x | **********", text
    assert all(s.get() not in text for s in (*held, newer, shorter))


def test_values_no_secret_holds_are_forgotten_in_bounds_and_held_ones_never() -> None:
    from airflow_provider_mediagen.client import secrets

    base = uuid.uuid4().hex
    kept = Secret(f"held-{base}")
    for i in range(secrets.MAX_REMEMBERED * 2):
        Secret(f"gone-{base}-{i:05d}")  # a temporary: nothing holds it once made
    assert len(secrets._REMEMBERED) <= secrets.MAX_REMEMBERED + len(secrets._LIVE)
    assert f"held-{base}" in secrets._REMEMBERED
    assert scrub(f"[{kept.get()}]") == "[**********]"
