"""Regenerate the no-code connectors from the catalog: mediagen connectors build [--check] [--out DIR]."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediagen connectors", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="Generate connectors/ (n8n, zapier, make, openapi) from the catalog")
    build.add_argument("--check", action="store_true",
                       help="Write nothing; exit 1 if the files on disk differ from a fresh build")
    build.add_argument("--out", type=Path, default=None, help="Output folder (default: connectors/ of the checkout)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    from . import build_tree, default_out_dir, diff_tree, write_tree

    out = (args.out or default_out_dir()).resolve()
    files = build_tree()
    if args.check:
        problems = diff_tree(out, files)
        if problems:
            print(f"{out}: {len(problems)} file(s) differ from a fresh build "
                  "(generated files are never edited by hand; run `mediagen connectors build`):", file=sys.stderr)
            for rel, kind in problems.items():
                print(f"  {kind:8} {rel}", file=sys.stderr)
            return 1
        print(f"{out}: {len(files)} generated files are up to date")
        return 0
    changed = write_tree(out, files)
    print(f"{out}: {len(files)} files, {len(changed)} written or removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
