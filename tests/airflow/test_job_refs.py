"""Job references instead of signed URLs in XCom (issue 25, item 3): a reference names a job and one of
its outputs; a media input given one reads the job when its task runs, for a URL fresh from the service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediagen.job_refs import JobRef, is_job_ref, job_refs, redacted_urls

from .conftest import run_dag


def test_a_reference_round_trips_and_odd_ones_are_refused() -> None:
    ref = JobRef("apex", "voice", "job/1 ?", "my conn", 2)
    assert JobRef.parse(str(ref)) == ref and is_job_ref(str(ref))
    assert job_refs("apex", "image", "j1", "c", 2) == ["mediagen://apex/image/j1?conn_id=c&output=0",
                                                       "mediagen://apex/image/j1?conn_id=c&output=1"]
    for bad in ("mediagen://apex/voice/j1", "mediagen://nope/voice/j1?conn_id=c", "mediagen://apex/voice/j1?"
                "conn_id=c&output=x", "https://apex/voice/j1?conn_id=c"):
        with pytest.raises(ValueError):
            JobRef.parse(bad)
    assert not is_job_ref("https://cdn.example/x.mp3?sig=abc") and not is_job_ref(None)


def test_signed_urls_are_masked_for_people_to_read() -> None:
    urls = ["https://cdn.example/a.png?expires=1&sig=deadbeef", "https://s3.example/b?X-Amz-Signature=abc&x=1"]
    masked = redacted_urls(urls)
    assert "deadbeef" not in str(masked) and "X-Amz-Signature=abc" not in str(masked)
    assert masked[0].startswith("https://cdn.example/a.png?expires=1&sig=") and "x=1" in masked[1]


def test_a_reference_to_a_job_without_that_output_fails_before_submitting(simulator: Any, tmp_path: Path) -> None:
    run, tis = run_dag("mediagen_ref_to_nothing")
    assert run.state == "failed" and tis["avatar"].try_number == 1  # a final error: retries not spent
    message = (tmp_path / "out" / "failures" / "avatar.txt").read_text()
    assert "field 'audio'" in message and "no output 3" in message, message
    assert [j["kind"] for j in simulator.jobs() if j["service"] == "apex"] == ["voice"]  # no avatar was paid for
