"""The course's figure style: legible in the book's 672 px column and sharp on any screen.

A chapter calls :func:`use_book_style` once, after its imports. It

* sets matplotlib's text sizes so that labels come out at 12 px or more when a figure up to
  10 inches wide is shown in the book's 672 px column (13 pt at 100 dpi is 18 px; a 10-inch
  figure is scaled by 0.67 to fit the column, which leaves 12 px);
* asks IPython's inline backend for ``retina`` PNGs: drawn at twice the pixels and shown at
  the same size, so they stay sharp on high-density screens and when a reader opens a
  figure at full size;
* leaves colours alone: figures choose theirs from :data:`OKABE_ITO` (colour-blind safe), the
  palette's one definition.

Outside IPython (a script, the tests) only the matplotlib settings apply.

Examples
--------
>>> import matplotlib
>>> from mlm_helpers.plots.style import use_book_style, BOOK_RC
>>> use_book_style()
>>> matplotlib.rcParams["font.size"] == BOOK_RC["font.size"]
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["BOOK_RC", "OKABE_ITO", "use_book_style"]

#: The Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008): every figure of the course takes its
#: colours from here.
OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "green": "#009E73",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}

#: The matplotlib settings :func:`use_book_style` applies.
BOOK_RC: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "font.size": 13,
    "axes.titlesize": 13,
    "axes.labelsize": 13,
    "xtick.labelsize": 13,
    "ytick.labelsize": 13,
    "legend.fontsize": 13,
    "figure.titlesize": 14,
}


def use_book_style(retina: bool = True) -> None:
    """Apply the course's figure style to matplotlib (and to IPython's inline figures).

    Parameters
    ----------
    retina : bool
        In IPython, show inline figures as 2x PNGs (``set_matplotlib_formats("retina")``).

    Returns
    -------
    None

    Examples
    --------
    >>> import matplotlib
    >>> use_book_style()
    >>> matplotlib.rcParams["xtick.labelsize"]
    13.0
    """
    import matplotlib

    matplotlib.rcParams.update(BOOK_RC)  # type: ignore[arg-type]
    if not retina:
        return
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of ipywidgets
        return
    if get_ipython() is None:
        return
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # pragma: no cover
        return
    set_matplotlib_formats("retina")
