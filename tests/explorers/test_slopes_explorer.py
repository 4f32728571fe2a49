"""Tests of the random-slopes explorer: slider values in, numbers and figure out."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import mlm_helpers as mh
from mlm_helpers import slopes_explorer as sx


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_params_are_modest_grids():
    for name, (lo, hi, step, default) in sx.PARAMS.items():
        n_values = round((hi - lo) / step) + 1
        assert 5 <= n_values <= 12, name
        assert lo <= default <= hi


def test_variance_function_and_its_minimum():
    out = sx.compute(0.8, 0.5, seed=2)
    tau01 = 0.5 * np.sqrt(sx.TAU00 * 0.8)
    assert out["tau01"] == pytest.approx(tau01)
    np.testing.assert_allclose(out["var_between"], sx.TAU00 + 2 * tau01 * out["x"] + 0.8 * out["x"] ** 2)
    assert out["x_min"] == pytest.approx(-tau01 / 0.8)
    assert out["var_min"] == pytest.approx(sx.TAU00 - tau01**2 / 0.8)
    assert out["var_min"] <= out["var_between"].min() + 1e-12
    np.testing.assert_allclose(out["vpc"], out["var_between"] / (out["var_between"] + sx.SIGMA2))


def test_no_slope_variance_means_one_icc():
    out = sx.compute(0.0, 0.5, seed=1)
    np.testing.assert_allclose(out["vpc"], sx.TAU00 / (sx.TAU00 + sx.SIGMA2))
    np.testing.assert_allclose(out["slopes"], sx.GAMMA10)


def test_simulated_groups_follow_the_parabola():
    out = sx.compute(1.0, -0.5, seed=3)
    truth = sx.between_variance(out["x_check"], sx.TAU00, out["tau01"], 1.0)
    # sample variance of 400 draws: relative SE about sqrt(2/399) = 7%
    assert np.all(np.abs(out["var_check"] / truth - 1) < 0.3)


def test_correlation_of_draws_and_extremes():
    out = sx.compute(1.6, 1.0, seed=4)  # perfectly correlated: lines all cross at one point
    assert np.corrcoef(out["intercepts"], out["slopes"])[0, 1] == pytest.approx(1.0)
    assert out["var_min"] == pytest.approx(0.0, abs=1e-12)
    assert out["x_min"] == pytest.approx(-np.sqrt(sx.TAU00 / 1.6))


def test_deterministic_given_seed():
    a, b = sx.compute(0.6, -0.25, seed=7), sx.compute(0.6, -0.25, seed=7)
    np.testing.assert_array_equal(a["slopes"], b["slopes"])
    assert not np.allclose(a["slopes"], sx.compute(0.6, -0.25, seed=8)["slopes"])


def test_draw_shows_the_numbers():
    fig = sx.draw(1.0, 0.5, seed=1)
    out = sx.compute(1.0, 0.5, seed=1)
    a1, a2 = fig.axes
    assert len(a1.collections[0].get_segments()) == sx.N_LINES
    seg = a1.collections[0].get_segments()[0]
    np.testing.assert_allclose(seg[:, 1], out["intercepts"][0] + out["slopes"][0] * np.array(sx.X_RANGE))
    np.testing.assert_allclose(a2.lines[0].get_ydata(), out["var_between"])
    assert f"{out['vpc_at'][2.0]:.3f} at 2" in a2.get_title()
    assert f"lines closest at x = {out['x_min']:.2f}" in a1.get_title()
    assert a1.get_xlabel().startswith("x: SES")


def test_view_update_equals_fresh_draw():
    fig, view = sx._draw(0.6, -0.25, 1, None)
    view.update(sx.compute(1.4, 0.75, seed=2))
    fresh = sx.draw(1.4, 0.75, seed=2)
    assert fig.axes[0].get_title() == fresh.axes[0].get_title()
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), fresh.axes[1].lines[0].get_ydata())


def test_bad_input():
    with pytest.raises(mh.MLMInputError, match="correlation"):
        sx.compute(0.5, 1.5)
    with pytest.raises(mh.MLMInputError, match="negative"):
        sx.compute(-0.1, 0.0)
    with pytest.raises(mh.MLMInputError, match="pair"):
        sx.draw(ax=plt.subplots()[1])


def test_widget_moves_refit_and_redraw():
    pytest.importorskip("ipywidgets")
    ex = sx.widget(seed=3).explorer
    assert ex.numbers["seed"] == 3
    first = ex.image.value
    assert first[:4] == b"\x89PNG"
    moves = dict(tau11=1.2, corr=0.5)
    for name, value in moves.items():
        ex.sliders[name].value = value
    out = sx.compute(**moves, seed=3)
    np.testing.assert_array_equal(ex.numbers["intercepts"], out["intercepts"])
    a1, a2 = ex.figure.axes
    assert len(a1.collections[0].get_segments()) == sx.N_LINES  # the lines drawn are the new ones
    np.testing.assert_allclose(a2.lines[0].get_ydata(), out["var_between"])
    assert a2.get_ylim() == (0.0, 22.0)  # one scale for every setting
    assert ex.html.value == sx.describe(out)
    assert ex.image.value != first
    ex.button.click()
    assert ex.seed == 4 and ex.numbers["seed"] == 4
