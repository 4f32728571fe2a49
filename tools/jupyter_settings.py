"""Install the course's Jupyter settings into an environment (``make`` and ``binder/postBuild`` run it).

Two files from ``binder/``:

* ``jupyter_config.json`` -> ``<prefix>/etc/jupyter/jupyter_config.json``: every Jupyter
  application of the environment (JupyterLab, nbconvert) starts kernels with CurveZMQ transport
  encryption, so ipykernel does not warn "Kernel is running over TCP without encryption";
* ``overrides.json`` -> ``<prefix>/share/jupyter/lab/settings/overrides.json``: JupyterLab
  neither asks "Would you like to get notified about official Jupyter news?" nor checks for
  updates, so a room is not interrupted by a pop-up.

Settings already in those files are kept; the course's values are merged in. Standard library
only, so it runs anywhere (Windows: ``.venv\\Scripts\\python tools\\jupyter_settings.py``).

Run:  python tools/jupyter_settings.py [--prefix PREFIX]     (default: this Python's sys.prefix)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {
    ROOT / "binder" / "jupyter_config.json": Path("etc", "jupyter", "jupyter_config.json"),
    ROOT / "binder" / "overrides.json": Path("share", "jupyter", "lab", "settings", "overrides.json"),
}


def _merge(old: dict, new: dict) -> dict:
    out = dict(old)
    for key, value in new.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def install(prefix: Path) -> list[Path]:
    """Merge the course's settings into the environment at ``prefix``; return the files written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.name for p in install(Path(d))]
    ['jupyter_config.json', 'overrides.json']
    """
    written = []
    for source, relative in SOURCES.items():
        target = Path(prefix) / relative
        settings = json.loads(source.read_text(encoding="utf-8"))
        if target.exists():
            settings = _merge(json.loads(target.read_text(encoding="utf-8") or "{}"), settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", type=Path, default=Path(sys.prefix), help="environment (default: sys.prefix)")
    args = parser.parse_args(argv)
    for path in install(args.prefix):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
