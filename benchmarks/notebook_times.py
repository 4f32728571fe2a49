"""Measure how long every chapter notebook takes to run, for the instructor guide.

Executes each ``chapters/NN_*.ipynb`` top to bottom with nbclient (a fresh kernel each, in
the chapters folder, as a student's "Restart & Run All" would) and writes a markdown table
(chapter, code cells, seconds) with a line describing the machine to
``book/instructors/_generated/notebook_times.md``, which the guide includes. The notebooks
themselves are not modified.

Run:  make timings     (or: .venv/bin/python benchmarks/notebook_times.py [NOTEBOOK ...])
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from quiet_kernels import EncryptedKernelManager  # noqa: E402  (kernels without the TCP warning)

CHAPTERS = ROOT / "chapters"
OUT = ROOT / "book" / "instructors" / "_generated" / "notebook_times.md"


def machine_info() -> str:
    """One line: CPU count, processor, OS and Python version."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = f", load average {os.getloadavg()[0]:.1f} at the start" if hasattr(os, "getloadavg") else ""
    return (
        f"{os.cpu_count()} CPU cores ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}{load}"
    )


def time_notebook(path: Path, timeout: int = 300) -> tuple[int, float]:
    """Execute one notebook in a fresh kernel; return (number of code cells, wall seconds)."""
    nb = nbformat.read(path, as_version=4)
    n_code = sum(cell.cell_type == "code" for cell in nb.cells)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
        kernel_manager_class=EncryptedKernelManager,
    )
    start = time.perf_counter()
    client.execute()
    return n_code, time.perf_counter() - start


def title_of(path: Path) -> str:
    """The notebook's first markdown heading, without the '#'."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def table(rows: list[tuple[str, str, int, float]], machine: str | None = None) -> str:
    """The markdown table, with a total row and the machine line."""
    lines = [
        "| Chapter | Title | Code cells | Run time (s) |",
        "|:--|:--|--:|--:|",
    ]
    for stem, title, n_code, seconds in rows:
        lines.append(f"| `{stem}` | {title} | {n_code} | {seconds:.1f} |")
    total = sum(r[3] for r in rows)
    lines.append(f"| **all** | | {sum(r[2] for r in rows)} | **{total:.1f}** |")
    lines.append("")
    lines.append(
        f"Measured with `make timings` (kernel start-up included) on: {machine or machine_info()}. "
        "Times on a laptop are usually shorter; on a shared hub with many users, longer."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: chapters/NN_*.ipynb and the appendices chapters/AN_*.ipynb")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or sorted(CHAPTERS.glob("[0-9A][0-9]_*.ipynb"))
    machine = machine_info()  # before the runs, so the load average is the machine's, not ours
    rows = []
    for path in paths:
        n_code, seconds = time_notebook(path)
        print(f"{path.stem:28s} {n_code:3d} code cells {seconds:6.1f} s", flush=True)
        rows.append((path.stem, title_of(path), n_code, seconds))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table(rows, machine))
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
