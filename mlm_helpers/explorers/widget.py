"""The widget shared by the slider explorers: sliders, a "new draw" button, the numbers and the figure.

Each explorer module (``icc_explorer``, ``shrinkage_explorer``,
``slopes_explorer``) supplies what is particular to it: its sliders
(``PARAMS``: name -> (min, max, step, default)), a figure and the artists in
it that change, a function that recomputes and updates those artists for the
slider values and seed and returns the numbers, and a function that writes
those numbers as a short HTML paragraph. :class:`SliderExplorer` does the wiring:
every slider move or new draw calls :meth:`SliderExplorer.update`, which
refits, redraws only what changed and replaces the picture and the numbers.

The numbers sit in HTML above the picture, not in the figure: text is the
slow part of a matplotlib redraw, and HTML text is sharper, selectable and
read by screen readers.

Examples
--------
>>> from mlm_helpers import icc_explorer
>>> ex = icc_explorer.widget(seed=0).explorer
>>> ex.sliders["tau00"].value = 0.0  # what a student's slider move does
>>> ex.numbers["true_icc"]
0.0
>>> "ICC" in ex.html.value
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from matplotlib.artist import Artist
from matplotlib.figure import Figure

from ..plots.live_figure import LiveFigure

__all__ = ["SliderExplorer"]


class SliderExplorer:
    """Sliders, a new-draw button, an HTML line of numbers and a fast-redrawing figure, wired together.

    Parameters
    ----------
    params : mapping
        Slider name -> (min, max, step, default).
    labels : mapping
        Slider name -> the label shown next to it.
    figure : matplotlib.figure.Figure
        The figure, laid out.
    dynamic : sequence of matplotlib artists
        The artists that ``refresh`` changes (see :class:`LiveFigure`).
    refresh : callable
        ``refresh(values, seed)``: recompute for the slider values (a dict)
        and the seed, update the figure's artists in place and return the
        numbers (a dict).
    describe : callable
        ``describe(numbers, values)``: the numbers (and the slider values) as
        an HTML fragment.
    seed : int
        Seed of the first draw; the button moves to the next one.
    integer : tuple of str
        Sliders that take whole numbers (the others show two decimals).

    Attributes
    ----------
    sliders : dict
        Name -> ipywidgets slider; set ``.value`` to move it.
    button, image, html, box
        The new-draw button, the picture, the numbers and the whole widget.
    live : LiveFigure
        The figure, redrawn in part on each update.
    numbers : dict
        The numbers of the last update.
    seed : int
        The current seed.
    last_update_ms : float
        Wall time of the last update (refit, redraw and PNG), in milliseconds.
    """

    def __init__(self, *, params: Mapping[str, tuple[float, float, float, float]], labels: Mapping[str, str],
                 figure: Figure, dynamic: Sequence[Artist],
                 refresh: Callable[[dict[str, Any], int], dict[str, Any]],
                 describe: Callable[[dict[str, Any], dict[str, Any]], str], seed: int,
                 integer: tuple[str, ...] = ()) -> None:
        import ipywidgets as widgets

        # Set the artists (limits, ticks) for the first draw before LiveFigure renders the static parts.
        refresh({name: spec[3] for name, spec in params.items()}, int(seed))
        self.live = LiveFigure(figure, dynamic)
        self.figure = figure
        self._refresh = refresh
        self._describe = describe
        self.seed = int(seed)
        self.numbers: dict[str, Any] = {}
        self.last_update_ms = float("nan")
        self.sliders: dict[str, Any] = {}
        for name, (lo, hi, step, default) in params.items():
            common = dict(description=labels.get(name, name), continuous_update=False,
                          style={"description_width": "190px"}, layout=widgets.Layout(width="420px"))
            if name in integer:
                slider = widgets.IntSlider(value=int(default), min=int(lo), max=int(hi), step=int(step), **common)
            else:
                slider = widgets.FloatSlider(value=default, min=lo, max=hi, step=step,
                                             readout_format=".2f", **common)
            slider.observe(self._on_move, names="value")
            self.sliders[name] = slider
        self.button = widgets.Button(description="new draw", icon="refresh",
                                     tooltip="simulate new data with the same settings (next seed)")
        self.button.on_click(self.new_draw)
        self.html = widgets.HTML()
        self.image = widgets.Image(format="png")
        rows = list(self.sliders.values())
        columns = [widgets.VBox(rows[i:i + 2]) for i in range(0, len(rows), 2)]
        self.box = widgets.VBox([widgets.HBox([*columns, self.button]), self.html, self.image])
        self.box.explorer = self
        self.update()

    @property
    def params(self) -> dict[str, Any]:
        """Current slider values, by name."""
        return {name: s.value for name, s in self.sliders.items()}

    def _on_move(self, _change: Any) -> None:
        self.update()

    def update(self) -> None:
        """Recompute for the current sliders and seed, then replace the numbers and the picture."""
        t0 = time.perf_counter()
        values = self.params
        self.numbers = self._refresh(values, self.seed)
        self.html.value = self._describe(self.numbers, values)
        self.image.value = self.live.png()
        self.last_update_ms = (time.perf_counter() - t0) * 1e3

    def new_draw(self, _button: Any = None) -> None:
        """Simulate new data with the same settings (the next seed) and redraw."""
        self.seed += 1
        self.update()
