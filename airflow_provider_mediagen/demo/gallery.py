"""The demo's HTML gallery: one self-contained page (no script, no network) beside the outputs, with
every generated file shown (images) or playable (audio, video) and, for each, the job id, the kind,
the credits and the timing of the Airflow task that made it."""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["GalleryItem", "items_from_result", "media_type", "write_gallery"]

_TYPES = {
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".webp": "image", ".gif": "image",
    ".wav": "audio", ".mp3": "audio", ".m4a": "audio", ".ogg": "audio",
    ".mp4": "video", ".webm": "video", ".mov": "video",
}
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".wav": "audio/wav", ".mp3": "audio/mpeg",
         ".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime", ".m4a": "audio/mp4"}


def media_type(path: str | os.PathLike[str]) -> str:
    """``image``, ``audio``, ``video`` or ``file``, from the file name."""
    return _TYPES.get(Path(path).suffix.lower(), "file")


@dataclass
class GalleryItem:
    """One task's outcome: a generated file (or several), or a job the guard never submitted."""

    section: str
    task: str
    service: str
    kind: str
    job_id: str | None
    status: str
    files: list[Path] = field(default_factory=list)
    credits: float | None = None
    started: str | None = None
    duration: float | None = None
    note: str = ""


def _timing(item: GalleryItem) -> str:
    if item.duration is None:
        return "-"
    started = (item.started or "")[11:19]
    return f"{item.duration:.1f} s" + (f" (from {started} UTC)" if started else "")


def _media(path: Path, root: Path) -> str:
    rel = html.escape(os.path.relpath(path, root).replace(os.sep, "/"), quote=True)
    kind = media_type(path)
    mime = _MIME.get(path.suffix.lower(), "")
    if kind == "image":
        return f'<img src="{rel}" alt="{html.escape(path.name)}" loading="eager">'
    if kind == "audio":
        return f'<audio controls preload="auto"><source src="{rel}" type="{mime}"></audio>'
    if kind == "video":
        return f'<video controls muted playsinline preload="auto"><source src="{rel}" type="{mime}"></video>'
    return f'<a href="{rel}">{html.escape(path.name)}</a>'


def _card(item: GalleryItem, root: Path) -> str:
    media = "".join(f'<div class="media">{_media(p, root)}</div>' for p in item.files) or \
        f'<div class="media empty">{html.escape(item.note or item.status)}</div>'
    links = " ".join(f'<a href="{html.escape(os.path.relpath(p, root).replace(os.sep, "/"), quote=True)}">'
                     f"{html.escape(p.name)}</a>" for p in item.files)
    credits = "-" if item.credits is None else f"{item.credits:g}"
    rows = [("job id", f"<code>{html.escape(item.job_id or '-')}</code>"),
            ("kind", html.escape(f"{item.service} / {item.kind}")),
            ("credits", html.escape(credits)),
            ("timing", html.escape(_timing(item))),
            ("task", f"<code>{html.escape(item.task)}</code>")]
    if links:
        rows.append(("file", links))
    if item.note and item.files:
        rows.append(("note", html.escape(item.note)))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (f'<article class="card {html.escape(item.status)}" data-job-id="{html.escape(item.job_id or "")}" '
            f'data-kind="{html.escape(item.kind)}">{media}<table>{table}</table></article>')


_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f5f2;color:#222}
header{padding:24px 32px;background:#1f2430;color:#fff}header h1{margin:0 0 6px;font-size:24px}
header p{margin:0;color:#c9cdd6}main{padding:8px 32px 40px}section{margin-top:28px}
section h2{font-size:19px;margin:0 0 4px}section p.about{margin:0 0 12px;color:#555;max-width:70em}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:16px}
.card{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.12);overflow:hidden}
.card.stopped{opacity:.75;border:2px dashed #d08b00}.card.failed{border:2px solid #c0392b}
.media{background:#111;display:flex;justify-content:center;align-items:center;min-height:60px}
.media img,.media video{max-width:100%;max-height:260px;display:block}.media audio{width:100%;margin:12px}
.media.empty{background:#fff4dc;color:#7a5200;padding:18px;font-size:14px;min-height:0}
table{border-collapse:collapse;width:100%;font-size:13px}th{text-align:left;color:#666;font-weight:500;
width:70px;padding:4px 10px;vertical-align:top}td{padding:4px 10px;word-break:break-all}
code{font-size:12px}.totals{margin-top:10px;color:#c9cdd6}.link a{color:#90cdf4}
"""


def write_gallery(path: Path, items: Iterable[GalleryItem], *, title: str = "mediagen demo",
                  sections: Mapping[str, str] | None = None, summary: Sequence[str] = (),
                  links: Sequence[tuple[str, str, str]] = ()) -> Path:
    """Write the gallery page to ``path``; media are linked relative to it. ``links`` are (label, URL,
    note) shown under the totals (the Credits page of the demo's Airflow)."""
    path = Path(path)
    root = path.parent
    items = list(items)
    about = dict(sections or {})
    order = list(about) + [s for s in dict.fromkeys(i.section for i in items) if s not in about]
    parts = []
    for section in order:
        cards = [_card(i, root) for i in items if i.section == section]
        if not cards:
            continue
        parts.append(f'<section id="{html.escape(section)}"><h2>{html.escape(section)}</h2>'
                     + (f'<p class="about">{html.escape(about[section])}</p>' if about.get(section) else "")
                     + f'<div class="grid">{"".join(cards)}</div></section>')
    credits = sum(i.credits or 0 for i in items if i.status == "succeeded")
    made = sum(len(i.files) for i in items if i.status == "succeeded")
    totals = [f"{made} files from {sum(1 for i in items if i.job_id)} jobs, {credits:g} credits", *summary]
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head><body>'
            f"<header><h1>{html.escape(title)}</h1><p>Generated by the example DAGs on real Airflow against the "
            f'local simulator of Ddukddak, Apex Studio and FaceDub.</p><p class="totals">'
            + "<br>".join(html.escape(t) for t in totals) + "</p>"
            + "".join(f'<p class="link"><a href="{html.escape(url)}" data-link="{html.escape(label)}">'
                      f"{html.escape(label)}</a> {html.escape(note)}</p>" for label, url, note in links)
            + f'</header><main>{"".join(parts)}</main></body></html>\n')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def items_from_result(section: str, task: str, result: Mapping[str, Any], *, started: str | None = None,
                      duration: float | None = None) -> GalleryItem:
    """A gallery item from a generation operator's return value."""
    files = [Path(str(uri).removeprefix("file://")) for uri in result.get("outputs") or []]
    return GalleryItem(section=section, task=task, service=str(result.get("service")), kind=str(result.get("kind")),
                       job_id=result.get("job_id"), status=str(result.get("status")), files=files,
                       credits=result.get("credits"), started=started, duration=duration)
