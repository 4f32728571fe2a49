"""Every core chapter has an exercise that needs no code, and chapter 09 has three or more (issue 14).

A no-code exercise (writing the equations of a formula, predicting before running, reading a
printed summary) is marked by "no code" in its first line, as the chapters write it:
``*(No code: predict, then check.)*``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
EXERCISE = re.compile(r":::\{exercise\}\n:label: (\S+)\n\n(.{0,120})", re.S)


def exercises(path: Path) -> dict[str, str]:
    """label -> the opening of the exercise's text, for every exercise of a chapter."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return dict(EXERCISE.findall(text))


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.stem)
def test_every_core_chapter_has_a_no_code_exercise(path: Path) -> None:
    no_code = [label for label, opening in exercises(path).items() if re.search(r"\bno code\b", opening, re.I)]
    assert no_code, f"{path.name} has no exercise marked '(No code ...)'"


def test_chapter_09_has_three_exercises() -> None:
    (path,) = (ROOT / "chapters").glob("09_*.ipynb")
    assert len(exercises(path)) >= 3
