"""Tests of mlm_helpers.diagnostics: numbers against direct computations, and the figures' contents."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

import mlm_helpers as mh  # noqa: E402
from mlm_helpers import diagnostics as dg  # noqa: E402


@pytest.fixture(scope="module")
def sleep():
    return mh.load_dataset("sleepstudy")


@pytest.fixture(scope="module")
def res(sleep):
    return mh.fit("Reaction ~ Days + (Days | Subject)", sleep)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_residual_table(res, sleep):
    tab = dg.residual_table(res)
    assert len(tab) == len(sleep)
    np.testing.assert_allclose(tab["observed"] - tab["fitted"], tab["residual"])
    np.testing.assert_allclose(tab["fitted"], res.predict(sleep))
    np.testing.assert_allclose(tab["std_residual"], tab["residual"] / np.sqrt(res.sigma2))
    # conditional residuals average zero within a model with an intercept
    assert abs(tab["residual"].mean()) < 1e-6


def test_residual_plot_running_mean(res):
    fig = dg.residual_plot(res, n_bins=6)
    ax = fig.axes[0]
    assert len(ax.lines[-1].get_ydata()) == 6
    assert "180 rows" in ax.get_title()
    with pytest.raises(mh.MLMInputError, match="n_bins"):
        dg.residual_plot(res, n_bins=1)


def test_qq_plot_points_and_title(res):
    fig = dg.qq_plot(res)
    ax = fig.axes[0]
    assert len(ax.collections[0].get_offsets()) == 180
    p = stats.shapiro(dg.residual_table(res)["residual"])[1]
    assert f"p = {p:.3f}" in ax.get_title()
    fig2 = dg.qq_plot(res, "ranef", term="Days", label_extremes=2)
    assert len(fig2.axes[0].texts) == 2
    y = np.sort(fig2.axes[0].collections[0].get_offsets()[:, 1])
    np.testing.assert_allclose(y, np.sort(res.ranef["Days"]))
    with pytest.raises(mh.MLMInputError, match="term"):
        dg.qq_plot(res, "ranef", term="nope")
    with pytest.raises(mh.MLMInputError, match="which"):
        dg.qq_plot(res, "level2")


def test_group_variance_and_test(res):
    gv = dg.group_variance(res)
    tab = dg.residual_table(res)
    assert gv.loc["308", "resid_sd"] == pytest.approx(tab[tab["group"] == "308"]["residual"].std())
    out = dg.variance_test(res)
    parts = [g["residual"].to_numpy() for _, g in tab.groupby("group")]
    assert out["statistic"] == pytest.approx(stats.levene(*parts, center="median")[0])
    assert out["sd_ratio"] == pytest.approx(gv["resid_sd"].max() / gv["resid_sd"].min())


def test_variance_test_detects_heteroscedasticity():
    df = mh.simulate_two_level(30, 20, beta0=0, beta1=1, tau00=1, sigma2=1, seed=3)
    sd = np.where(df["group"].astype(str).str[-1].isin(list("02468")), 3.0, 1.0)
    rng = np.random.default_rng(1)
    df["y2"] = df["y"] + rng.normal(0, 1, len(df)) * sd
    res_h = mh.fit("y2 ~ x + (1 | group)", df)
    assert dg.variance_test(res_h)["p"] < 1e-6
    res_ok = mh.fit("y ~ x + (1 | group)", df)
    assert dg.variance_test(res_ok)["p"] > 0.01


def test_group_sd_plot(res):
    fig = dg.group_sd_plot(res)
    ax = fig.axes[0]
    assert len(ax.collections[0].get_offsets()) == 18
    assert "Brown-Forsythe" in ax.get_title()
    assert ax.lines[0].get_ydata()[0] == pytest.approx(np.sqrt(res.sigma2))
    with pytest.raises(mh.MLMInputError, match="against"):
        dg.group_sd_plot(res, against="size")


def test_influence_matches_direct_refit(res, sleep):
    infl = dg.influence(res)
    assert list(infl.index) == list(res.ranef.index)
    for subject in ("308", "332"):
        sub = mh.fit("Reaction ~ Days + (Days | Subject)", sleep[sleep["Subject"].astype(str) != subject])
        d = (sub.fixed["estimate"] - res.fixed["estimate"]) / res.fixed["se"]
        assert infl.loc[subject, "dfbeta_Days"] == pytest.approx(d["Days"], abs=1e-3)
        assert infl.loc[subject, "rel_sigma2"] == pytest.approx(sub.sigma2 / res.sigma2 - 1, abs=1e-3)
        vc = sub.varcorr["vcov"].to_numpy() / res.varcorr["vcov"].to_numpy() - 1
        assert infl.loc[subject, "rel_var(Intercept)"] == pytest.approx(vc[0], abs=1e-3)
        assert infl.loc[subject, "rel_var(Days)"] == pytest.approx(vc[1], abs=1e-3)
    assert (infl["cooks_d"] >= 0).all()


def test_influence_random_intercept_finds_planted_outlier():
    df = mh.simulate_two_level(25, 15, beta0=0, beta1=1, tau00=1, sigma2=1, seed=5)
    bad = df["group"] == df["group"].iloc[0]
    df.loc[bad, "y"] += 3 * df.loc[bad, "x"]  # one group with a very different slope
    res = mh.fit("y ~ x + (1 | group)", df)
    infl = dg.influence(res)
    assert infl["dfbeta_x"].abs().idxmax() == str(df["group"].iloc[0])
    assert "rel_var(Intercept)" in infl.columns


def test_influence_plot(res):
    infl = dg.influence(res)
    fig = dg.influence_plot(infl, "dfbeta_Days", n_label=3)
    ax = fig.axes[0]
    assert len(ax.texts) == 3
    top = infl["dfbeta_Days"].abs().idxmax()
    assert top in {t.get_text() for t in ax.texts}
    with pytest.raises(mh.MLMInputError, match="column"):
        dg.influence_plot(infl, "nope")


def test_bad_input():
    with pytest.raises(mh.MLMInputError, match="mh.fit"):
        dg.residual_table("not a fit")
