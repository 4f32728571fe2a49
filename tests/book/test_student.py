"""Student copies (tools/make_student.py).

Default copies keep each solution folded under its exercise (jupyterlab-myst renders the
dropdown) and resolve what only the book can (glued values, citations, figure numbers); with
``--no-solutions`` no solution survives. In both, every exercise does, and the copies run.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9A][0-9]_*.ipynb"))  # chapters NN_, appendices AN_

_spec = importlib.util.spec_from_file_location("make_student", ROOT / "tools" / "make_student.py")
make_student = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_student)


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory) -> Path:
    """Copies made with --no-solutions."""
    out = tmp_path_factory.mktemp("student")
    make_student.make_student(CHAPTERS, out, keep_solutions=False)
    return out


@pytest.fixture(scope="module")
def folded_dir(tmp_path_factory) -> Path:
    """The default copies: solutions folded."""
    out = tmp_path_factory.mktemp("student_folded")
    make_student.make_student(CHAPTERS, out)
    return out


def _MIN_EXERCISES(path: Path) -> int:
    """Two or more per chapter (the course guide); an optional appendix (AN_*) has at least one."""
    return 2 if path.name[0].isdigit() else 1


def _text(nb: dict) -> str:
    return "\n".join(make_student._source(c) for c in nb["cells"])


def _solution_sentences(block: str) -> list[str]:
    """Prose sentences (and whole code blocks) of a solution block, long enough to be distinctive."""
    body = block.split("\n", 1)[1].rsplit(":::", 1)[0]
    body = "\n".join(line for line in body.splitlines() if not line.startswith(":class:"))
    code = re.findall(r"```python\n(.*?)```", body, flags=re.S)
    prose = re.sub(r"```.*?```", " ", body, flags=re.S)
    sentences = [" ".join(s.split()) for s in re.split(r"(?<=[.!?])\s+", prose)]
    return [s for s in sentences if len(s) >= 30] + [c.strip() for c in code if c.strip()]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_solution_survives_and_exercises_remain(path: Path, student_dir: Path) -> None:
    source = json.loads(path.read_text())
    student = json.loads((student_dir / path.name).read_text())
    _, blocks, n_ex = make_student.studentise(source, path.name, keep_solutions=False)
    src_text = _text(source)
    assert blocks, f"{path.name}: no solution blocks found"
    outside = src_text
    for block in blocks:
        outside = outside.replace(block, "")
    flat_student = " ".join(_text(student).split())
    flat_outside = " ".join(outside.split())
    checked = 0
    for block in blocks:
        for piece in _solution_sentences(block):
            flat = " ".join(piece.split())
            if flat in flat_outside:  # the chapter itself says it too: not a leak
                continue
            assert flat not in flat_student, f"{path.name}: solution text survives: {flat[:80]!r}"
            checked += 1
    assert checked >= len(blocks)
    assert "{solution}" not in _text(student)
    # every exercise label of the source is still there, each followed by an answer cell
    labels = re.findall(r":::\{exercise\}\n:label: (\S+)", src_text)
    assert len(labels) == n_ex >= _MIN_EXERCISES(path)
    cells = student["cells"]
    for label in labels:
        idx = next(i for i, c in enumerate(cells) if f":label: {label}" in make_student._source(c))
        assert cells[idx + 1]["cell_type"] == "code"
        assert make_student._source(cells[idx + 1]) == make_student.ANSWER
    # outputs cleared, note on top
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in cells if c["cell_type"] == "code")
    assert "Student copy" in make_student._source(cells[0])
    # the text says what the copy holds
    flat = " ".join(_text(student).split())
    assert "solutions are in the dropdowns" not in flat
    assert "solutions are not in this copy" in flat


BOOK_ONLY = re.compile(r"\{(glue|glue:text|cite|cite:t|cite:p|numref|term|doc|ref)\}`|\{static-explorer\}")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_default_copy_folds_solutions_and_resolves_book_markup(path: Path, folded_dir: Path) -> None:
    source = json.loads(path.read_text())
    student = json.loads((folded_dir / path.name).read_text())
    _, blocks, n_ex = make_student.studentise(source, path.name, keep_solutions=True)
    text = _text(student)
    # every solution is still there, as a folded dropdown under its exercise
    assert len(blocks) == n_ex >= _MIN_EXERCISES(path)
    assert text.count(":::{solution}") + text.count("{solution-start}") == len(blocks)
    for block in blocks:
        assert ":class: dropdown" in block.splitlines()[1], block[:80]
    # nothing only the book can resolve is left as markup
    leftovers = sorted({m.group(0) for m in BOOK_ONLY.finditer(text)})
    assert not leftovers, f"{path.name}: {leftovers}"
    # no outputs and no saved widget state
    assert "widgets" not in student["metadata"]
    assert all(not c.get("outputs") for c in student["cells"] if c["cell_type"] == "code")
    note = make_student._source(student["cells"][0])
    assert "folded" in note and "check_answer" in note


def test_glued_values_come_from_the_chapters_stored_outputs() -> None:
    nb = json.loads((ROOT / "chapters" / "02_icc.ipynb").read_text())
    glue = make_student.glued_values(nb)
    assert "icc_reml" in glue
    student, _, _ = make_student.studentise(nb, "02_icc.ipynb")
    cell = next(make_student._source(c) for c in student["cells"] if "the HSB ICC is" in make_student._source(c))
    assert f"the HSB ICC is {make_student._glue_text(glue['icc_reml'], None)}," in " ".join(cell.split())
    assert make_student._glue_text("7185", ",") == "7,185"
    assert make_student._glue_text("'2.5 to 3.1'", None) == "2.5 to 3.1"


def test_citations_and_cross_references_become_text() -> None:
    bib = make_student.read_bib()
    assert bib["snijders2012"] == ("Snijders & Bosker", "2012")
    assert bib["bates2015"] == ("Bates et al.", "2015")
    out = make_student.resolve_markup(
        "{cite:t}`bates2015` and {cite}`snijders2012,bates2015`; {numref}`fig-x`, {numref}`Figure %s <fig-x>`;"
        " {doc}`chapter 01 <01_nested_data>`; {ref}`the exercise <ex-02-sleep>`; {glue:}`missing`",
        {}, {"fig-x": 3}, bib)
    assert out == ("Bates et al. (2015) and (Snijders & Bosker 2012; Bates et al. 2015); Fig. 3, Figure 3;"
                   " chapter 01; the exercise; *(see the output of the code above: missing)*")


def test_split_solutions_handles_longer_fences_and_keeps_the_rest() -> None:
    text = "Intro.\n::::{solution} ex-1\n:class: dropdown\n\nAnswer 42.\n:::{note}\nx\n:::\n::::\nAfter.\n"
    kept, removed = make_student.split_solutions(text)
    assert kept == "Intro.\nAfter.\n"
    assert len(removed) == 1 and "Answer 42." in removed[0] and removed[0].rstrip().endswith("::::")


def test_gated_and_tagged_solution_cells_are_removed() -> None:
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ":::{exercise}\n:label: ex-x\nDo it.\n:::\n"},
            {"cell_type": "markdown", "metadata": {}, "source": "```{solution-start} ex-x\n```\nSecret one.\n"},
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 3, "source": "secret = 2"},
            {"cell_type": "markdown", "metadata": {}, "source": "```{solution-end}\n```\n"},
            {"cell_type": "code", "metadata": {"tags": ["solution"]}, "outputs": [], "source": "tagged = 1"},
            {"cell_type": "code", "metadata": {}, "outputs": [{"x": 1}], "execution_count": 4, "source": "ok = 1"},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    student, removed, n_ex = make_student.studentise(nb, "x.ipynb", keep_solutions=False, bib={})
    sources = [make_student._source(c) for c in student["cells"]]
    assert n_ex == 1 and len(removed) == 4
    assert not any("secret" in s.lower() or "tagged" in s for s in sources)
    assert sources[2] == make_student.ANSWER and sources[-1] == "ok = 1"
    assert student["cells"][-1]["outputs"] == [] and student["cells"][-1]["execution_count"] is None
    folded, kept, _ = make_student.studentise(nb, "x.ipynb", keep_solutions=True, bib={})
    by_source = {make_student._source(c): c for c in folded["cells"]}
    assert by_source["secret = 2"]["metadata"]["jupyter"]["source_hidden"] is True  # collapsed in JupyterLab
    assert "jupyter" not in by_source["ok = 1"]["metadata"] and len(kept) == 1


def _run(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_copy_runs_top_to_bottom(path: Path, student_dir: Path) -> None:
    """A student copy runs top to bottom.

    When its code cells are exactly the chapter's code cells plus empty answer cells (solutions
    live in markdown), it runs the same code that nbval executes from top to bottom in this
    suite, so executing it again would only double the test time; the copy of chapter 00 is
    executed anyway, end to end, to test the mechanism. A copy whose code differs (a removed
    solution code cell) is executed.
    """
    source = nbformat.read(path, as_version=4)
    student = nbformat.read(student_dir / path.name, as_version=4)
    src_code = [c.source for c in source.cells if c.cell_type == "code"]
    stu_code = [c.source for c in student.cells if c.cell_type == "code" and c.source != make_student.ANSWER]
    if stu_code != src_code or path.name.startswith("00_"):
        _run(student_dir / path.name)
    else:
        answers = [c.source for c in student.cells if c.cell_type == "code" and c.source == make_student.ANSWER]
        assert all(line.lstrip().startswith("#") for a in answers for line in a.splitlines() if line.strip())


def test_existing_copies_are_kept_when_asked(tmp_path: Path) -> None:
    """`make lab` must never overwrite a student's answers in an existing copy."""
    chapter = CHAPTERS[0]
    mine = tmp_path / chapter.name
    mine.write_text('{"my": "answers"}')
    written = make_student.make_student([chapter], tmp_path, keep_existing=True)
    assert written == [] and mine.read_text() == '{"my": "answers"}'
    make_student.make_student([chapter], tmp_path)  # make student rewrites
    assert "Student copy" in mine.read_text()


def test_make_lab_keeps_existing_copies() -> None:
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    recipe = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "tools/make_student.py --keep-existing" in recipe and "jupyter lab" in recipe
