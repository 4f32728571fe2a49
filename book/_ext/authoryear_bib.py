"""An author-year reference list, matching the author-year citations (sphinxcontrib-bibtex).

``bibtex_reference_style: author_year`` makes the citations read "Raudenbush and Bryk (2002)",
but the list of references is labelled by pybtex's formatting style, whose default labels
are numbers ("[1]"). This extension registers a pybtex style ``authoryear``: the entries of
the ``unsrt`` style, sorted by author, year and title, each labelled "Raudenbush and Bryk,
2002" ("Bates et al., 2015" for three or more authors). Use it with
``bibtex_default_style: authoryear``.

Example
-------
>>> from pybtex.database import Entry, Person
>>> e = Entry("book", fields={"year": "2002", "title": "HLM"},
...           persons={"author": [Person("Raudenbush, Stephen W."), Person("Bryk, Anthony S.")]})
>>> label(e)
'Raudenbush and Bryk, 2002'
"""

from __future__ import annotations

from typing import Any

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle
from sphinx.application import Sphinx


def _last_names(entry) -> list[str]:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    return [" ".join(p.last_names) for p in people]


def label(entry) -> str:
    """"Author, year", "Author and Other, year" or "Author et al., year" for one entry."""
    names = [n.replace("{", "").replace("}", "") for n in _last_names(entry)]
    year = entry.fields.get("year", "n.d.")
    if not names:
        who = entry.fields.get("title", "?")
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {year}"


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        seen: dict[str, int] = {}
        labels = [label(e) for e in sorted_entries]
        for lab in labels:
            seen[lab] = seen.get(lab, 0) + 1
        counter: dict[str, int] = {}
        for lab in labels:
            if seen[lab] > 1:  # two works of the same authors and year: 2015a, 2015b
                counter[lab] = counter.get(lab, 0) + 1
                yield lab + "abcdefghijklmnopqrstuvwxyz"[counter[lab] - 1]
            else:
                yield lab


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabelStyle
    default_sorting_style = SortingStyle


def setup(app: Sphinx) -> dict[str, Any]:
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
