"""Every core chapter fits its teaching slot: at most about 3,000 words of prose (issue 14).

"About" is 5%: a core chapter may have up to 3,150 words of prose as ``tools/word_count.py``
counts them (markdown without maths, code, directive options and solutions). Appendices
(``chapters/AN_*``) are optional reading and have no budget.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from word_count import BUDGET, chapter_words, prose_words  # noqa: E402

CORE = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
LIMIT = round(BUDGET * 1.05)


def test_the_counter_leaves_out_maths_code_and_solutions() -> None:
    text = "Two words $x_{ij}$ `code` here.\n\n:::{solution} ex-1\n:class: dropdown\nHidden.\n:::\n"
    assert prose_words(text) == 4  # Two, words, here, and the code span counted as one word


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.stem)
def test_core_chapter_is_within_the_word_budget(path: Path) -> None:
    words = chapter_words(path)
    assert words <= LIMIT, f"{path.name}: {words} words of prose (budget about {BUDGET}, at most {LIMIT})"
