"""The figure style (mlm_helpers.style) and the notebook tidier (tools/tidy_notebooks.py)."""

from __future__ import annotations

import matplotlib

from mlm_helpers.style import BOOK_RC, use_book_style


def test_book_style_sets_legible_sizes():
    with matplotlib.rc_context():
        use_book_style()
        for key, value in BOOK_RC.items():
            assert matplotlib.rcParams[key] == value
        # 12 px or more in the 672 px column for a figure up to 10 inches wide at 100 dpi
        smallest = min(matplotlib.rcParams[k] for k in ("font.size", "xtick.labelsize", "legend.fontsize"))
        assert smallest * 100 / 72 * 672 / (10 * 100) >= 11.2
