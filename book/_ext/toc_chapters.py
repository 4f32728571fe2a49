"""The landing page's chapter list, generated from ``_toc.yml`` at build time.

In a markdown page::

    :::{toc-chapters}
    00_first_look: Students in schools: the data, the picture, a first random-intercept model
    01_nested_data: Levels, groups, and why independence fails
    :::

writes one table per part of ``_toc.yml`` that holds chapters (files under ``chapters/``),
each row the chapter's number, a link titled with the chapter's own title, and the one-line
summary given in the directive. A chapter in the toc without a summary, or a summary for a
chapter the toc does not list, is a build warning, so the strict build (``-W``) fails
instead of the list going stale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


def toc_chapter_parts(toc: dict, folder: str = "chapters/") -> list[tuple[str, list[str]]]:
    """The parts of a jupyter-book toc that hold chapters, with their chapter files.

    Parameters
    ----------
    toc : dict
        ``_toc.yml`` as loaded by ``yaml.safe_load``.
    folder : str
        Only files under this folder count as chapters.

    Returns
    -------
    list of (caption, files)
        In toc order; files without their extension.

    Examples
    --------
    >>> toc = {"parts": [{"caption": "Start", "chapters": [{"file": "book/setup"}]},
    ...                  {"caption": "Chapters", "chapters": [{"file": "chapters/00_a"}]}]}
    >>> toc_chapter_parts(toc)
    [('Chapters', ['chapters/00_a'])]
    """
    out = []
    for part in toc.get("parts", []):
        files = [c["file"] for c in part.get("chapters", []) if c.get("file", "").startswith(folder)]
        if files:
            out.append((part.get("caption", ""), files))
    return out


def parse_summaries(lines: list[str]) -> dict[str, str]:
    """``"00_first_look: text"`` lines -> {"00_first_look": "text"}.

    Examples
    --------
    >>> parse_summaries(["00_a: one thing", "", "01_b: another: with a colon"])
    {'00_a': 'one thing', '01_b': 'another: with a colon'}
    """
    out = {}
    for line in lines:
        if line.strip():
            name, _, text = line.partition(":")
            out[name.strip()] = text.strip()
    return out


class TocChapters(SphinxDirective):
    has_content = True

    def run(self) -> list[nodes.Node]:
        toc_path = Path(self.env.srcdir) / "_toc.yml"
        self.env.note_dependency(str(toc_path))
        parts = toc_chapter_parts(yaml.safe_load(toc_path.read_text(encoding="utf-8")))
        summaries = parse_summaries(list(self.content))
        listed = {f.rsplit("/", 1)[-1] for _, files in parts for f in files}
        for name in sorted(set(summaries) - listed):
            logger.warning(f"toc-chapters: a summary for {name!r}, which _toc.yml does not list",
                           location=self.get_location())
        result: list[nodes.Node] = []
        for caption, files in parts:
            section_title = nodes.rubric(text=caption)
            table = nodes.table(classes=["toc-chapters"])
            group = nodes.tgroup(cols=3)
            table += group
            for width in (1, 6, 10):
                group += nodes.colspec(colwidth=width)
            head = nodes.thead()
            row = nodes.row()
            for text in ("No.", "Chapter", "What it is about"):
                row += nodes.entry("", nodes.paragraph(text=text))
            head += row
            group += head
            body = nodes.tbody()
            for f in files:
                name = f.rsplit("/", 1)[-1]
                if name not in summaries:
                    logger.warning(f"toc-chapters: no summary for {name!r} (add a line '{name}: ...')",
                                   location=self.get_location())
                number = name.split("_", 1)[0]
                ref = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget="/" + f,
                                            refexplicit=False, refwarn=True)
                ref += nodes.inline("", "/" + f)
                row = nodes.row()
                row += nodes.entry("", nodes.paragraph(text=number))
                row += nodes.entry("", nodes.paragraph("", "", ref))
                row += nodes.entry("", nodes.paragraph(text=summaries.get(name, "")))
                body += row
            group += body
            result += [section_title, table]
        return result


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("toc-chapters", TocChapters)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
