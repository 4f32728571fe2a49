"""Fast redraws for slider widgets: render a figure's static parts once, then only what changes.

Rendering text is most of the cost of drawing a matplotlib figure (laying out
and rasterising every tick label, axis label, legend entry and title takes
tens of milliseconds on a small machine), while the data that a slider changes
take a millisecond or two. :class:`LiveFigure` therefore renders the figure
once without its *dynamic* artists, keeps that picture (the background), and
on every update restores it and draws only the dynamic artists on top
("blitting"), then hands out PNG bytes for an ``ipywidgets.Image``.

A dynamic artist can be a data artist (lines, points, a collection) or a whole
axis (``ax.xaxis``) whose limits move; the axis *label* of a dynamic axis is
frozen as a static figure text where the first full render put it, so only the
tick labels are redrawn.

Examples
--------
>>> from matplotlib.figure import Figure
>>> fig = Figure(figsize=(4, 3), dpi=72)
>>> ax = fig.subplots()
>>> ax.set_xlim(0, 1); ax.set_ylim(0, 1)  # doctest: +ELLIPSIS
(...)
>>> (line,) = ax.plot([0, 1], [0, 0.5])
>>> live = LiveFigure(fig, [line])
>>> live.png()[:4]
b'\\x89PNG'
>>> line.set_ydata([1, 0.5])  # a slider moved
>>> live.png()[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["LiveFigure"]


class LiveFigure:
    """A figure whose static parts are rendered once and whose dynamic artists are redrawn on demand.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        A figure with its axes laid out (call ``subplots_adjust`` or
        ``tight_layout`` first; the layout is not recomputed on updates). It
        is given an off-screen Agg canvas if it has none.
    dynamic : iterable of matplotlib artists
        The artists that change between updates: data artists, and whole
        axes (``ax.xaxis``, ``ax.yaxis``) whose limits or tick labels change.
        They are drawn in order of their ``zorder``, on top of everything
        static.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(4, 3), dpi=72)
    >>> ax = fig.subplots()
    >>> dots = ax.scatter([0.2, 0.8], [0.5, 0.5])
    >>> live = LiveFigure(fig, [dots, ax.yaxis])
    >>> live.rgb().shape
    (216, 288, 3)
    """

    def __init__(self, figure: Figure, dynamic: Iterable[Artist]) -> None:
        self.figure = figure
        if not isinstance(figure.canvas, FigureCanvasAgg):
            FigureCanvasAgg(figure)
        self.dynamic: list[Artist] = sorted(dynamic, key=lambda a: a.get_zorder())
        self._background = None
        self._freeze_axis_labels()
        for artist in self.dynamic:
            artist.set_animated(True)  # left out of canvas.draw(); drawn by render()

    def _freeze_axis_labels(self) -> None:
        """Turn the label of every dynamic axis into a static figure text, where it was drawn."""
        axes = [a for a in self.dynamic if isinstance(a, Axis) and a.label.get_visible() and a.label.get_text()]
        if not axes:
            return
        canvas = self.figure.canvas
        canvas.draw()
        renderer = canvas.get_renderer()
        to_figure = self.figure.transFigure.inverted()
        for axis in axes:
            label = axis.label
            x, y = to_figure.transform(label.get_window_extent(renderer).get_points().mean(axis=0))
            self.figure.text(x, y, label.get_text(), rotation=label.get_rotation(), ha="center", va="center",
                             fontsize=label.get_fontsize(), color=label.get_color())
            label.set_visible(False)

    def invalidate(self) -> None:
        """Forget the background: call after changing a static part of the figure."""
        self._background = None

    def render(self) -> None:
        """Bring the canvas up to date: the stored background plus the dynamic artists as they are now."""
        canvas = self.figure.canvas
        if self._background is None:
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        for artist in self.dynamic:
            artist.draw(renderer)  # draws nothing when the artist is not visible

    def rgb(self) -> np.ndarray:
        """Render and return the picture as an ``(height, width, 3)`` array of 8-bit RGB values."""
        self.render()
        return np.asarray(self.figure.canvas.buffer_rgba())[:, :, :3].copy()

    def png(self) -> bytes:
        """Render and return the picture as PNG bytes (fast, lightly compressed).

        Returns
        -------
        bytes
            A PNG file, for ``ipywidgets.Image(value=...)``.
        """
        from PIL import Image

        self.render()
        canvas = self.figure.canvas
        width, height = canvas.get_width_height(physical=True)
        image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="png", compress_level=1)
        return buf.getvalue()
