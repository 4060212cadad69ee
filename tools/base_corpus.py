"""Gather the corpus of a shipped base model: Debian's openclipart-png without any picture of the bundled demo.

A base the demo is fine-tuned from must not have seen the demo's pictures, or the demo's copy check (held-out
pictures as the yardstick) would be judged against a model that learnt them. Files are left out by content, since
the package ships some pictures in two folders. Run from the repository root:

    .venv/bin/python tools/base_corpus.py /tmp/base-corpus
    PYTHONPATH=. .venv/bin/python bench/quality.py /tmp/base-corpus --size 64 --limit 1000 --alpha off --crop pad \\
        --minutes 60 --seeds 1 --families projected --threads 2 --points 5 --keep /tmp/base-project

then export the kept project's last checkpoint with `python main.py export-model` (resources/base/README.md).
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_demo import SOURCE, chosen  # noqa: E402


def digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def gather(out: Path, source: Path = SOURCE) -> tuple[int, int]:
    """Link every PNG under `source` that is not a demo picture into `out`, keeping the sub-folders;
    returns (linked, left out)."""
    if not source.is_dir():
        sys.exit(f"{source} not found: install Debian's openclipart-png package first")
    demo = {digest(source / relative) for _, relative in chosen()}
    linked = left_out = 0
    for path in sorted(source.rglob("*.png")):
        if digest(path) in demo:
            left_out += 1
            continue
        target = out / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(path)
        linked += 1
    return linked, left_out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("out", type=Path, help="the folder to fill with links")
    p.add_argument("--source", type=Path, default=SOURCE, help="the package's png folder")
    args = p.parse_args(argv)
    linked, left_out = gather(args.out, args.source)
    print(f"{linked} pictures linked into {args.out}; {left_out} files of the demo left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
