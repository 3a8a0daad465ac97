"""Job references: what XCom carries instead of signed output URLs.

A signed URL is a capability that expires (Apex: about 24 h): kept in XCom it leaks through Airflow's
own logs and UI, and a downstream retry a day later gets a 403. A reference names the job and the output
(``mediagen://apex/voice/<job_id>?conn_id=mediagen_apex_default&output=0``); an operator given one as a
media input reads the job again when it runs and passes on a URL fresh from the service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .catalog import SERVICES
from .client.secrets import scrub

__all__ = ["JobRef", "is_job_ref", "job_refs", "redacted_urls"]

_REF = re.compile(r"mediagen://[a-z0-9_]+/[a-z0-9_]+/[^/?#]+\?.*")


@dataclass(frozen=True)
class JobRef:
    service: str
    kind: str
    job_id: str
    conn_id: str
    output: int = 0

    def __str__(self) -> str:
        return (f"mediagen://{self.service}/{self.kind}/{quote(self.job_id, safe='')}"
                f"?conn_id={quote(self.conn_id, safe='')}&output={self.output}")

    @classmethod
    def parse(cls, text: str) -> JobRef:
        """The reference in ``text``; ``ValueError`` saying what is wrong with it."""
        parts = urlsplit(text)
        query = parse_qs(parts.query)
        segments = parts.path.strip("/").split("/")
        if parts.scheme != "mediagen" or len(segments) != 2 or not query.get("conn_id"):
            raise ValueError(f"not a job reference: {text!r} (expected mediagen://<service>/<kind>/<job_id>"
                             "?conn_id=<connection>&output=<n>)")
        service, (kind, job_id) = parts.netloc, segments
        if service not in SERVICES or kind not in SERVICES[service].kinds:
            raise ValueError(f"job reference {text!r}: unknown service or kind {service}/{kind}")
        output = query.get("output", ["0"])[0]
        if not output.isdigit():
            raise ValueError(f"job reference {text!r}: output must be a number, got {output!r}")
        return cls(service, kind, unquote(job_id), query["conn_id"][0], int(output))


def is_job_ref(value: Any) -> bool:
    return isinstance(value, str) and _REF.fullmatch(value) is not None


def job_refs(service: str, kind: str, job_id: str, conn_id: str, count: int) -> list[str]:
    return [str(JobRef(service, kind, job_id, conn_id, n)) for n in range(count)]


def redacted_urls(urls: Any) -> list[str]:
    """Output URLs with their credential query values (``sig``, ``token``, ``X-Amz-Signature``...)
    masked: where a file is, for people to read, never a capability to fetch it."""
    return [scrub(str(url)) for url in urls]
