"""Requirements that only another platform needs, for an offline wheelhouse built elsewhere.

``pip download --platform win_amd64`` picks Windows wheels but evaluates environment markers for
the machine that runs it, so dependencies declared only for Windows (``pywinpty; os_name ==
"nt"`` of the JupyterLab terminal, ``colorama; sys_platform == "win32"``) are left out and an
offline Windows room fails to install. ``make wheelhouse PLATFORM=win_amd64`` therefore also
downloads ``tools/wheelhouse/windows.txt`` (and ``macos.txt`` for ``macosx_*`` platforms): the
dependencies of the course's run-time requirements that are switched on only by the target's
markers. This script finds them from the installed packages' metadata (walking the dependency
tree of requirements.txt with the target's marker environment) and writes those files; a test
checks that the committed files cover what it finds.

Run:  .venv/bin/python tools/platform_requirements.py [--write]
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LISTS = ROOT / "tools" / "wheelhouse"

_BASE = {
    "implementation_name": "cpython", "platform_python_implementation": "CPython",
    "python_version": "3.11", "python_full_version": "3.11.9", "extra": "",
}
ENVIRONMENTS: dict[str, dict[str, str]] = {
    "linux": {**_BASE, "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
              "platform_machine": "x86_64"},
    "windows": {**_BASE, "sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
                "platform_machine": "AMD64"},
    "macos": {**_BASE, "sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
              "platform_machine": "arm64"},
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def run_time_roots(path: Path = ROOT / "requirements.txt") -> list[str]:
    """The package names pinned in requirements.txt."""
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.append(_norm(Requirement(line).name))
    return names


def platform_only_requirements(target: str, roots: list[str] | None = None) -> dict[str, str]:
    """``{name: specifier}`` of the dependencies switched on by ``target``'s markers but not Linux's.

    Examples
    --------
    >>> sorted(platform_only_requirements("windows"))  # doctest: +SKIP
    ['colorama', 'pywinpty', 'tzdata']
    """
    target_env, host_env = ENVIRONMENTS[target], ENVIRONMENTS["linux"]
    installed = {_norm(d.metadata["Name"]): d for d in metadata.distributions()}
    stack, seen, extra = list(roots or run_time_roots()), set(), {}
    while stack:
        name = stack.pop()
        if name in seen or name not in installed:
            continue
        seen.add(name)
        for text in installed[name].requires or []:
            req = Requirement(text)
            on_target = req.marker is None or req.marker.evaluate(target_env)
            on_host = req.marker is None or req.marker.evaluate(host_env)
            if on_target:
                stack.append(_norm(req.name))
            if on_target and not on_host:
                spec = str(req.specifier)
                extra[_norm(req.name)] = ",".join(filter(None, [extra.get(_norm(req.name), ""), spec]))
    return extra


def read_list(target: str) -> dict[str, str]:
    """The committed list for ``target``: ``{name: specifier}``."""
    out = {}
    for line in (LISTS / f"{target}.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            out[_norm(req.name)] = str(req.specifier)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite tools/wheelhouse/{windows,macos}.txt")
    args = parser.parse_args(argv)
    for target in ("windows", "macos"):
        found = platform_only_requirements(target)
        lines = [f"{name}{spec}" for name, spec in sorted(found.items())]
        print(f"{target}: {', '.join(lines) or '(none)'}")
        if args.write:
            header = (f"# Dependencies of requirements.txt that only {target} needs (its environment markers);\n"
                      "# make wheelhouse downloads them for that platform. Made by tools/platform_requirements.py.\n")
            (LISTS / f"{target}.txt").write_text(header + "".join(f"{x}\n" for x in lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
