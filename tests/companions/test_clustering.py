"""Tests of mlm_helpers.clustering: batched fits agree with mh.fit; the simulations show known facts."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers import clustering as cl


def _frame(y: np.ndarray, X: np.ndarray) -> pd.DataFrame:
    J, m = y.shape
    return pd.DataFrame({"y": y.ravel(), "x": X[:, :, 1].ravel(), "w": X[:, :, 2].ravel(),
                         "g": np.repeat([f"g{k:02d}" for k in range(J)], m)})


@pytest.mark.parametrize("reml", [True, False])
def test_batched_fit_equals_mh_fit(reml):
    y, X = cl.simulate_balanced(0.2, 25, 8, 4, beta_x=0.5, gamma_w=-0.4, seed=11)
    fits = cl.fit_ri_balanced(y, X, reml=reml)
    for r in range(4):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mh.SingularFitWarning)  # the batched fit must agree there too
            res = mh.fit("y ~ x + w + (1 | g)", _frame(y[r], X[r]), reml=reml)
        np.testing.assert_allclose(fits.beta[r], res.fixed["estimate"], rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(fits.se[r], res.fixed["se"], rtol=1e-6)
        assert fits.tau00[r] == pytest.approx(res.varcorr["vcov"].iloc[0], rel=1e-5, abs=1e-8)
        assert fits.sigma2[r] == pytest.approx(res.sigma2, rel=1e-7)
        assert fits.deviance[r] == pytest.approx(-2 * res.loglik, abs=1e-6)


def test_batched_fit_finds_the_boundary_like_mh_fit():
    y, _ = cl.simulate_balanced(0.0, 10, 5, 40, seed=2)
    fits = cl.fit_ri_balanced(y)
    assert 0.2 < np.mean(fits.tau00 == 0) < 0.9  # many singular fits when the truth is tau00 = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mh.SingularFitWarning)
        for r in range(40):
            d = pd.DataFrame({"y": y[r].ravel(), "g": np.repeat(np.arange(10), 5).astype(str)})
            res = mh.fit("y ~ 1 + (1 | g)", d)
            assert fits.tau00[r] == pytest.approx(res.varcorr["vcov"].iloc[0], abs=1e-7)
            assert (fits.tau00[r] == 0) == res.is_singular


@pytest.mark.parametrize("J, m, tau00", [(2, 2, 0.0), (5, 2, 0.1), (20, 10, 0.2), (3, 40, 0.0), (50, 50, 3.0)])
def test_closed_form_reml_equals_the_search(J, m, tau00):
    """Intercept only, REML: the ANOVA closed form and the golden-section search find the same optimum."""
    rng = np.random.default_rng(J * 100 + m)
    y = np.sqrt(tau00) * rng.standard_normal((300, J, 1)) + rng.standard_normal((300, J, m))
    closed = cl.fit_ri_balanced(y)
    search = cl.fit_ri_balanced(y, np.ones((J, m, 1)))  # an explicit X takes the general route
    assert np.all(closed.deviance <= search.deviance + 1e-9)
    np.testing.assert_array_equal(closed.tau00 == 0, search.tau00 == 0)
    np.testing.assert_allclose(closed.icc, search.icc, atol=1e-6)
    np.testing.assert_allclose(closed.se, search.se, rtol=1e-6)


def test_batched_fit_recovers_known_parameters():
    y, X = cl.simulate_balanced(0.3, 40, 10, 300, beta_x=0.5, gamma_w=0.2, seed=5)
    fits = cl.fit_ri_balanced(y, X)
    assert fits.tau00.mean() == pytest.approx(0.3, abs=0.02)
    assert fits.sigma2.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(fits.beta.mean(axis=0), [0.0, 0.5, 0.2], atol=0.02)
    # The reported SEs match the actual spread of the estimates.
    np.testing.assert_allclose(fits.se.mean(axis=0) / fits.beta.std(axis=0), 1.0, atol=0.12)


def test_ols_fit_matches_numpy_lstsq():
    rng = np.random.default_rng(0)
    X = np.concatenate([np.ones((3, 50, 1)), rng.standard_normal((3, 50, 2))], axis=2)
    y = rng.standard_normal((3, 50))
    beta, se = cl.ols_fit(y, X)
    for r in range(3):
        b, rss, *_ = np.linalg.lstsq(X[r], y[r], rcond=None)
        np.testing.assert_allclose(beta[r], b)
        cov = rss[0] / 47 * np.linalg.inv(X[r].T @ X[r])
        np.testing.assert_allclose(se[r], np.sqrt(np.diag(cov)))


@pytest.fixture(scope="module")
def coverage() -> pd.DataFrame:
    return cl.ols_coverage([0.0, 0.4], n_groups=30, group_size=20, n_reps=800, seed=3)


def _get(tab: pd.DataFrame, icc: float, term: str, method: str, col: str) -> float:
    row = tab[(tab["icc"] == icc) & (tab["term"] == term) & (tab["method"] == method)]
    assert len(row) == 1
    return float(row[col].iloc[0])


def test_ols_is_fine_without_clustering(coverage):
    for term in ("Intercept", "x", "w"):
        for method in ("OLS", "mixed"):
            assert _get(coverage, 0.0, term, method, "coverage") == pytest.approx(0.95, abs=0.025)


def test_ols_undercovers_the_mean_and_level2_effects_under_clustering(coverage):
    deff = 1 + 19 * 0.4
    for term in ("Intercept", "w"):
        assert _get(coverage, 0.4, term, "OLS", "coverage") < 0.6
        # OLS standard errors are too small by about the square root of the design effect.
        assert _get(coverage, 0.4, term, "OLS", "se_ratio") == pytest.approx(deff**-0.5, rel=0.1)
        assert _get(coverage, 0.4, term, "mixed", "coverage") == pytest.approx(0.94, abs=0.03)
    # A predictor with no between-group part (x_icc = 0, the default) is not harmed.
    assert _get(coverage, 0.4, "x", "OLS", "se_ratio") == pytest.approx(1.0, abs=0.08)
    assert _get(coverage, 0.4, "x", "OLS", "coverage") > 0.9


def test_coverage_table_shape_and_columns(coverage):
    assert len(coverage) == 2 * 3 * 2
    expected = ["icc", "x_icc", "term", "method", "coverage", "mean_se", "sd_estimate", "se_ratio"]
    assert list(coverage.columns) == expected


def test_simulated_design_effect_follows_kish():
    tab = cl.simulated_design_effect([0.05, 0.2], n_groups=30, group_size=[5, 40], n_reps=3000, seed=4)
    np.testing.assert_allclose(tab["kish"], [1.2, 2.95, 1.8, 8.8])
    np.testing.assert_allclose(tab["simulated"], tab["kish"], rtol=0.08)
    assert (tab["ols_ratio"] >= tab["simulated"] * 0.99).all()


def test_icc_estimates_naive_shortcut_is_biased_and_reml_is_not():
    icc, m = 0.1, 5
    est = cl.icc_estimates(icc, n_groups=40, group_size=m, n_reps=1000, seed=6)
    assert list(est.columns) == ["reml", "anova", "naive", "singular"]
    assert est["reml"].mean() == pytest.approx(icc, abs=0.015)
    assert est["anova"].mean() == pytest.approx(icc, abs=0.015)
    # The variance of raw means estimates tau00 + sigma2 / m.
    t = icc + (1 - icc) / m
    assert est["naive"].mean() == pytest.approx(t / (t + 1 - icc), abs=0.02)
    # For balanced data REML equals the ANOVA estimate whenever that is positive.
    pos = est["anova"] > 0
    np.testing.assert_allclose(est.loc[pos, "reml"], est.loc[pos, "anova"], atol=1e-6)
    assert (est.loc[est["singular"], "reml"] == 0).all()


def test_same_seed_same_numbers():
    a = cl.ols_coverage(0.1, n_reps=50, seed=9)
    b = cl.ols_coverage(0.1, n_reps=50, seed=9)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("bad", [1.0, -0.1, "0.2", [], [0.1, 1.5], True])
def test_bad_icc_is_explained(bad):
    with pytest.raises(mh.MLMInputError, match="icc"):
        cl.ols_coverage(bad, n_reps=10)


def test_bad_sizes_are_explained():
    with pytest.raises(mh.MLMInputError, match="n_groups"):
        cl.simulated_design_effect(0.1, n_groups=1)
    with pytest.raises(mh.MLMInputError, match="group_size"):
        cl.icc_estimates(0.1, n_groups=10, group_size=2.5)
    with pytest.raises(mh.MLMInputError, match="shape"):
        cl.fit_ri_balanced(np.zeros(5))
    with pytest.raises(mh.MLMInputError, match="X must have shape"):
        cl.fit_ri_balanced(np.zeros((2, 3, 4)), np.zeros((2, 3, 5, 1)))
    with pytest.raises(mh.MLMInputError, match="level"):
        cl.ols_coverage(0.1, n_reps=10, level=95)


# ----------------------------------------------------------------------------- a predictor with a between-group part
def test_x_icc_zero_gives_the_old_draws_and_x_icc_splits_the_variance():
    y0, X0 = cl.simulate_balanced(0.2, 30, 20, 3, beta_x=0.3, seed=5)
    y1, X1 = cl.simulate_balanced(0.2, 30, 20, 3, beta_x=0.3, x_icc=0.0, seed=5)
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_array_equal(X0, X1)
    _, X = cl.simulate_balanced(0.0, 400, 25, 4, x_icc=0.4, seed=6)
    x = X[..., 1]
    within = x.var(axis=2, ddof=1).mean()
    between = x.mean(axis=2).var(axis=1, ddof=1).mean() - within / 25
    assert within == pytest.approx(0.6, abs=0.02)
    assert between == pytest.approx(0.4, abs=0.04)


def test_slope_design_effect_follows_scott_and_holt():
    tab = cl.slope_design_effect([0.0, 0.3, 0.6], [0.1, 0.3], n_groups=100, group_size=10, n_reps=3000, seed=3)
    assert np.allclose(tab["formula"], 1 + 9 * tab["x_icc"] * tab["icc"])
    # the simulated inflation follows the formula (large J; Monte Carlo SE of a variance ratio ~ 3%)
    np.testing.assert_allclose(tab["simulated"], tab["formula"], rtol=0.1)
    np.testing.assert_allclose(tab["coverage"], tab["coverage_formula"], atol=0.025)
    within = tab[tab["x_icc"] == 0]
    assert np.all(np.abs(within["coverage"] - 0.95) < 0.015)  # OLS honest for a purely within-group x
    worst = tab[(tab["x_icc"] == 0.6) & (tab["icc"] == 0.3)]["coverage"].iloc[0]
    assert worst < 0.85


def test_ols_coverage_passes_x_icc_and_the_mixed_model_stays_honest():
    tab = cl.ols_coverage([0.2], n_reps=800, x_icc=0.5, seed=4)
    x = tab[tab["term"] == "x"].set_index("method")
    assert set(tab["x_icc"]) == {0.5}
    assert x.loc["OLS", "coverage"] < 0.85 < 0.92 < x.loc["mixed", "coverage"]


def test_slope_se_comparison_by_hand():
    rng = np.random.default_rng(8)
    J, m = 12, 7
    g = np.repeat(np.arange(J), m)
    x = rng.standard_normal(J)[g] + rng.standard_normal(J * m)
    y = 1 + 0.5 * x + rng.standard_normal(J)[g] + rng.standard_normal(J * m)
    d = pd.DataFrame({"y": y, "x": x, "g": g.astype(str)})
    tab = cl.slope_se_comparison(d, "y", "x", "g")
    import statsmodels.formula.api as smf

    ols = smf.ols("y ~ x", d).fit()
    robust = smf.ols("y ~ x", d).fit(cov_type="cluster", cov_kwds={"groups": g})
    assert tab.loc["OLS", "se"] == pytest.approx(ols.bse["x"], rel=1e-10)
    assert tab.loc["cluster-robust", "se"] == pytest.approx(robust.bse["x"], rel=1e-10)  # statsmodels' CR1
    res = mh.fit("y ~ x + (1 | g)", d)
    assert tab.loc["random intercept", "se"] == pytest.approx(res.fixed.loc["x", "se"], rel=1e-10)
    assert tab.attrs["design_effect"] == pytest.approx(
        1 + (m - 1) * tab.attrs["icc_x"] * tab.attrs["icc_y"])
    assert tab.loc["OLS x sqrt(design effect)", "se"] == pytest.approx(
        ols.bse["x"] * np.sqrt(tab.attrs["design_effect"]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"outcome": "nope"}, "outcome='nope' is not a column"),
        ({"predictor": "g"}, "predictor column 'g' must be numeric"),
        ({"group": 3}, "group=3 is not a column"),
    ],
)
def test_slope_se_comparison_bad_input(kwargs, match):
    d = pd.DataFrame({"y": [1.0, 2, 3, 4], "x": [0.0, 1, 0, 1], "g": ["a", "a", "b", "b"]})
    args = {"outcome": "y", "predictor": "x", "group": "g"} | kwargs
    with pytest.raises(mh.MLMInputError, match=match):
        cl.slope_se_comparison(d, **args)


@pytest.mark.parametrize("bad", [-0.1, 1.0, "0.2", True])
def test_x_icc_bad_input(bad):
    with pytest.raises(mh.MLMInputError, match="x_icc must be a number"):
        cl.simulate_balanced(0.1, 5, 4, 2, x_icc=bad)
