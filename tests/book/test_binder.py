"""The hub image's environment (binder/) and the offline wheelhouse recipe.

* ``binder/requirements.txt`` is self-contained (no ``-r``, ``-e`` or local path, so repo2docker
  installs it in a cached layer before copying the repository), repeats the run-time pins of
  ``requirements.txt`` and adds nbgitpuller; development tools stay out of it.
* The environment built from ``binder/`` (its requirements, then ``postBuild`` itself) in a
  scratch virtual environment imports mlm_helpers from outside the repository after the copy
  it was built from is deleted, as a Zero-to-JupyterHub user whose home volume hides the
  image's /home/jovyan does.
* ``make wheelhouse PLATFORM=win_amd64`` asks pip for the Windows-only dependencies
  (pywinpty, colorama), and the committed list covers every one the run-time tree declares.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import platform_requirements  # noqa: E402


def _pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


def test_binder_requirements_are_self_contained_and_match_run_time_pins() -> None:
    lines = [ln.strip() for ln in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    specs = [ln for ln in lines if ln and not ln.startswith("#")]
    assert not [ln for ln in specs if ln.startswith(("-", ".", "/", "file:", "git+"))], specs
    assert all("==" in ln for ln in specs), "every package pinned"
    binder, run_time = _pins(ROOT / "binder" / "requirements.txt"), _pins(ROOT / "requirements.txt")
    assert {k: v for k, v in binder.items() if k != "nbgitpuller"} == run_time
    assert "nbgitpuller" in binder and "jupyterlab-myst" in binder
    dev = _pins(ROOT / "requirements-dev.txt")
    assert not set(dev) & set(binder), "development tools stay out of the hub image"
    assert {"pytest", "ruff", "playwright", "jupyter-book"} <= set(dev)


def test_postbuild_installs_the_package_non_editable() -> None:
    text = (ROOT / "binder" / "postBuild").read_text()
    commands = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    installs = [c for c in commands if "pip install" in c]
    assert installs and all(" -e " not in c and "--editable" not in c for c in installs), installs
    assert any("tools/jupyter_settings.py" in c for c in commands)
    assert any("tools/make_student.py" in c for c in commands)


@pytest.mark.slow
def test_environment_from_binder_imports_mlm_helpers_outside_the_repository(tmp_path: Path) -> None:
    """Build binder/'s environment in a scratch venv (pip's usual index/mirror), then import from /."""
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"

    def pip(*args: str) -> None:
        proc = subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    pip("-r", str(ROOT / "binder" / "requirements.txt"))
    # binder/postBuild itself, run (as repo2docker does) in a copy of the repository with the
    # environment's python first on PATH; the copy is then deleted: nothing may point back into it.
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(".venv", "_build", "build", ".git", "wheelhouse",
                                                               "*.egg-info", "__pycache__"))
    env = {**os.environ, "PATH": f"{py.parent}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(tmp_path)}
    proc = subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "All good" in proc.stdout  # the setup check ran in the image
    chapter = (repo / "chapters" / "02_icc.ipynb").read_text(encoding="utf-8")
    assert "Student copy of" in chapter and "{glue" not in chapter  # Binder opens the student copies
    assert (env_dir / "etc" / "jupyter" / "jupyter_config.json").exists()
    shutil.rmtree(repo)
    code = ("import mlm_helpers as mh, pathlib; print(pathlib.Path(mh.__file__).resolve()); "
            "print(mh.load_dataset('dyestuff').shape)")
    proc = subprocess.run([str(py), "-c", code], cwd="/", capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    location, shape = proc.stdout.split("\n")[:2]
    assert Path(location).is_relative_to(env_dir.resolve()), location
    assert shape == "(30, 2)"
    check = subprocess.run([str(py), "-m", "mlm_helpers.check"], cwd="/", capture_output=True, text=True, timeout=300)
    assert check.returncode == 0 and check.stderr == "", check.stdout + check.stderr
    listing = subprocess.run([str(py), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True).stdout
    assert "nbgitpuller==" in listing and "jupyterlab-myst==" in listing.replace("jupyterlab_myst", "jupyterlab-myst")
    assert "pytest==" not in listing and "playwright==" not in listing


def test_windows_wheelhouse_names_pywinpty_and_colorama() -> None:
    """The recipe `make wheelhouse PLATFORM=win_amd64` runs (make -n: printed, not run)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    proc = subprocess.run(["make", "-n", "wheelhouse", "PLATFORM=win_amd64", "PYTHON=python"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    download = next(ln for ln in proc.stdout.splitlines() if "pip download" in ln)
    assert "--platform win_amd64" in download and "--python-version 3.11" in download
    assert "-r requirements.txt" in download and "-r tools/wheelhouse/windows.txt" in download
    windows = platform_requirements.read_list("windows")
    assert {"pywinpty", "colorama"} <= set(windows)
    linux = subprocess.run(["make", "-n", "wheelhouse", "PYTHON=python"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout
    assert "windows.txt" not in linux and "--platform" not in linux


def test_platform_lists_cover_the_marker_only_dependencies() -> None:
    for target in ("windows", "macos"):
        needed = platform_requirements.platform_only_requirements(target)
        assert set(needed) <= set(platform_requirements.read_list(target)), (target, needed)
    assert {"pywinpty", "colorama"} <= set(platform_requirements.platform_only_requirements("windows"))
