"""The package, tests, benchmarks and notebooks are ruff-clean (rules in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    ruff = Path(sys.executable).parent / "ruff"
    proc = subprocess.run([str(ruff), "check", "mlm_helpers", "tests", "benchmarks", "chapters", "tools"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_public_functions_have_docstrings_with_examples():
    import inspect

    import mlm_helpers as mh

    for name in mh.__all__:
        obj = getattr(mh, name)
        if inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
            assert "Examples" in doc and ">>>" in doc, f"mh.{name} lacks a docstring example"
            assert "Parameters" in doc or not inspect.signature(obj).parameters, f"mh.{name} lacks Parameters"
