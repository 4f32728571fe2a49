"""ICC from a fit (with intervals) and by ANOVA; the design effect."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh


def test_anova_balanced_matches_textbook_formula():
    d = mh.load_dataset("dyestuff")
    r = mh.icc_anova(d, "Yield", "Batch")
    g = d.groupby("Batch")["Yield"]
    msb = 5 * g.mean().var(ddof=1)
    msw = g.var(ddof=1).mean()
    assert r.msb == pytest.approx(msb) and r.msw == pytest.approx(msw)
    assert r.n0 == 5
    assert r.tau00 == pytest.approx((msb - msw) / 5)


def test_anova_balanced_equals_reml_when_positive():
    """For balanced data with MSB > MSW, REML and ANOVA estimates coincide."""
    d = mh.load_dataset("dyestuff")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mh.fit("Yield ~ 1 + (1 | Batch)", d)
    assert mh.icc_anova(d, "Yield", "Batch").icc == pytest.approx(res.icc, rel=1e-5)


def test_anova_unbalanced_n0():
    df = pd.DataFrame({"g": ["a"] * 2 + ["b"] * 3 + ["c"] * 7, "y": np.arange(12.0) ** 1.5})
    r = mh.icc_anova(df, "y", "g")
    N = 12
    assert r.n0 == pytest.approx((N - (4 + 9 + 49) / N) / 2)


def test_anova_can_be_negative():
    df = pd.DataFrame({"g": list("aabbcc"), "y": [0.0, 10.0, 0.0, 10.0, 0.0, 10.0]})
    assert mh.icc_anova(df, "y", "g").icc < 0


def test_anova_errors():
    df = pd.DataFrame({"g": ["a", "b"], "y": [1.0, 2.0]})
    with pytest.raises(mh.MLMInputError, match="one observation"):
        mh.icc_anova(df, "y", "g")
    with pytest.raises(mh.MLMInputError, match="not in the data"):
        mh.icc_anova(df, "yy", "g")


def test_profile_interval_brackets_estimate_and_has_right_deviance():
    from scipy import stats

    from mlm_helpers.model.deviance import profiled_deviance, sufficient_stats
    from mlm_helpers.model.frame import build_model

    hsb = mh.load_dataset("hsb")
    res = mh.fit("MathAch ~ 1 + (1 | School)", hsb)
    ci = mh.icc(res)
    assert ci.ci_lower < res.icc < ci.ci_upper
    ss = sufficient_stats(build_model("MathAch ~ 1 + (1 | School)", hsb))
    d_hat = -2 * res.loglik
    for icc_val in (ci.ci_lower, ci.ci_upper):
        theta = np.sqrt(icc_val / (1 - icc_val))
        assert profiled_deviance([theta], ss) - d_hat == pytest.approx(stats.chi2.ppf(0.95, 1), abs=1e-6)


def test_profile_interval_reaches_zero_for_singular_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff2"))
    ci = mh.icc(res)
    assert ci.estimate == 0 and ci.ci_lower == 0 and ci.ci_upper > 0


def test_bootstrap_interval_close_to_profile():
    hsb = mh.load_dataset("hsb")
    res = mh.fit("MathAch ~ 1 + (1 | School)", hsb)
    prof = mh.icc(res)
    boot = mh.icc(res, method="bootstrap", n_boot=200, seed=1)
    width = prof.ci_upper - prof.ci_lower
    assert abs(boot.ci_lower - prof.ci_lower) < 0.25 * width
    assert abs(boot.ci_upper - prof.ci_upper) < 0.25 * width


def test_profile_coverage_by_simulation():
    """About 95% of profile intervals cover the true ICC (200 simulated data sets, 3 SE tolerance)."""
    n, true_icc = 200, 0.2
    hits = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(n):
            df = mh.simulate_two_level(30, 10, tau00=0.25, sigma2=1.0, seed=k)
            ci = mh.icc(mh.fit("y ~ 1 + (1 | group)", df))
            hits += ci.ci_lower <= true_icc <= ci.ci_upper
    assert abs(hits / n - 0.95) < 3 * np.sqrt(0.95 * 0.05 / n)


def test_icc_needs_random_intercept_model():
    res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    with pytest.raises(mh.MLMInputError, match="random-intercept model"):
        mh.icc(res)


def test_design_effect():
    assert mh.design_effect(0.0, 30) == 1.0
    assert mh.design_effect(0.1, 11) == pytest.approx(2.0)
    with pytest.raises(mh.MLMInputError):
        mh.design_effect(0.1, 0)
