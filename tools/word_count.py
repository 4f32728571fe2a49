"""Words of prose per chapter: the length budget of issue 14 (about 3,000 words per core chapter).

Counts the words of the markdown cells, leaving out what a reader does not read as prose:
LaTeX (``$...$``, ``$$...$$``, ``\\begin...\\end``), code spans and fences, MyST directive
option lines, HTML comments, and the bodies of ``{solution}`` blocks and dropdowns, including
gated solutions (``{solution-start}`` ... ``{solution-end}``, which may span several cells). A glued
number (``{glue:text}`x:.2f```) counts as one word. Solutions and appendices are outside the
budget; exercises are inside it.

Usage: ``python tools/word_count.py [chapters/NN_name.ipynb ...]`` prints a table; with no
arguments, every chapter in ``chapters/``.

Examples
--------
>>> prose_words("The ICC is {glue:text}`icc:.2f`, see $\\\\rho$.")
5
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The budget for a core chapter (issue 14: "at most about 3,000 words of prose").
BUDGET = 3000

_FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.S | re.M)
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_ENV = re.compile(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.S)
_INLINE_MATH = re.compile(r"\$[^$\n]+\$")
_ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")
_CODE = re.compile(r"`[^`\n]+`")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_OPTION = re.compile(r"^\s*:[\w-]+:.*$", re.M)
_DIRECTIVE_LINE = re.compile(r"^\s*(:{3,}|`{3,})\s*(\{[\w:-]+\})?.*$", re.M)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")


def _drop_hidden_blocks(text: str) -> str:
    """Remove the bodies of ``{solution}`` directives and of blocks with ``:class: dropdown``."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = re.match(r"^\s*(:{3,}|`{3,})\s*\{([\w:-]+)\}", lines[i])
        if m:
            fence, name = m.group(1), m.group(2)
            j = i + 1
            depth = 1
            while j < len(lines) and depth:
                s = lines[j].strip()
                if re.match(rf"^{re.escape(fence[0])}{{{len(fence)},}}\s*\{{", s):
                    depth += 1
                elif s == fence:
                    depth -= 1
                j += 1
            block = lines[i:j]
            hidden = name == "solution" or any(re.match(r"^\s*:class:.*dropdown", b) for b in block[1:4])
            if not hidden:
                out.extend(block)
            i = j
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def prose_words(markdown: str) -> int:
    """The number of prose words in one markdown text (see the module docstring).

    Examples
    --------
    >>> prose_words(":::{solution} ex-1\\n:class: dropdown\\nHidden words here.\\n:::\\nTwo words.")
    2
    """
    text = _drop_hidden_blocks(markdown)
    for pattern, repl in ((_COMMENT, " "), (_FENCE, " "), (_DISPLAY_MATH, " "), (_ENV, " "),
                          (_ROLE, " number "), (_INLINE_MATH, " "), (_CODE, " code "),
                          (_LINK_TARGET, "]"), (_OPTION, " "), (_DIRECTIVE_LINE, " ")):
        text = pattern.sub(repl, text)
    return len(re.findall(r"[A-Za-z0-9][\w'’-]*", text))


_GATED = re.compile(r"^(`{3,}|:{3,})\s*\{solution-start\}.*?^(`{3,}|:{3,})\s*\{solution-end\}[^\n]*\n\2[ \t]*$",
                    re.S | re.M)


def drop_gated_solutions(text: str) -> str:
    """Remove gated solutions (sphinx-exercise's ``{solution-start}`` ... ``{solution-end}``).

    Examples
    --------
    >>> drop_gated_solutions("Before.\\n```{solution-start} ex-1\\n```\\nHidden.\\n```{solution-end}\\n```\\nAfter.")
    'Before.\\n\\nAfter.'
    """
    return _GATED.sub("", text)


def chapter_words(path: Path) -> int:
    """Prose words of a chapter notebook (markdown cells only; code cells of gated solutions have none)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    sep = "\n\x00\n"  # cells are counted one by one; a gated solution may span several
    text = sep.join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return sum(prose_words(cell) for cell in drop_gated_solutions(text).split(sep))


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "chapters").glob("*.ipynb"))
    print(f"{'chapter':<40} {'words':>6}")
    for p in paths:
        print(f"{p.stem:<40} {chapter_words(p):>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
