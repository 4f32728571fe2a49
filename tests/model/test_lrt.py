"""Likelihood-ratio tests: refits, degrees of freedom, mixture weights, and the size of the test."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

import mlm_helpers as mh
from mlm_helpers.model.deviance import sufficient_stats_arrays
from mlm_helpers.model.engines.fast import fit_fast
from mlm_helpers.model.frame import build_model


def _fit(formula, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mh.fit(formula, data, **kw)


def test_chibar_pvalue_known_values():
    # 0.5 chi2(0) + 0.5 chi2(1): the 5% critical value is chi2(1)'s 10% point, 2.706
    assert mh.chibar_pvalue(stats.chi2.ppf(0.90, 1), {0: 0.5, 1: 0.5}) == pytest.approx(0.05)
    assert mh.chibar_pvalue(0.0, {0: 0.5, 1: 0.5}) == pytest.approx(1.0)
    p = mh.chibar_pvalue(5.0, {1: 0.5, 2: 0.5})
    assert p == pytest.approx(0.5 * stats.chi2.sf(5, 1) + 0.5 * stats.chi2.sf(5, 2))


def test_fixed_effects_differ_refits_by_ml():
    d = mh.load_dataset("sleepstudy")
    t = mh.lrt(_fit("Reaction ~ 1 + (1 | Subject)", d), _fit("Reaction ~ Days + (1 | Subject)", d))
    assert t.criterion == "ML" and t.refitted and "ML" in t.note
    assert t.df == 1 and t.p_mixture is None


def test_random_part_differs_uses_reml_and_mixture():
    d = mh.load_dataset("sleepstudy")
    t = mh.lrt(_fit("Reaction ~ Days + (1 | Subject)", d), _fit("Reaction ~ Days + (Days | Subject)", d))
    assert t.criterion == "REML" and not t.refitted
    assert t.mixture == "0.5 chi2(1) + 0.5 chi2(2)"
    assert t.p_mixture < t.p_naive


def test_uncorrelated_slope_is_one_variance():
    d = mh.load_dataset("sleepstudy")
    t = mh.lrt(_fit("Reaction ~ Days + (1 | Subject)", d), _fit("Reaction ~ Days + (Days || Subject)", d))
    assert t.df == 1 and t.mixture == "0.5 chi2(0) + 0.5 chi2(1)"


def test_random_intercept_against_no_random_effect():
    d = mh.load_dataset("dyestuff")
    t = mh.lrt(_fit("Yield ~ 1", d), _fit("Yield ~ 1 + (1 | Batch)", d))
    assert t.df == 1 and t.mixture == "0.5 chi2(0) + 0.5 chi2(1)"
    assert t.p_mixture == pytest.approx(t.p_naive / 2)


def test_nested_extra_level_is_one_variance():
    p = mh.load_dataset("pastes")
    t = mh.lrt(_fit("strength ~ 1 + (1 | sample)", p), _fit("strength ~ 1 + (1 | batch/cask)", p))
    # 'sample' and 'batch:cask' name the same casks: the test adds one variance (batch).
    assert t.df == 1 and t.mixture == "0.5 chi2(0) + 0.5 chi2(1)"


def test_mixed_reml_ml_fits_are_refitted_by_reml():
    d = mh.load_dataset("sleepstudy")
    t = mh.lrt(_fit("Reaction ~ Days + (1 | Subject)", d, reml=False), _fit("Reaction ~ Days + (Days | Subject)", d))
    assert t.criterion == "REML" and t.refitted


def test_swapped_models_error():
    d = mh.load_dataset("sleepstudy")
    with pytest.raises(mh.MLMInputError, match="(?i)pass the smaller model first"):
        mh.lrt(_fit("Reaction ~ Days + (Days | Subject)", d), _fit("Reaction ~ Days + (1 | Subject)", d))


def test_different_rows_error():
    d = mh.load_dataset("sleepstudy")
    with pytest.raises(mh.MLMInputError, match="different rows"):
        mh.lrt(_fit("Reaction ~ Days + (1 | Subject)", d.iloc[:170]), _fit("Reaction ~ Days + (Days | Subject)", d))


def test_not_nested_fixed_effects_error():
    h = mh.load_dataset("hsb")
    with pytest.raises(mh.MLMInputError, match="not nested"):
        mh.lrt(_fit("MathAch ~ SES + (1 | School)", h), _fit("MathAch ~ MEANSES + Sex + (1 | School)", h))


def test_boundary_corrected_lrt_holds_its_size():
    """Under tau00 = 0, the 50:50 mixture rejects about 5% at alpha 0.05; the naive chi2(1) about 2.5%.

    2,000 replications of 20 groups x 5 (REML, random intercept against none). With 2,000 draws the
    standard error of a rejection rate near 0.05 is sqrt(0.05 * 0.95 / 2000) = 0.0049, so the
    mixture's rate must lie within 3 SE of 0.05 and the naive one within 3 SE of 0.025.
    """
    n_reps, J, m = 2000, 20, 5
    rng = np.random.default_rng(20261126)
    template = mh.simulate_two_level(J, m, seed=0)
    model = build_model("y ~ 1 + (1 | group)", template)
    b = model.blocks[0]
    X = model.X
    stat = np.empty(n_reps)
    for k in range(n_reps):
        y = rng.standard_normal(J * m)
        full = fit_fast(sufficient_stats_arrays(y, X, b.Z, b.codes, J, b.pattern), reml=True)
        null = fit_fast(sufficient_stats_arrays(y, X, np.zeros((J * m, 0)), np.zeros(J * m, dtype=np.intp), 1,
                                                np.zeros((0, 0), bool)), reml=True)
        stat[k] = max(null.deviance - full.deviance, 0.0)
    p_mix = np.array([mh.chibar_pvalue(s, {0: 0.5, 1: 0.5}) for s in stat])
    p_naive = stats.chi2.sf(stat, 1)
    rate_mix, rate_naive = np.mean(p_mix < 0.05), np.mean(p_naive < 0.05)
    se5, se25 = np.sqrt(0.05 * 0.95 / n_reps), np.sqrt(0.025 * 0.975 / n_reps)
    assert abs(rate_mix - 0.05) < 3 * se5, rate_mix
    assert abs(rate_naive - 0.025) < 3 * se25, rate_naive
    # About half the statistics are exactly 0 (the variance estimate on the boundary).
    assert abs(np.mean(stat == 0) - 0.5) < 0.1


def test_lrt_same_answer_through_mh_fit():
    """The low-level loop above and mh.fit/mh.lrt give the same statistic."""
    df = mh.simulate_two_level(20, 5, tau00=0.0, seed=3)
    t = mh.lrt(_fit("y ~ 1", df), _fit("y ~ 1 + (1 | group)", df))
    model = build_model("y ~ 1 + (1 | group)", df)
    b = model.blocks[0]
    full = fit_fast(sufficient_stats_arrays(model.y, model.X, b.Z, b.codes, 20, b.pattern))
    null = fit_fast(sufficient_stats_arrays(model.y, model.X, np.zeros((100, 0)), np.zeros(100, dtype=np.intp), 1,
                                            np.zeros((0, 0), bool)))
    assert t.statistic == pytest.approx(max(null.deviance - full.deviance, 0.0), abs=1e-8)


def test_adding_only_a_covariance_is_not_a_boundary_test():
    d = mh.load_dataset("sleepstudy")
    t = mh.lrt(_fit("Reaction ~ Days + (Days || Subject)", d), _fit("Reaction ~ Days + (Days | Subject)", d))
    assert t.df == 1 and t.p_mixture is None
    assert "no boundary correction is needed" in t.note
