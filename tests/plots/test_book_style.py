"""The figure style (mlm_helpers.plots.style) and the notebook tidier (tools/tidy_notebooks.py)."""

from __future__ import annotations

import matplotlib

from mlm_helpers.plots.style import BOOK_RC, use_book_style


def test_book_style_sets_legible_sizes():
    with matplotlib.rc_context():
        use_book_style()
        for key, value in BOOK_RC.items():
            assert matplotlib.rcParams[key] == value
        # 12 px or more in the 672 px column for a figure up to 10 inches wide at 100 dpi
        smallest = min(matplotlib.rcParams[k] for k in ("font.size", "xtick.labelsize", "legend.fontsize"))
        assert smallest * 100 / 72 * 672 / (10 * 100) >= 12


def test_notebooks_are_tidy():
    """tools/tidy_notebooks.py has been run on the chapters and changes nothing more (idempotent)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, str(root / "tools" / "tidy_notebooks.py"), "--check"],
                          capture_output=True, text=True, cwd=root)
    assert proc.returncode == 0, "run `python tools/tidy_notebooks.py`:\n" + proc.stdout + proc.stderr


def test_chapter_links_skip_other_books():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "tidy_notebooks.py"
    spec = importlib.util.spec_from_file_location("tidy_notebooks", path)
    tidy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tidy)
    names = {"02": "02_icc", "10": "10_longitudinal"}
    assert tidy.link_chapters("Chapter 02 and $chapter 02$", names, own="05") == (
        "{doc}`Chapter 02 <02_icc>` and $chapter 02$")
    assert tidy.link_chapters("{cite:t}`snijders2012` (chapter 10)", names, own="05") == (
        "{cite:t}`snijders2012` (chapter 10)")
    assert tidy.link_chapters("## Chapter 02\n\nchapter 02", names, own="02") == "## Chapter 02\n\nchapter 02"
