"""The fast engine and the statsmodels path agree on simulated data across a grid of settings,
and the fast engine's deviance is the one it claims to minimise."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mlm_helpers as mh
from mlm_helpers.model.deviance import deviance_many, profiled_deviance, sufficient_stats
from mlm_helpers.model.engines.fast import fit_fast
from mlm_helpers.model.frame import build_model

GRID = [
    # (label, n_groups, group_size, kwargs, formula)
    ("balanced RI", 30, 10, dict(tau00=2.0, sigma2=4.0, beta1=1.0), "y ~ x + (1 | group)"),
    ("unbalanced RI", 25, [2, 3, 5, 8, 13] * 5, dict(tau00=1.0, sigma2=2.0, beta1=0.5), "y ~ x + (1 | group)"),
    ("near-zero variance", 20, 6, dict(tau00=0.001, sigma2=1.0), "y ~ x + (1 | group)"),
    ("large variance", 15, 4, dict(tau00=400.0, sigma2=1.0, beta0=50), "y ~ 1 + (1 | group)"),
    ("random slope", 40, 8, dict(tau00=1.0, tau11=0.5, tau01=0.2, sigma2=1.0, beta1=1.0), "y ~ x + (x | group)"),
    ("unbalanced slope", 30, [3, 6, 9] * 10, dict(tau00=2.0, tau11=1.0, tau01=-0.5, sigma2=2.0),
     "y ~ x + (x | group)"),
    ("uncorrelated slope", 30, 8, dict(tau00=1.0, tau11=0.5, sigma2=1.0, beta1=1.0), "y ~ x + (x || group)"),
    ("level-2 predictor", 40, 5, dict(tau00=1.0, sigma2=1.0, w_effect=1.0, beta1=0.3), "y ~ x + w + (1 | group)"),
]


def _quiet_fit(formula, df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mh.fit(formula, df, **kw)


@pytest.mark.parametrize("label, J, m, kwargs, formula", GRID, ids=[g[0] for g in GRID])
@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_fast_and_statsmodels_agree(label, J, m, kwargs, formula, reml):
    df = mh.simulate_two_level(J, m, seed=abs(hash(label)) % 1000, **kwargs)
    fast = _quiet_fit(formula, df, reml=reml, engine="fast")
    smp = _quiet_fit(formula, df, reml=reml, engine="statsmodels")
    # The fast engine's optimum is never worse than the statsmodels path's.
    assert fast.loglik >= smp.loglik - 1e-6
    assert fast.loglik == pytest.approx(smp.loglik, abs=1e-3)
    assert np.allclose(fast.fixed["estimate"], smp.fixed["estimate"], rtol=1e-3, atol=1e-3 * fast.fixed["se"].max())
    assert np.allclose(fast.fixed["se"], smp.fixed["se"], rtol=2e-3)
    scale = fast.varcorr["vcov"].abs().max()
    assert np.allclose(fast.varcorr["vcov"], smp.varcorr["vcov"], rtol=5e-3, atol=1e-3 * scale)


def test_deviance_at_optimum_is_a_minimum():
    df = mh.simulate_two_level(30, 8, tau00=1.0, tau11=0.4, tau01=0.1, beta1=1, seed=3)
    ss = sufficient_stats(build_model("y ~ x + (x | group)", df))
    ff = fit_fast(ss)
    rng = np.random.default_rng(0)
    for _ in range(50):
        step = ff.theta + rng.normal(scale=1e-2, size=ff.theta.shape)
        step[[0, 2]] = np.abs(step[[0, 2]])
        assert profiled_deviance(step, ss) >= ff.deviance - 1e-9


def test_deviance_many_equals_single_evaluations():
    df = mh.simulate_two_level(12, [2, 4, 6] * 4, tau00=1.0, tau11=0.4, seed=5)
    for formula, k in [("y ~ x + (1 | group)", 1), ("y ~ x + (x | group)", 3), ("y ~ x + (x || group)", 2)]:
        ss = sufficient_stats(build_model(formula, df))
        thetas = np.abs(np.random.default_rng(1).normal(size=(6, k)))
        batch = deviance_many(thetas, ss)
        single = [profiled_deviance(t, ss) for t in thetas]
        assert np.allclose(batch, single, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::mlm_helpers.FewGroupsWarning")
def test_deviance_matches_direct_likelihood():
    """The profiled ML deviance equals -2 log L computed from the marginal normal density."""
    from scipy import stats

    df = mh.simulate_two_level(6, [2, 3, 4, 2, 5, 3], tau00=1.5, sigma2=2.0, beta1=1.0, seed=8)
    model = build_model("y ~ x + (1 | group)", df, warn_few_groups=False)
    res = mh.fit("y ~ x + (1 | group)", df, reml=False)
    beta = res.fixed["estimate"].to_numpy()
    tau, s2 = res.varcorr["vcov"].iloc[0], res.sigma2
    Z = np.eye(6)[model.blocks[0].codes]
    V = s2 * np.eye(len(df)) + tau * Z @ Z.T
    ll = stats.multivariate_normal(model.X @ beta, V).logpdf(model.y)
    assert res.loglik == pytest.approx(ll, abs=1e-8)


def test_higher_dimensional_random_effects():
    """Three correlated random effects (quadratic growth) through the general code path."""
    df = mh.load_dataset("sleepstudy")
    res = _quiet_fit("Reaction ~ Days + I(Days**2) + (Days + I(Days**2) | Subject)", df)
    assert res.converged
    assert res.varcorr.shape[0] == 7  # 3 variances, 3 covariances, residual
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smp = mh.fit("Reaction ~ Days + I(Days**2) + (Days + I(Days**2) | Subject)", df, engine="statsmodels")
    assert res.loglik >= smp.loglik - 1e-6


def test_fit_time_does_not_grow_with_rows():
    """The deviance works on per-group sums: the same groups with 10x the rows give the same work."""
    small = mh.simulate_two_level(30, 5, tau00=1, seed=1)
    big = mh.simulate_two_level(30, 50, tau00=1, seed=1)
    ss_s = sufficient_stats(build_model("y ~ x + (1 | group)", small))
    ss_b = sufficient_stats(build_model("y ~ x + (1 | group)", big))
    assert ss_s.ZtZ.shape == ss_b.ZtZ.shape and ss_s.ZtX.shape == ss_b.ZtX.shape
