"""No-code connectors generated from the service catalog.

``build_tree()`` walks the catalog once (:mod:`.spec`) and renders every platform's files (OpenAPI,
Make, n8n, Zapier) as a mapping of relative path -> content; ``write_tree`` puts them under the
top-level ``connectors/`` folder and ``diff_tree`` tells which committed files differ from a fresh
build (``mediagen connectors build --check``). Nothing here imports Airflow or the client.
"""

from __future__ import annotations

from pathlib import Path

#: Files under the output folder that are not generated and never compared (build products).
IGNORED_PARTS = {"node_modules", "dist", ".tsbuildinfo", "__pycache__"}


def default_out_dir() -> Path:
    """``connectors/`` at the top of the source checkout this package lives in."""
    return Path(__file__).resolve().parents[2] / "connectors"


def build_tree() -> dict[str, str]:
    from . import make, n8n, openapi, readme, zapier
    from .spec import build_all

    specs = build_all()
    files: dict[str, str] = {}
    for spec in specs.values():
        files.update(openapi.render(spec))
        files.update(make.render(spec))
        files.update(zapier.render(spec))
    files.update(n8n.render(list(specs.values())))
    files.update(readme.render(list(specs.values())))
    return dict(sorted(files.items()))


def _ignored(rel: Path) -> bool:
    return any(part in IGNORED_PARTS or part.endswith(".tsbuildinfo") for part in rel.parts)


def existing_files(out_dir: Path) -> set[str]:
    if not out_dir.exists():
        return set()
    return {p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*")
            if p.is_file() and not _ignored(p.relative_to(out_dir))}


def diff_tree(out_dir: Path, files: dict[str, str] | None = None) -> dict[str, str]:
    """Relative path -> ``changed`` | ``missing`` | ``extra`` for every file that is not as built."""
    files = build_tree() if files is None else files
    problems: dict[str, str] = {}
    for rel, content in files.items():
        path = out_dir / rel
        if not path.is_file():
            problems[rel] = "missing"
        elif path.read_bytes() != content.encode("utf-8"):
            problems[rel] = "changed"
    for rel in existing_files(out_dir) - files.keys():
        problems[rel] = "extra"
    return dict(sorted(problems.items()))


def write_tree(out_dir: Path, files: dict[str, str] | None = None) -> list[str]:
    """Write the fresh build; remove generated files that are no longer produced. Returns changed paths."""
    files = build_tree() if files is None else files
    changed = list(diff_tree(out_dir, files))
    for rel, kind in diff_tree(out_dir, files).items():
        path = out_dir / rel
        if kind == "extra":
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[rel].encode("utf-8"))
    for directory in sorted((p for p in out_dir.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not _ignored(directory.relative_to(out_dir)) and not any(directory.iterdir()):
            directory.rmdir()
    return changed


__all__ = ["build_tree", "default_out_dir", "diff_tree", "write_tree"]
