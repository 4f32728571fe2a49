"""Tests of the fast redraw behind the slider widgets: blitted pictures match full renders."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mlm_helpers import icc_explorer, shrinkage_explorer, slopes_explorer  # noqa: E402
from mlm_helpers.plots.live_figure import LiveFigure  # noqa: E402

pytest.importorskip("ipywidgets")

#: Each explorer with slider moves that change the axes' limits and tick labels, not only the data.
MOVES = {
    icc_explorer: {"tau00": 3.5, "sigma2": 1.0, "n_groups": 45, "group_size": 5},
    shrinkage_explorer: {"group_size": 45, "ratio": 0.45},
    slopes_explorer: {"tau11": 1.6, "corr": 1.0},
}


def _png_to_rgb(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def _full_render(live: LiveFigure) -> np.ndarray:
    """Render every artist the ordinary way, as the blitted picture should look."""
    for artist in live.dynamic:
        artist.set_animated(False)
    buf = io.BytesIO()
    live.figure.savefig(buf, format="png")
    for artist in live.dynamic:
        artist.set_animated(True)
    return _png_to_rgb(buf.getvalue())


@pytest.mark.parametrize("module", list(MOVES), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_blitted_picture_matches_a_full_render(module):
    ex = module.widget().explorer
    before = ex.image.value
    for name, value in MOVES[module].items():
        ex.sliders[name].value = value
    ex.new_draw()
    blitted = _png_to_rgb(ex.image.value)
    assert ex.image.value != before
    full = _full_render(ex.live)
    assert blitted.shape == full.shape
    # Identical up to antialiasing at the edges of text drawn twice over the background.
    assert np.abs(blitted - full).mean() < 0.05
    assert np.isfinite(ex.last_update_ms) and ex.last_update_ms > 0


@pytest.mark.parametrize("module", list(MOVES), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_the_background_is_rendered_once(module, monkeypatch):
    ex = module.widget().explorer
    calls = []
    original = ex.figure.canvas.draw
    monkeypatch.setattr(ex.figure.canvas, "draw", lambda *a, **k: (calls.append(1), original(*a, **k)))
    for name, value in MOVES[module].items():
        ex.sliders[name].value = value
    assert calls == []  # slider moves redraw only the dynamic artists
    ex.live.invalidate()
    ex.update()
    assert calls == [1]


def test_dynamic_axis_label_is_frozen_as_static_text():
    fig = Figure(figsize=(4, 3), dpi=72)
    ax = fig.subplots()
    ax.set_ylabel("outcome (points)")
    (line,) = ax.plot([0, 1], [0, 1])
    live = LiveFigure(fig, [line, ax.yaxis])
    assert not ax.yaxis.label.get_visible()
    assert [t.get_text() for t in fig.texts] == ["outcome (points)"]
    assert fig.texts[0].get_rotation() == 90
    ax.set_ylim(0, 10)  # new tick labels, drawn by the next render
    first = live.rgb()
    ax.set_ylim(0, 1)
    assert not np.array_equal(first, live.rgb())


def test_dynamic_artists_are_drawn_in_zorder():
    fig = Figure(figsize=(2, 2), dpi=50)
    ax = fig.subplots()
    ax.set_axis_off()
    top = ax.axhspan(0, 1, color="red", zorder=5)
    bottom = ax.axhspan(0, 1, color="blue", zorder=1)
    live = LiveFigure(fig, [top, bottom])
    assert live.dynamic == [bottom, top]
    centre = live.rgb()[50, 50]
    assert tuple(centre) == (255, 0, 0)



def test_axis_renderings_are_reused_and_look_the_same():
    fig = Figure(figsize=(4, 3), dpi=72)
    ax = fig.subplots()
    (line,) = ax.plot([0, 1], [0, 1])
    live = LiveFigure(fig, [line, ax.yaxis])
    ax.set_ylim(0, 10)
    first = live.rgb()
    ax.set_ylim(0, 20)
    live.rgb()
    assert (live.cache_hits, live.cache_misses) == (0, 2)
    ax.set_ylim(0, 10)  # back to a state seen before: copied, not redrawn
    again = live.rgb()
    assert live.cache_hits == 1
    np.testing.assert_array_equal(first, again)


def test_remember_prepares_a_state_and_rejects_static_axes():
    fig = Figure(figsize=(4, 3), dpi=72)
    ax = fig.subplots()
    (line,) = ax.plot([0, 1], [0, 1])
    live = LiveFigure(fig, [line, ax.yaxis])
    ax.set_ylim(0, 5)
    live.remember(ax.yaxis)
    ax.set_ylim(0, 1)
    live.rgb()
    ax.set_ylim(0, 5)
    live.rgb()
    assert live.cache_hits == 1 and live.cache_misses == 1
    with pytest.raises(ValueError, match="dynamic axes"):
        live.remember(ax.xaxis)


def test_overlapping_axis_renderings_are_drawn_afresh():
    """An x and a y axis whose labels meet at the corner: copying one rectangle would wipe the other."""
    fig = Figure(figsize=(3, 3), dpi=72)
    ax = fig.subplots()
    ax.tick_params(labelsize=16)
    (line,) = ax.plot([0, 1], [0, 1])
    live = LiveFigure(fig, [line, ax.xaxis, ax.yaxis])
    for lim in [(0, 1), (0, 2), (0, 1)]:
        ax.set_xlim(*lim)
        ax.set_ylim(*lim)
        blitted = live.rgb().astype(int)
        assert np.abs(blitted - _full_render(live)).mean() < 0.05
