"""Tests of the chapter 02 explorer: the numbers, the figure and the widget, without a kernel."""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mlm_helpers as mh  # noqa: E402
from mlm_helpers import icc_explorer as ie  # noqa: E402


def test_params_describe_modest_slider_grids():
    assert set(ie.PARAMS) == {"tau00", "sigma2", "n_groups", "group_size"}
    for name, (lo, hi, step, default) in ie.PARAMS.items():
        n_values = round((hi - lo) / step) + 1
        assert 5 <= n_values <= 12, name
        assert lo <= default <= hi
        assert ((default - lo) / step) == pytest.approx(round((default - lo) / step)), name


def test_compute_defaults():
    out = ie.compute()
    assert out["true_icc"] == 0.2
    assert out["design_effect"] == 2.8
    assert out["n_obs"] == 200
    assert out["se_true"] == pytest.approx(np.sqrt((1 + 4 / 10) / 20))


@pytest.mark.parametrize("params", [dict(tau00=1.0, sigma2=4.0, n_groups=20, group_size=10),
                                    dict(tau00=3.5, sigma2=2.0, n_groups=5, group_size=50),
                                    dict(tau00=0.5, sigma2=9.0, n_groups=50, group_size=5)])
def test_compute_matches_mh_fit(params):
    out = ie.compute(**params, seed=3)
    data = ie.simulate(**params, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mh.FewGroupsWarning)
        warnings.simplefilter("ignore", mh.SingularFitWarning)
        res = mh.fit("y ~ 1 + (1 | group)", data)
    assert out["icc"] == pytest.approx(res.icc, abs=1e-7)
    assert out["se_mixed"] == pytest.approx(res.fixed.loc["Intercept", "se"], rel=1e-6)
    assert out["mean"] == pytest.approx(res.fixed.loc["Intercept", "estimate"], abs=1e-8)
    assert out["se_naive"] == pytest.approx(data["y"].std(ddof=1) / np.sqrt(len(data)))
    J, m = params["n_groups"], params["group_size"]
    rho = params["tau00"] / (params["tau00"] + params["sigma2"])
    assert out["design_effect"] == pytest.approx(1 + (m - 1) * rho)
    # Balanced data: the mixed-model SE is sqrt((tau00_hat + sigma2_hat / m) / J).
    assert out["se_mixed"] == pytest.approx(np.sqrt((out["tau00_hat"] + out["sigma2_hat"] / m) / J), rel=1e-6)


def test_compute_is_deterministic_and_sliders_keep_the_draw():
    assert ie.compute(seed=5) == ie.compute(seed=5)
    assert ie.compute(seed=5)["icc"] != ie.compute(seed=6)["icc"]
    # More groups add groups and keep the first ones.
    small = ie.simulate(n_groups=10, seed=2)
    large = ie.simulate(n_groups=30, seed=2)
    np.testing.assert_allclose(small["y"], large["y"].iloc[: len(small)])


def test_no_between_group_variance():
    out = ie.compute(tau00=0.0, sigma2=4.0, n_groups=20, group_size=10, seed=1)
    assert out["true_icc"] == 0.0 and out["design_effect"] == 1.0
    singular = [ie.compute(tau00=0.0, n_groups=10, group_size=5, seed=s)["singular"] for s in range(20)]
    assert any(singular) and not all(singular)


def test_draw_shows_the_numbers_and_the_data():
    params = dict(tau00=2.0, sigma2=3.0, n_groups=15, group_size=20)
    out = ie.compute(**params, seed=4)
    fig = ie.draw(**params, seed=4)
    ax, ax_ci = fig.axes
    title = ax.get_title(loc="left")
    assert f"true ICC {out['true_icc']:.2f}" in title
    assert f"REML estimate {out['icc']:.2f}" in title
    assert f"design effect {out['design_effect']:.2f}" in title
    assert f"naive {out['se_naive']:.3f}" in title and f"mixed model {out['se_mixed']:.3f}" in title
    assert len(ax.collections[0].get_offsets()) == 15 * 20  # one dot per unit
    assert len(ax.collections[1].get_segments()) == 15  # one bar per group mean
    assert ax.get_xlabel() == "15 groups of 20 units, sorted by group mean"
    assert ax.get_ylabel() == "outcome y (simulated units)"
    whiskers = [ln for ln in ax_ci.lines if len(ln.get_ydata()) == 2 and ln.get_marker() == "_"]
    for ln, se in zip(whiskers, (out["se_naive"], out["se_mixed"]), strict=True):
        np.testing.assert_allclose(ln.get_ydata(), [out["mean"] - 1.959964 * se, out["mean"] + 1.959964 * se],
                                   rtol=1e-6)
    plt.close(fig)


def test_draw_on_given_axes_and_singular_note():
    fig, ax = plt.subplots()
    ie.draw(tau00=0.0, sigma2=1.0, n_groups=5, group_size=5, seed=0, ax=ax)
    assert len(fig.axes) == 1
    out = ie.compute(tau00=0.0, sigma2=1.0, n_groups=5, group_size=5, seed=0)
    assert ("singular fit" in ax.get_title(loc="left")) == out["singular"]
    plt.close(fig)


def test_widget_updates_on_slider_moves_and_new_draws():
    box = ie.widget(seed=0)
    ex = box.explorer
    assert ex.image.value[:4] == b"\x89PNG"
    assert ex.numbers == ie.compute(seed=0)
    first = ex.image.value
    ex.sliders["tau00"].value = 3.0
    ex.sliders["group_size"].value = 30
    out = ie.compute(tau00=3.0, group_size=30, seed=0)
    assert ex.numbers == out
    assert ex.html.value == ie.describe(out, 20, 30)
    assert "True ICC 0.43" in ex.html.value and f"mixed model {out['se_mixed']:.3f}" in ex.html.value
    assert len(ex.figure.axes[0].collections[0].get_offsets()) == 20 * 30
    assert ex.image.value != first
    ex.button.click()
    assert ex.seed == 1
    assert ex.numbers == ie.compute(tau00=3.0, group_size=30, seed=1)


def test_widget_reports_a_singular_fit_in_words():
    ex = ie.widget(seed=0).explorer
    ex.sliders["tau00"].value = 0.0
    seeds = [s for s in range(40) if ie.compute(tau00=0.0, seed=s)["singular"]]
    assert seeds, "no singular fit in 40 draws with tau00 = 0"
    ex.seed = seeds[0] - 1
    ex.new_draw()
    assert ex.numbers["singular"] and "singular fit" in ex.html.value


@pytest.mark.parametrize("bad, match", [(dict(tau00=-1.0), "tau00"), (dict(sigma2=0.0), "sigma2"),
                                        (dict(n_groups=1), "n_groups"), (dict(group_size=2.5), "group_size"),
                                        (dict(n_groups=51), "n_groups")])
def test_bad_values_are_explained(bad, match):
    with pytest.raises(mh.MLMInputError, match=match):
        ie.compute(**bad)


def test_widget_fast_redraw_matches_a_full_render():
    from PIL import Image

    ex = ie.widget(seed=2).explorer
    ex.sliders["tau00"].value = 2.5
    ex.sliders["n_groups"].value = 35
    blitted = np.asarray(Image.open(io.BytesIO(ex.image.value)).convert("RGB")).astype(int)
    for artist in ex.live.dynamic:
        artist.set_animated(False)  # a full render of every artist, as the blitted image should look
    buf = io.BytesIO()
    ex.figure.savefig(buf, format="png")
    full = np.asarray(Image.open(buf).convert("RGB")).astype(int)
    assert blitted.shape == full.shape
    assert np.abs(blitted - full).mean() < 0.05
