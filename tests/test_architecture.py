"""The package's architecture holds: no import cycles, chapters use the public API, a quick import."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "mlm_helpers"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every mlm_helpers module this file imports (module level or inside functions)."""
    tree = ast.parse(path.read_text())
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("mlm_helpers"):
                continue
            for alias in node.names:  # "from . import x" may name a module
                candidate = f"{target}.{alias.name}"
                out.add(candidate if _exists(candidate) else target)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("mlm_helpers"))
    out.discard(name)
    return {m for m in out if m != "mlm_helpers"}  # the package's lazy __init__ is not a dependency


def _exists(module: str) -> bool:
    path = ROOT / Path(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PKG.rglob("*.py")}


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep):], dep] if dep in stack else [node, dep])
            elif state.get(dep) is None and dep in graph:
                visit(dep, [*stack, dep])
        state[node] = 2

    for mod in sorted(graph):
        if state.get(mod) is None:
            visit(mod, [mod])
    # (an engine module imports the contract from engines/__init__, which loads the engines only by
    # name at run time, through importlib: the registry adds no static edge back)
    assert not cycles, f"import cycles: {cycles}"


def test_model_does_not_import_the_layers_above_it():
    for mod, deps in _graph().items():
        if mod.startswith("mlm_helpers.model"):
            above = [d for d in deps if d.split(".")[1] in {"companions", "explorers", "plots", "simulation",
                                                            "exercises", "inference"}]
            assert not above, f"{mod} imports {above}"


INTERNALS = ("fit_fast", "sufficient_stats", "deviance_pieces", "deviance_many", "fit_intercepts",
             "mlm_helpers.model.engines", "mlm_helpers.model.deviance")


@pytest.mark.parametrize("chapter", sorted(p.name for p in (ROOT / "chapters").glob("[0-9A][0-9]_*.ipynb")))
def test_chapters_use_the_public_api(chapter):
    """Chapters and appendices (AN_*) alike: even "Under the hood" reaches the profiled deviance
    through mh.profiled_deviance and mh.deviance_parts, not through the engine's modules."""
    nb = json.loads((ROOT / "chapters" / chapter).read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    used = [name for name in INTERNALS if name in code]
    assert not used, f"{chapter} uses engine internals: {used}"


def test_import_is_quick_and_loads_no_statsmodels():
    code = ("import time, numpy, scipy, pandas, sys; t = time.perf_counter(); import mlm_helpers; "
            "print(time.perf_counter() - t, 'statsmodels' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) < 0.3 and out[1] == "False" and out[2] == "False"
