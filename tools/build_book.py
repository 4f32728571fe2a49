"""Build the book from the notebooks' stored outputs (no execution), strictly, like the test suite.

The chapters are committed with outputs from a clean run, so a build that does not re-execute
them is faster and shows exactly what readers will get. Used by ``make pdf`` and handy
for checking the book by hand.

Usage::

    python tools/build_book.py [--builder html|singlehtml] [--out _build/fast]

Example
-------
>>> import subprocess, sys  # doctest: +SKIP
>>> subprocess.run([sys.executable, "tools/build_book.py"], check=True)  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def command(out: Path, builder: str = "html", strict: bool = True) -> list[str]:
    """Write the stored-outputs configuration into ``out`` and return the ``jupyter-book build`` command.

    The configuration is ``_config.yml`` with execution off and the local extensions' paths made
    absolute (the configuration file lives in ``out``, not at the book's root). The test suite's
    book build uses the same command.

    Parameters
    ----------
    out : Path
        Folder for the build (``out/_build/<builder>``).
    builder : str
        ``"html"`` or ``"singlehtml"``.
    strict : bool
        Build with ``-W -n --keep-going``.
    """
    out.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    local = config.get("sphinx", {}).get("local_extensions") or {}
    config["sphinx"]["local_extensions"] = {k: str(ROOT / v) for k, v in local.items()}
    cfg = out / "_config_stored_outputs.yml"
    cfg.write_text(yaml.safe_dump(config))
    jb = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jb), "build", str(ROOT), "--all", "--builder", builder, "--config", str(cfg), "--path-output", str(out)]
    if strict:
        cmd[3:3] = ["-W", "-n", "--keep-going"]
    return cmd


def build(out: Path, builder: str = "html", strict: bool = True) -> int:
    """Build the book with execution off into ``out``; return jupyter-book's exit code (see :func:`command`)."""
    return subprocess.run(command(out, builder, strict)).returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builder", default="html", choices=["html", "singlehtml"])
    ap.add_argument("--out", default=str(ROOT / "_build" / "fast"))
    ap.add_argument("--lenient", action="store_true", help="do not stop on warnings")
    args = ap.parse_args(argv)
    return build(Path(args.out), args.builder, strict=not args.lenient)


if __name__ == "__main__":
    sys.exit(main())
