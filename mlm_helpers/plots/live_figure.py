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
tick labels are redrawn. Tick labels are text, and slow, so each rendering of a
dynamic axis is also kept, keyed by its limits, tick positions and labels: when
a slider brings the axis back to a state it had before (snap the limits to
round numbers and it often does), the pixels are copied instead of redrawn.

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
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from ..errors import MLMInputError

__all__ = ["LiveFigure", "snap_limits"]


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
        static, the axes first.
    cache_size : int
        How many renderings of each dynamic axis to keep.

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

    def __init__(self, figure: Figure, dynamic: Iterable[Artist], cache_size: int = 64) -> None:
        self.figure = figure
        if not isinstance(figure.canvas, FigureCanvasAgg):
            FigureCanvasAgg(figure)
        self.dynamic: list[Artist] = sorted(dynamic, key=lambda a: a.get_zorder())
        self._axes: list[Axis] = [a for a in self.dynamic if isinstance(a, Axis)]
        self._others: list[Artist] = [a for a in self.dynamic if not isinstance(a, Axis)]
        self._cache_size = int(cache_size)
        self._axis_cache: dict[Axis, OrderedDict] = {axis: OrderedDict() for axis in self._axes}
        self.cache_hits = 0
        self.cache_misses = 0
        self._background = None
        self._freeze_axis_labels()
        for artist in self.dynamic:
            artist.set_animated(True)  # left out of canvas.draw(); drawn by render()


    @property
    def _agg(self) -> FigureCanvasAgg:
        """The figure's Agg canvas (given to it in ``__init__`` if it had another)."""
        return self.figure.canvas  # type: ignore[return-value]
    def _freeze_axis_labels(self) -> None:
        """Turn the label of every dynamic axis into a static figure text, where it was drawn."""
        axes = [a for a in self._axes if a.label.get_visible() and a.label.get_text()]
        if not axes:
            return
        canvas = self._agg
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
        """Forget the background and the axis renderings: call after changing a static part of the figure."""
        self._background = None  # the next render draws it again and empties the axis caches

    @staticmethod
    def _axis_key(axis: Axis) -> tuple:
        """What an axis looks like: its limits, tick positions and tick labels."""
        locs = axis.get_majorticklocs()
        formatter = axis.major.formatter
        assert formatter is not None
        labels = formatter.format_ticks(list(locs))
        size = axis.get_majorticklabels()[0].get_fontsize() if len(locs) else None
        return tuple(axis.get_view_interval()), tuple(locs), tuple(labels), size

    def _snapshot(self, axis: Axis, renderer: Any) -> tuple[Any, tuple[float, float, float, float]]:
        """Draw ``axis`` alone on the background and keep the pixels of its tick marks and labels."""
        canvas = self._agg
        canvas.restore_region(self._background)
        axis.draw(renderer)
        box = axis.get_tightbbox(renderer)
        assert box is not None  # a visible axis has a box
        fig_box = self.figure.bbox
        x0, y0 = max(box.x0 - 2, fig_box.x0), max(box.y0 - 2, fig_box.y0)
        x1, y1 = min(box.x1 + 2, fig_box.x1), min(box.y1 + 2, fig_box.y1)
        region = canvas.copy_from_bbox(Bbox([[x0, y0], [x1, y1]]))
        return region, (x0, y0, x1, y1)

    def _ensure_background(self) -> None:
        if self._background is None:
            canvas = self._agg
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.figure.bbox)
            for cache in self._axis_cache.values():
                cache.clear()

    def _cached(self, axis: Axis, count: bool = True) -> tuple[Any, tuple[float, float, float, float]]:
        """The rendering of ``axis`` in its current state: from the cache, or drawn and kept."""
        cache = self._axis_cache[axis]
        key = self._axis_key(axis)
        if key in cache:
            cache.move_to_end(key)
            self.cache_hits += count
        else:
            cache[key] = self._snapshot(axis, self._agg.get_renderer())
            self.cache_misses += count
            if len(cache) > self._cache_size:
                cache.popitem(last=False)
        return cache[key]

    def remember(self, axis: Axis) -> None:
        """Render ``axis`` in its current state and keep it, so that a later move to this state is fast.

        For axes with a few known states (tick labels that depend on one
        slider, say): set each state and call this once, when the widget is
        built.
        """
        if axis not in self._axis_cache:
            raise MLMInputError("remember() takes one of the dynamic axes given to LiveFigure.")
        self._ensure_background()
        self._cached(axis, count=False)  # preparation, not a slider move

    def render(self) -> None:
        """Bring the canvas up to date: the stored background plus the dynamic artists as they are now."""
        canvas = self._agg
        self._ensure_background()
        renderer = canvas.get_renderer()
        snapshots = [(axis, self._cached(axis)) for axis in self._axes]
        canvas.restore_region(self._background)
        for axis, (region, box) in snapshots:
            # A snapshot restores a rectangle; if it overlapped another axis's, it would wipe that
            # axis's labels, so such an axis is drawn afresh instead.
            if any(_overlap(box, other) for a, (_, other) in snapshots if a is not axis):
                axis.draw(renderer)
            else:
                canvas.restore_region(region)
        for artist in self._others:
            artist.draw(renderer)  # draws nothing when the artist is not visible

    def rgb(self) -> np.ndarray:
        """Render and return the picture as an ``(height, width, 3)`` array of 8-bit RGB values."""
        self.render()
        return np.asarray(self._agg.buffer_rgba())[:, :, :3].copy()

    def png(self) -> bytes:
        """Render and return the picture as PNG bytes (fast, lightly compressed).

        Returns
        -------
        bytes
            A PNG file, for ``ipywidgets.Image(value=...)``.
        """
        from PIL import Image

        self.render()
        canvas = self._agg
        width, height = canvas.get_width_height(physical=True)
        image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="png", compress_level=1)
        return buf.getvalue()


def snap_limits(lo: float, hi: float, steps: int = 5) -> tuple[float, float]:
    """Widen ``(lo, hi)`` to multiples of a round step, about ``(hi - lo) / steps``.

    The step is 1, 2, 2.5 or 5 times a power of ten. Axis limits snapped this
    way repeat as sliders move, so :class:`LiveFigure` can reuse the axis's
    rendering instead of drawing its tick labels again.

    Parameters
    ----------
    lo, hi : float
        The range to cover.
    steps : int
        Roughly how many steps the range should span (more: a tighter fit).

    Returns
    -------
    tuple of float
        The snapped limits, ``lo' <= lo`` and ``hi' >= hi``.

    Examples
    --------
    >>> snap_limits(-3.7, 8.2)
    (-5.0, 10.0)
    >>> snap_limits(41.3, 58.9, steps=6)
    (40.0, 60.0)
    """
    lo, hi = float(lo), float(hi)
    span = hi - lo if hi > lo else (abs(hi) or 1.0)
    raw = span / max(int(steps), 1)
    power = 10.0 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw * (1 - 1e-12))
    return float(np.floor(lo / step) * step) + 0.0, float(np.ceil(hi / step) * step) + 0.0


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether two rectangles (x0, y0, x1, y1) share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
