"""Figures for the course, in one colour-blind-safe style (``figures``), and ``LiveFigure``,
which redraws only what a slider changes.

The plotting functions are re-exported here: ``mh.plots.caterpillar_plot(...)``.
"""

from .figures import *  # noqa: F403
from .figures import __all__  # noqa: F401
