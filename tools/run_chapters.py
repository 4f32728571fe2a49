"""Re-execute chapter notebooks top to bottom in fresh kernels and save them with their outputs.

This is how the committed outputs are made (one clean run, seeded), so that nbval can compare.

Usage (from the repository root)::

    .venv/bin/python tools/run_chapters.py                 # every chapter
    .venv/bin/python tools/run_chapters.py 03 10           # chapters whose names start with 03, 10
    .venv/bin/python tools/run_chapters.py A1              # an appendix (chapters/A1_*.ipynb)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, timeout: int = 900) -> float:
    """Execute one notebook in place; return the wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(prefixes: list[str]) -> None:
    chapters = sorted((ROOT / "chapters").glob("[0-9A][0-9]_*.ipynb"))  # chapters NN_, appendices AN_
    if prefixes:
        chapters = [p for p in chapters if any(p.name.startswith(x) for x in prefixes)]
    for path in chapters:
        print(f"{path.name}: {run(path):.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
