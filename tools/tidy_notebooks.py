"""Tidy the chapter notebooks' sources for the book: idempotent, outputs untouched.

Run after changing chapters (and after setting ``repository.url`` in ``_config.yml``)::

    python tools/tidy_notebooks.py            # rewrite chapters/*.ipynb in place
    python tools/tidy_notebooks.py --check    # exit 1 if a notebook would change

Running it twice changes nothing the second time. It edits only cell sources, cell tags,
figure metadata and inserts two kinds of cells; it never executes a notebook and never
changes an output (glue outputs move, unchanged, with the glue calls that made them).
Notebooks are written as nbformat 4 JSON with ``indent=1``, keys sorted, non-ASCII kept and
a trailing newline, which is how Jupyter writes them, so untouched cells keep their bytes.

What it does, in order:

1. **Colab cell.** Puts (or updates) a first code cell, tagged ``remove-cell`` so the book
   does not show it, that installs the course package from ``repository.url`` when the
   notebook runs on Google Colab and does nothing anywhere else.
2. **Figure style.** Adds ``use_book_style()`` (``mlm_helpers.plots.style``: 2x figures, 12 px
   labels in the book column) after the imports of the set-up cell.
3. **Panels that cannot be read side by side** (chapter 02's three strip plots, chapter 07's
   residual checks and sampling distributions) are stacked; font sizes below 11 pt written
   into chapter code are dropped so the style's sizes apply.
4. **Code at about 80 columns**: every code cell goes through ``ruff format`` with the
   settings of ``chapters/ruff.toml`` (line length 79). Cells ruff cannot parse (IPython
   magics) are left as they are.
5. **Bookkeeping hidden**: a cell that only calls ``glue(...)`` is tagged ``remove-cell``;
   a run of ``glue(...)`` calls at the end of a cell that also does something else moves,
   with the glue outputs it made, into a new cell tagged ``remove-cell`` right below.
6. **Plotting code folded**: a cell of 10 lines or more that draws a figure (and shows one)
   is tagged ``hide-input``.
7. **Chapter links**: every "chapter NN" / "Chapter NN" in markdown prose (outside code,
   math, links, roles and directive lines) becomes ``{doc}`chapter NN <NN_name>``` (a
   chapter's mentions of itself, and "chapter 12 of <a book>" or "<citation> (chapter 15)",
   stay plain text).

Example
-------
>>> link_chapters("As chapter 02 showed, `chapter 03` is code.", {"02": "02_icc"}, own="05")
'As {doc}`chapter 02 <02_icc>` showed, `chapter 03` is code.'
>>> link_chapters("See chapter 02 of {cite:t}`hox2017`.", {"02": "02_icc"}, own="05")
'See chapter 02 of {cite:t}`hox2017`.'
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
RUFF = Path(sys.executable).parent / "ruff"

COLAB_ID = "colab-install"
COLAB_MARK = "# Runs only on Google Colab"


# ---------------------------------------------------------------------------- helpers

def _src(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _set_src(cell: dict, text: str) -> None:
    lines = text.splitlines(keepends=True)
    if lines and lines[-1].endswith("\n"):
        lines[-1] = lines[-1][:-1]  # Jupyter stores no newline at the end of a cell
    cell["source"] = lines


def _tags(cell: dict) -> list[str]:
    return cell.setdefault("metadata", {}).setdefault("tags", [])


def _add_tag(cell: dict, tag: str) -> bool:
    tags = _tags(cell)
    if tag in tags:
        return False
    tags.append(tag)
    return True


def repository_url(config: Path = ROOT / "_config.yml") -> str:
    """``repository.url`` of the book's ``_config.yml`` ("" when unset).

    Examples
    --------
    >>> isinstance(repository_url(), str)
    True
    """
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    return str((data.get("repository") or {}).get("url") or "").strip()


def chapter_names(folder: Path = CHAPTERS) -> dict[str, str]:
    """{"00": "00_first_look", ...} for the chapter notebooks.

    Examples
    --------
    >>> chapter_names()["02"]
    '02_icc'
    """
    return {p.stem[:2]: p.stem for p in sorted(folder.glob("[0-9][0-9]_*.ipynb"))}


# ---------------------------------------------------------------------------- 1. Colab cell

def colab_source(repo: str) -> str:
    """Source of the Colab-only install cell for repository ``repo`` ("" if not configured).

    Examples
    --------
    >>> "pip" in colab_source("https://github.com/a/b")
    True
    >>> "RuntimeError" in colab_source("")
    True
    """
    head = (f"{COLAB_MARK}: install the course package there. Elsewhere\n"
            "# (JupyterLab, a hub, Binder) it does nothing. Written by tools/tidy_notebooks.py.\n"
            "import sys\n\n"
            'if "google.colab" in sys.modules:\n')
    if repo:
        return head + ("    from IPython import get_ipython\n\n"
                       f'    get_ipython().run_line_magic("pip", "install --quiet git+{repo}")\n')
    return head + ('    raise RuntimeError(\n'
                   '        "The course has no public repository yet (repository.url in "\n'
                   '        "_config.yml), so Colab cannot install mlm_helpers. Use the "\n'
                   '        "course hub or a local install (see the setup page)."\n'
                   "    )\n")


def ensure_colab_cell(nb: dict, repo: str) -> bool:
    cells = nb["cells"]
    source = colab_source(repo)
    for cell in cells:
        if cell.get("id") == COLAB_ID or _src(cell).startswith(COLAB_MARK):
            changed = _src(cell) != source.rstrip("\n")
            if changed:
                _set_src(cell, source)
            return _add_tag(cell, "remove-cell") or changed
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    cell = {"cell_type": "code", "execution_count": None, "id": COLAB_ID,
            "metadata": {"tags": ["remove-cell"]}, "outputs": []}
    _set_src(cell, source)
    cells.insert(first_code, cell)
    return True


# ---------------------------------------------------------------------------- 2. figure style

STYLE_IMPORT = "from mlm_helpers.plots import use_book_style"
STYLE_CALL = "use_book_style()  # figures at 2x, labels of 12 px or more in the book"


def ensure_style(nb: dict) -> bool:
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = _src(cell)
        if "use_book_style" in text:
            return False
        if "import mlm_helpers as mh" not in text:
            continue
        lines = text.split("\n")
        last_import = max(i for i, line in enumerate(lines) if re.match(r"(import|from)\s", line))
        lines.insert(last_import + 1, STYLE_IMPORT)
        lines.insert(last_import + 2, "")
        lines.insert(last_import + 3, STYLE_CALL)
        _set_src(cell, "\n".join(lines))
        return True
    return False


# ---------------------------------------------------------------------------- 3. panels

RESTACK = {
    # chapter 02: three strip plots side by side -> one above the other
    "fig-02-picture": [
        ("fig, axes = plt.subplots(1, 3, figsize=(12, 4), sharey=True)",
         "fig, axes = plt.subplots(3, 1, figsize=(6.5, 10), sharey=True)"),
    ],
    # chapter 07: residual checks -> (a) on top, (b) and (c) below
    "fig-07-checks": [
        ("fig, axes = plt.subplots(1, 3, figsize=(11, 3.7))",
         'fig, panel = plt.subplot_mosaic([["a", "a"], ["b", "c"]], figsize=(7, 7.5))\n'
         'axes = [panel["a"], panel["b"], panel["c"]]'),
    ],
    # chapter 07: three histograms side by side -> one above the other
    "fig-07-sampling": [
        ("fig, axes = plt.subplots(1, 3, figsize=(11, 3.5))",
         "fig, axes = plt.subplots(3, 1, figsize=(6.5, 9.5))"),
        ("fig.tight_layout(rect=(0, 0, 1, 0.92))", "fig.tight_layout(rect=(0, 0, 1, 0.95))"),
    ],
}
ALT_EDITS = {
    "fig-02-picture": [("Three strip plots side by side.", "Three strip plots, one above the other.")],
    "fig-07-checks": [("Three panels. Left:", "Three panels. Top:"), ("Middle:", "Bottom left:"),
                      ("Right:", "Bottom right:")],
    "fig-07-sampling": [("Three histograms.", "Three histograms, one above the other.")],
}
SMALL_FONT = re.compile(r",\s*fontsize=(?:[5-9]|10)(?=\s*[,)])")


def restack_panels(nb: dict) -> int:
    changed = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = new = _src(cell)
        mystnb = cell.get("metadata", {}).get("mystnb", {})
        name = (mystnb.get("figure") or {}).get("name", "")
        for old, replacement in RESTACK.get(name, []):
            new = new.replace(old, replacement)
        new = SMALL_FONT.sub("", new)
        if new != text:
            _set_src(cell, new)
            changed += 1
            image = mystnb.get("image") or {}
            for old, replacement in ALT_EDITS.get(name, []):
                if "alt" in image and old in image["alt"] and replacement not in image["alt"]:
                    image["alt"] = image["alt"].replace(old, replacement, 1)
    return changed


# ---------------------------------------------------------------------------- 4. ruff format

def ruff_format(code: str, filename: str = "chapters/cell.py") -> str:
    """``code`` formatted by ruff with the chapters' settings, or unchanged if ruff cannot parse it.

    Examples
    --------
    >>> ruff_format("x=[1,2]\\n")
    'x = [1, 2]\\n'
    >>> ruff_format("%timeit 1\\n")
    '%timeit 1\\n'
    """
    proc = subprocess.run([str(RUFF), "format", "--quiet", "--stdin-filename", filename, "-"],
                          input=code, capture_output=True, text=True, cwd=ROOT)
    return proc.stdout if proc.returncode == 0 and proc.stdout.strip() else code


def format_code(nb: dict) -> int:
    changed = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = _src(cell)
        new = ruff_format(text + "\n").rstrip("\n")
        if new != text:
            _set_src(cell, new)
            changed += 1
    return changed


# ---------------------------------------------------------------------------- 5. glue

def _is_glue(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "glue")


def _is_glue_output(out: dict) -> bool:
    return "scrapbook" in (out.get("metadata") or {})


def hide_glue(nb: dict) -> tuple[int, int]:
    """Tag glue-only cells ``remove-cell``; split trailing glue calls into such a cell.

    Returns (cells tagged, cells split).
    """
    tagged = split = 0
    cells = nb["cells"]
    i = 0
    while i < len(cells):
        cell = cells[i]
        i += 1
        if cell["cell_type"] != "code" or "remove-cell" in _tags(cell):
            if cell.get("metadata", {}).get("tags") == []:
                del cell["metadata"]["tags"]
            continue
        text = _src(cell)
        try:
            body = ast.parse(text).body
        except SyntaxError:
            body = []
        if cell.get("metadata", {}).get("tags") == []:
            del cell["metadata"]["tags"]
        if not body or not any(_is_glue(s) for s in body):
            continue
        k = len(body)
        while k > 0 and _is_glue(body[k - 1]):
            k -= 1
        if k == 0:
            tagged += _add_tag(cell, "remove-cell")
            continue
        if k == len(body):
            continue  # glue calls in the middle of a cell: left for a person to move
        outputs = cell.get("outputs", [])
        glue_outs = [o for o in outputs if _is_glue_output(o)]
        n_glue = len(body) - k
        # Only split when the cell's last outputs are exactly the glue calls' outputs.
        if len(glue_outs) > n_glue or outputs[len(outputs) - len(glue_outs):] != glue_outs:
            continue
        lines = text.split("\n")
        cut = body[k].lineno - 1
        while cut > 0 and lines[cut - 1].lstrip().startswith("#"):
            cut -= 1  # a comment right above the glue calls goes with them
        head = "\n".join(lines[:cut]).rstrip("\n")
        tail = "\n".join(lines[cut:]).strip("\n")
        _set_src(cell, head)
        cell["outputs"] = outputs[: len(outputs) - len(glue_outs)]
        new = {"cell_type": "code", "execution_count": None,
               "id": (str(cell.get("id", "cell")) + "-glue")[:64],
               "metadata": {"tags": ["remove-cell"]}, "outputs": glue_outs}
        _set_src(new, tail)
        cells.insert(i, new)
        i += 1
        split += 1
    return tagged, split


# ---------------------------------------------------------------------------- 6. hide-input

def fold_plotting(nb: dict, min_lines: int = 10) -> int:
    changed = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if any(t.startswith(("remove-", "hide-")) for t in tags):
            continue
        text = _src(cell)
        shows_image = any("image/png" in (o.get("data") or {}) for o in cell.get("outputs", []))
        draws = re.search(r"\b(plt|ax|axes|fig)\.", text) is not None
        if shows_image and draws and len(text.splitlines()) >= min_lines:
            changed += _add_tag(cell, "hide-input")
    return changed


# ---------------------------------------------------------------------------- 7. chapter links

_PROTECTED = re.compile(
    r"```.*?```"                   # fenced code
    r"|`[^`\n]*`"                   # inline code and the argument of roles ({doc}`...`)
    r"|\$\$.*?\$\$|\$[^$\n]*\$"     # math
    r"|\[[^\]\n]*\]\([^)\n]*\)"     # markdown links
    r"|<[^>\n]+>"                   # html tags and autolinks
    r"|^[ \t]*#[^\n]*$"              # headings
    r"|^[ \t]*:{3,}[^\n]*$|^[ \t]*:\w+:[^\n]*$",  # directive lines and options
    flags=re.S | re.M,
)
_MENTION = re.compile(r"\b([Cc]hapter) (\d\d)\b")


def link_chapters(text: str, names: dict[str, str], own: str | None = None) -> str:
    """Turn plain "chapter NN" mentions in markdown into ``{doc}`` links (see module docstring)."""

    def link(segment: str, offset: int) -> str:
        def repl(m: re.Match) -> str:
            number = m.group(2)
            before = text[max(0, offset + m.start() - 3):offset + m.start()]
            after = text[offset + m.end():offset + m.end() + 4]
            # "chapter 12 of {cite}`...`" and "{cite:t}`key` (chapter 15)" are chapters of other books
            if number == own or number not in names or after.startswith(" of") or before.endswith("` ("):
                return m.group(0)
            return f"{{doc}}`{m.group(1)} {number} <{names[number]}>`"

        return _MENTION.sub(repl, segment)

    out, last = [], 0
    for m in _PROTECTED.finditer(text):
        out.append(link(text[last:m.start()], last))
        out.append(m.group(0))
        last = m.end()
    out.append(link(text[last:], last))
    return "".join(out)


def link_chapter_mentions(nb: dict, own: str) -> int:
    names = chapter_names()
    changed = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = _src(cell)
        new = link_chapters(text, names, own)
        if new != text:
            _set_src(cell, new)
            changed += 1
    return changed


# ---------------------------------------------------------------------------- driver

def tidy(path: Path, repo: str) -> dict[str, int]:
    """Apply every step to one notebook in place; return what changed."""
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    report = {
        "colab": int(ensure_colab_cell(nb, repo)),
        "style": int(ensure_style(nb)),
        "panels": restack_panels(nb),
        "formatted": format_code(nb),
    }
    report["glue_hidden"], report["glue_split"] = hide_glue(nb)
    report["folded"] = fold_plotting(nb)
    report["links"] = link_chapter_mentions(nb, own=path.stem[:2])
    new = json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    report["changed"] = int(new != raw)
    if new != raw:
        path.write_text(new, encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="tidy the chapter notebooks (idempotent)")
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: chapters/NN_*.ipynb and the appendices chapters/AN_*.ipynb")
    ap.add_argument("--check", action="store_true", help="report, change nothing, exit 1 if a notebook would change")
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted(CHAPTERS.glob("[0-9A][0-9]_*.ipynb"))  # chapters NN_, appendices AN_
    repo = repository_url()
    dirty = 0
    for path in paths:
        if args.check:
            before = path.read_bytes()
            report = tidy(path, repo)
            path.write_bytes(before)
        else:
            report = tidy(path, repo)
        dirty += report["changed"]
        print(path.name, " ".join(f"{k}={v}" for k, v in report.items()))
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())
