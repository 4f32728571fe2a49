"""The book builds strictly (-W -n --keep-going) with zero warnings.

nbval (which runs in the same `make test`) re-executes every chapter and checks its stored
outputs; this test builds the book from those stored outputs (execution off), so each
notebook runs once per test run instead of twice. `make book` builds with execution on.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_book_builds_without_warnings(built_book):
    html, log = built_book
    warnings = [line for line in log.splitlines() if re.search(r"\bWARNING\b|\bERROR\b", line)]
    assert not warnings, "\n".join(warnings)
    assert (html / "book" / "index.html").exists() or (html / "index.html").exists()


@pytest.mark.slow
def test_every_toc_entry_is_built(built_book):
    html, _ = built_book
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    for f in files:
        assert (html / f"{f}.html").exists(), f


@pytest.mark.slow
def test_chapter_pages_have_math_exercises_and_citations(built_book):
    html, _ = built_book
    for page in sorted((html / "chapters").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        assert "class=\"math" in text or "\\(" in text, f"{page.name}: no math"
        assert "solution" in text and "exercise" in text, f"{page.name}: no exercises/solutions"
        assert "bibtex" in text or "references.html#" in text, f"{page.name}: no citations"
        for img in re.findall(r"<img [^>]*>", text):
            assert re.search(r'alt="[^"]+"', img), f"{page.name}: image without alt text: {img[:120]}"
