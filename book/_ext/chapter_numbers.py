"""Figures, tables, exercises and code listings numbered per chapter: "Figure 3.2", not "Figure 18".

Sphinx numbers every figure (and every other enumerable node: tables, sphinx-exercise's
exercises and solutions) through the whole book unless the toc is ``numbered``, and a
numbered toc would count the chapters from 1 while this book's chapters are 00-13 and would
number every heading as well. So this extension renumbers after Sphinx: in a chapter
``chapters/NN_name``, the k-th figure becomes (NN, k), in the order Sphinx found them; a
reference (``{numref}``) and the caption both use the new number. An appendix
``chapters/AN_name`` (A1, A2, ...) numbers its figures A1.1, A1.2, ... the same way. Pages
outside ``chapters/`` keep Sphinx's numbering.

Example
-------
>>> renumber({"figure": {"fig-a": (7,), "fig-b": (5,)}}, 3)
{'figure': {'fig-b': (3, 1), 'fig-a': (3, 2)}}
>>> renumber({"figure": {"fig-c": (9,)}}, "A1")  # an appendix
{'figure': {'fig-c': ('A1', 1)}}
>>> [CHAPTER.match(d).group(1) for d in ("chapters/05_estimation", "chapters/A1_under_the_hood")]
['05', 'A1']
"""

from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

CHAPTER = re.compile(r"^chapters/(\d\d|A\d)_")  # chapters NN_, appendices AN_


def renumber(fignumbers: dict[str, dict[str, tuple[int, ...]]],
             chapter: int | str) -> dict[str, dict[str, tuple[int | str, ...]]]:
    """Numbers (chapter, k) per figure type, k counting in Sphinx's order.

    Parameters
    ----------
    fignumbers : dict
        figtype -> {node id: Sphinx's number}.
    chapter : int or str
        The chapter's number, or an appendix's label ("A1"): Sphinx prints the parts of a
        number joined by dots, so ("A1", 2) reads "A1.2".

    Returns
    -------
    dict
        The same shape, renumbered.
    """
    out: dict[str, dict[str, tuple[int | str, ...]]] = {}
    for figtype, ids in fignumbers.items():
        order = sorted(ids, key=lambda i: ids[i])
        out[figtype] = {node_id: (chapter, k) for k, node_id in enumerate(order, start=1)}
    return out


def _per_chapter(app: Sphinx, env: BuildEnvironment) -> list[str]:
    changed = []
    for docname, fignumbers in list(env.toc_fignumbers.items()):
        m = CHAPTER.match(docname)
        if not m or not fignumbers:
            continue
        label = m.group(1)
        new = renumber(fignumbers, int(label) if label.isdigit() else label)
        if new != fignumbers:
            env.toc_fignumbers[docname] = new
            changed.append(docname)
    return changed


def setup(app: Sphinx) -> dict[str, Any]:
    # After Sphinx's toctree collector (priority 500) has assigned its numbers.
    app.connect("env-get-updated", _per_chapter, priority=900)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
