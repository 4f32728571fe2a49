"""Tests of the shrinkage explorer: slider values in, numbers and figure out."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import mlm_helpers as mh
from mlm_helpers import shrinkage_explorer as se
from mlm_helpers.model.frame import build_model


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_params_are_modest_grids():
    for name, (lo, hi, step, default) in se.PARAMS.items():
        n_values = round((hi - lo) / step) + 1
        assert 5 <= n_values <= 12, name
        assert lo <= default <= hi
        assert abs((default - lo) / step - round((default - lo) / step)) < 1e-9, name


def test_compute_is_deterministic_and_seed_matters():
    a = se.compute(10, 0.15, seed=3)
    b = se.compute(10, 0.15, seed=3)
    c = se.compute(10, 0.15, seed=4)
    np.testing.assert_array_equal(a["raw_means"], b["raw_means"])
    assert not np.allclose(a["raw_means"], c["raw_means"])


def test_lambda_formula_and_shrinkage_identity():
    out = se.compute(20, 0.25, seed=2)
    n = out["sizes"]
    np.testing.assert_allclose(out["lambda_true"], 25.0 / (25.0 + 100.0 / n))
    assert out["n_half"] == pytest.approx(4.0)
    lam = out["lambda_hat"]
    np.testing.assert_allclose(out["shrunk"], out["gamma00_hat"] + lam * (out["raw_means"] - out["gamma00_hat"]),
                               rtol=1e-8)
    assert np.all(np.diff(lam[np.argsort(n)]) >= -1e-12)  # bigger groups, less shrinkage


def test_compute_matches_mh_fit():
    out = se.compute(10, 0.3, seed=5)
    import pandas as pd

    rng = np.random.default_rng(5)  # rebuild the same data as compute does
    sizes = se.group_sizes(10)
    true = se.GRAND_MEAN + rng.normal(0, np.sqrt(30.0), se.N_GROUPS)
    codes = np.repeat(np.arange(se.N_GROUPS), sizes)
    y = true[codes] + rng.normal(0, 10.0, codes.size)
    df = pd.DataFrame({"y": y, "g": [f"g{c:02d}" for c in codes]})
    res = mh.fit("y ~ 1 + (1 | g)", df)
    assert out["tau00_hat"] == pytest.approx(res.varcorr["vcov"].iloc[0], rel=1e-5)
    assert out["sigma2_hat"] == pytest.approx(res.sigma2, rel=1e-6)
    np.testing.assert_allclose(out["shrunk"], res.fixed.loc["Intercept", "estimate"] + res.ranef["Intercept"], rtol=1e-6)
    assert build_model("y ~ 1 + (1 | g)", df).nobs == sizes.sum()


def test_shrinkage_beats_raw_means_on_average():
    wins = [se.compute(10, 0.15, seed=s) for s in range(20)]
    mse_raw = np.mean([w["mse_raw"] for w in wins])
    mse_shr = np.mean([w["mse_shrunk"] for w in wins])
    assert mse_shr < 0.8 * mse_raw


def test_draw_shows_the_numbers():
    fig = se.draw(15, 0.2, seed=1)
    out = se.compute(15, 0.2, seed=1)
    a1, a2 = fig.axes
    assert f"raw means {out['mse_raw']:.1f}" in a1.get_title()
    assert "0.20" in a2.get_title() and f"n = {out['n_half']:.1f}" in a2.get_title()
    assert len(a1.get_yticklabels()) == se.N_GROUPS
    assert a1.get_yticklabels()[0].get_text() == f"n = {out['sizes'].min()}"
    np.testing.assert_allclose(a2.collections[0].get_offsets()[:, 1], out["lambda_hat"])
    # the arrows start at the raw means and end at the model estimates
    q = a1.collections[0]
    order = np.argsort(out["sizes"], kind="stable")
    np.testing.assert_allclose(q.get_offsets()[:, 0], out["raw_means"][order])
    np.testing.assert_allclose(q.U, (out["shrunk"] - out["raw_means"])[order])


def test_view_update_equals_fresh_draw():
    fig, view = se._draw(10, 0.15, 4, None)
    view.update(se.compute(40, 0.45, seed=4))
    fresh = se.draw(40, 0.45, seed=4)
    assert fig.axes[1].get_title() == fresh.axes[1].get_title()
    np.testing.assert_allclose(fig.axes[0].collections[2].get_offsets(), fresh.axes[0].collections[2].get_offsets())


def test_draw_into_given_axes_and_bad_input():
    fig, axes = plt.subplots(1, 2)
    assert se.draw(ax=axes) is fig
    with pytest.raises(mh.MLMInputError, match="pair"):
        se.draw(ax=axes[0])
    with pytest.raises(mh.MLMInputError, match="ratio"):
        se.compute(10, -0.1)
    with pytest.raises(mh.MLMInputError, match="group_size"):
        se.compute(2.5, 0.1)


def test_singular_fit_is_flagged():
    flags = [se.compute(5, 0.05, seed=s)["singular"] for s in range(30)]
    assert any(flags)
    out = se.compute(5, 0.05, seed=flags.index(True))
    np.testing.assert_allclose(out["shrunk"], out["gamma00_hat"])
    assert "singular" in se.draw(5, 0.05, seed=flags.index(True)).axes[1].get_title()


def test_widget_moves_refit_and_redraw():
    pytest.importorskip("ipywidgets")
    ex = se.widget(seed=3).explorer
    assert ex.numbers["seed"] == 3
    first = ex.image.value
    assert first[:4] == b"\x89PNG"
    moves = dict(group_size=25, ratio=0.3)
    for name, value in moves.items():
        ex.sliders[name].value = value
    out = se.compute(**moves, seed=3)
    np.testing.assert_array_equal(ex.numbers["raw_means"], out["raw_means"])
    a1 = ex.figure.axes[0]
    order = np.argsort(out["sizes"], kind="stable")  # rows sorted by group size
    np.testing.assert_allclose(a1.collections[2].get_offsets()[:, 0], out["shrunk"][order])
    assert [t.get_text() for t in a1.get_yticklabels()][-1] == f"n = {out['sizes'].max()}"
    assert ex.html.value == se.describe(out)
    assert ex.image.value != first
    ex.button.click()
    assert ex.seed == 4 and ex.numbers["seed"] == 4
