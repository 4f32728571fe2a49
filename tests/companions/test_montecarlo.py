"""Tests of mlm_helpers.montecarlo: the batched fits, the variance SEs, seeds and the summaries."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers import montecarlo as mc
from mlm_helpers.errors import MLMInputError
from mlm_helpers.model.deviance import profiled_deviance
from mlm_helpers.model.engines.fast import fit_fast


def _batch(J, m, n, seed=0, **truth):
    tr = {**mc.DEFAULT_TRUTH, **truth}
    d = mc.make_design(J, m, seed=seed)
    rng = np.random.default_rng(seed + 1)
    return mc.make_batch(d, np.stack([mc.simulate_y(d, tr, rng) for _ in range(n)]))


def test_batched_deviance_equals_engine_fast():
    b = _batch(12, 4, 5)
    rng = np.random.default_rng(3)
    th = np.column_stack([rng.uniform(0.05, 1.5, 5), rng.normal(0, 0.5, 5), rng.uniform(0.05, 1.5, 5)])
    for reml in (True, False):
        ours = mc.profiled_deviance_batch(th[:, None, :], b, reml)[:, 0]
        ref = [profiled_deviance(th[r], b.rep(r), reml) for r in range(5)]
        np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_criterion_in_variances_is_the_profiled_deviance_at_sigma2_hat():
    b = _batch(15, 5, 1)
    ff = fit_fast(b.rep(0))
    T = ff.sigma2 * ff.lam @ ff.lam.T
    v = np.array([[[T[0, 0], T[1, 0], T[1, 1], ff.sigma2]]])
    assert mc.criterion_variances_batch(v, b)[0, 0] == pytest.approx(ff.deviance, rel=1e-10)


@pytest.mark.parametrize("J,m", [(10, 5), (40, 10)])
def test_batched_fits_equal_fit_fast(J, m):
    """Newton (interior) and the fit_fast fallback (boundary) give fit_fast's answers.

    fit_fast is started at the true value, as run_design does: from lme4's default start
    (identity factor) it stops at a worse, falsely singular optimum on some of these data sets
    (see test_newton_never_worse_than_fit_fast_default_start).
    """
    res = mc.run_design(J, m, n_reps=40, seed=11)
    design_seq, rep_seqs = mc._cell_seeds(np.random.SeedSequence(11), 40)
    d = mc.make_design(J, m, design_seq)
    Y = np.stack([mc.simulate_y(d, mc.DEFAULT_TRUTH, np.random.default_rng(s)) for s in rep_seqs])
    b = mc.make_batch(d, Y)
    for r in range(40):
        ff = fit_fast(b.rep(r), theta0=np.array([0.5, 0.0, 0.5]))
        T = ff.sigma2 * ff.lam @ ff.lam.T
        np.testing.assert_allclose(res.loc[r, [f"est_{k}" for k in mc.FIXED]].to_numpy(float), ff.beta, atol=2e-5)
        np.testing.assert_allclose(res.loc[r, [f"est_{k}" for k in mc.VARIANCES]].to_numpy(float),
                                   [T[0, 0], T[1, 0], T[1, 1], ff.sigma2], atol=2e-5)
    if J == 10:
        assert res["singular"].any() and (~res["newton"]).any()


def test_newton_never_worse_than_fit_fast_default_start():
    design_seq, rep_seqs = mc._cell_seeds(np.random.SeedSequence(13), 40)
    d = mc.make_design(40, 10, design_seq)
    b = mc.make_batch(d, np.stack([mc.simulate_y(d, mc.DEFAULT_TRUTH, np.random.default_rng(s)) for s in rep_seqs]))
    theta, ok = mc.newton_fit(b, np.array([0.5, 0.0, 0.5]))
    ours = mc.profiled_deviance_batch(theta[:, None, :], b)[:, 0]
    default = np.array([fit_fast(b.rep(r)).deviance for r in range(40)])
    assert ok.all()
    assert np.all(ours <= default + 1e-6)
    # Replication 18 once stopped fit_fast at a false boundary (intercept SD 0, 17 deviance units
    # worse); its restarts from inside the boundary now reach the same optimum as the Newton path.
    assert default[18] == pytest.approx(ours[18], abs=1e-6)


def test_variance_se_matches_a_dense_computation():
    """Observed-information SEs against the REML log-likelihood built from the n x n matrix V."""
    df = mc.simulate_dataset(15, 6, rep=0, seed=4)
    res = mc.run_design(15, 6, n_reps=1, seed=4).iloc[0]
    assert not res["singular"]
    X = np.column_stack([np.ones(len(df)), df.x, df.w, df.x * df.w])
    Z1 = (df.g.to_numpy()[:, None] == np.unique(df.g)[None, :]).astype(float)
    y = df.y.to_numpy()

    def reml_ll(v):
        t00, t01, t11, s2 = v
        Zx = Z1 * df.x.to_numpy()[:, None]
        V = s2 * np.eye(len(y)) + t00 * Z1 @ Z1.T + t01 * (Z1 @ Zx.T + Zx @ Z1.T) + t11 * Zx @ Zx.T
        Vi = np.linalg.inv(V)
        XVX = X.T @ Vi @ X
        beta = np.linalg.solve(XVX, X.T @ Vi @ y)
        r = y - X @ beta
        return -0.5 * (np.linalg.slogdet(V)[1] + np.linalg.slogdet(XVX)[1] + r @ Vi @ r)

    v = np.array([res[f"est_{k}"] for k in mc.VARIANCES])
    h = 1e-4 * np.array([v[0], np.sqrt(v[0] * v[2]), v[2], v[3]])
    H = np.empty((4, 4))
    E = np.eye(4)
    for a in range(4):
        for c in range(4):
            H[a, c] = (reml_ll(v + h[a] * E[a] + h[c] * E[c]) - reml_ll(v + h[a] * E[a] - h[c] * E[c])
                       - reml_ll(v - h[a] * E[a] + h[c] * E[c]) + reml_ll(v - h[a] * E[a] - h[c] * E[c])) / (
                4 * h[a] * h[c])
    se_dense = np.sqrt(np.diag(np.linalg.inv(-H)))
    np.testing.assert_allclose([res[f"se_{k}"] for k in mc.VARIANCES], se_dense, rtol=1e-3)


def test_run_design_row_equals_mh_fit_on_simulate_dataset():
    res = mc.run_design(25, 8, n_reps=3, seed=9)
    df = mc.simulate_dataset(25, 8, rep=2, seed=9)
    fit = mh.fit("y ~ x * w + (1 + x | g)", df)
    np.testing.assert_allclose(res.loc[2, [f"est_{k}" for k in mc.FIXED]].to_numpy(float),
                               fit.fixed["estimate"].to_numpy(), atol=1e-5)
    np.testing.assert_allclose(res.loc[2, [f"se_{k}" for k in mc.FIXED]].to_numpy(float),
                               fit.fixed["se"].to_numpy(), rtol=1e-4)
    assert res.loc[2, "est_sigma2"] == pytest.approx(fit.sigma2, rel=1e-4)


def test_results_identical_for_any_n_jobs_and_chunk():
    cells = [(10, 5), (20, 6)]
    one = mc.run_study(cells, 24, seed=5, n_jobs=1, chunk=24)
    two = mc.run_study(cells, 24, seed=5, n_jobs=2, chunk=7)
    pd.testing.assert_frame_equal(one, two)
    # cell k of the study is run_design with the k-th spawned seed
    k_seed = np.random.SeedSequence(5).spawn(2)[1]
    alone = mc.run_design(20, 6, n_reps=24, seed=k_seed)
    pd.testing.assert_frame_equal(two[two.n_groups == 20].reset_index(drop=True), alone)


def test_coverage_of_a_fixed_effect_near_95_percent():
    """An easy cell (50 groups of 10): Wald coverage within 3 binomial SEs of 0.95."""
    tab = mc.summarise(mc.run_design(50, 10, n_reps=400, seed=21))
    cov = tab.loc[(50, 10, "gamma10"), "coverage"]
    assert abs(cov - 0.95) < 3 * np.sqrt(0.95 * 0.05 / 400)
    assert tab.loc[(50, 10, "gamma10"), "coverage_mcse"] == pytest.approx(np.sqrt(cov * (1 - cov) / 400))


def test_small_bias_with_many_groups():
    tab = mc.summarise(mc.run_design(100, 10, n_reps=200, seed=22))
    for name in mc.FIXED:
        row = tab.loc[(100, 10, name)]
        assert abs(row["bias"]) < 3 * row["emp_sd"] / np.sqrt(200)
    for name in ("tau00", "tau11", "sigma2"):
        assert abs(tab.loc[(100, 10, name), "rel_bias"]) < 0.05
    assert tab.loc[(100, 10, "gamma11"), "reject"] > 0.8  # power of the cross-level interaction


def test_singular_fits_count_as_misses_for_variances():
    res = mc.run_design(10, 5, n_reps=60, seed=3)
    tab = mc.summarise(res)
    sing = res["singular"]
    assert sing.sum() == tab.loc[(10, 5, "tau00"), "n_singular"] > 0
    assert res.loc[sing, "se_tau00"].isna().all()
    ok = ~sing & res["se_tau00"].notna()
    covered = (res.est_tau00 - 1.959964 * res.se_tau00 <= 0.125) & (0.125 <= res.est_tau00 + 1.959964 * res.se_tau00)
    assert tab.loc[(10, 5, "tau00"), "coverage"] == pytest.approx((covered & ok).sum() / 60)


def test_power_is_the_rejection_rate_of_the_interaction():
    res = mc.run_design(20, 5, n_reps=50, seed=1)
    tab = mc.summarise(res)
    z = res.est_gamma11 / res.se_gamma11
    assert tab.loc[(20, 5, "gamma11"), "reject"] == pytest.approx((z.abs() > 1.959964).mean())
    assert np.isnan(tab.loc[(20, 5, "tau00"), "reject"])


@pytest.mark.parametrize("kwargs, match", [
    ({"n_groups": 2}, "n_groups"),
    ({"group_size": 1}, "group_size"),
    ({"n_reps": 0}, "n_reps"),
    ({"tau11": -1.0}, "tau11"),
    ({"tau01": 1.0}, "tau01"),
    ({"gamma22": 1.0}, "Unknown"),
])
def test_bad_input(kwargs, match):
    args = {"n_groups": 10, "group_size": 5, "n_reps": 2, "seed": 1, **kwargs}
    with pytest.raises(mh.MLMInputError, match=match):
        mc.run_design(**args)


def test_summarise_rejects_other_frames():
    with pytest.raises(mh.MLMInputError, match="run_design"):
        mc.summarise(pd.DataFrame({"a": [1]}))


def test_no_warnings_in_a_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mc.run_design(10, 5, n_reps=30, seed=2)


def test_ddf_coverage_is_seeded_and_independent_of_jobs():
    a = mc.ddf_coverage((6, 10), n_reps=30, seed=4, n_jobs=1, chunk=10)
    b = mc.ddf_coverage((6, 10), n_reps=30, seed=4, n_jobs=2, chunk=15)
    assert a.equals(b)
    assert list(a.columns) == ["covered", "n_reps", "coverage", "mc_se", "median_df", "singular"]
    assert (a["n_reps"] == 30).all()
    assert np.isinf(a.loc[(6, "normal"), "median_df"])
    # Satterthwaite's df for the level-2 effect are near J - 2 (more where fits are singular)
    assert 2 < a.loc[(10, "satterthwaite"), "median_df"] < 12


def test_ddf_coverage_orders_the_methods_with_few_groups():
    """Seeded, 300 replications with 6 groups: z undercovers, Kenward-Roger covers most."""
    tab = mc.ddf_coverage((6,), n_reps=300, seed=2013, n_jobs=1)
    cov = tab.xs(6)["coverage"]
    assert cov["normal"] < cov["satterthwaite"] <= cov["kenward-roger"]
    assert cov["normal"] < 0.93 and abs(cov["satterthwaite"] - 0.95) < 0.04


def test_ddf_coverage_errors():
    with pytest.raises(MLMInputError, match="n_groups"):
        mc.ddf_coverage(10)
    with pytest.raises(MLMInputError, match="n_groups must be a whole number of at least 4"):
        mc.ddf_coverage((3,))
    with pytest.raises(MLMInputError, match="level must be 0.95"):
        mc.ddf_coverage((6,), level=0.9)
