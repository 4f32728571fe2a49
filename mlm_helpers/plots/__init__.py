"""Figures for the course, in one colour-blind-safe style (``figures``), and ``LiveFigure``,
which redraws only what a slider changes.

The plotting functions are re-exported here: ``mh.plots.caterpillar_plot(...)``; a chapter calls
``mh.plots.use_book_style()`` once (``style``: 2x figures, labels of 12 px or more in the book, and
the Okabe-Ito palette, ``OKABE_ITO``, defined once).
"""

from .figures import *  # noqa: F403
from .figures import __all__ as _figures_all
from .style import use_book_style

__all__ = [*_figures_all, "use_book_style"]
