"""The simulation helpers of chapters 05-06: the same deviance as the fast engine, and known properties."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers import simstudy
from mlm_helpers.model.deviance import profiled_deviance, sufficient_stats_arrays
from mlm_helpers.model.engines.fast import fit_fast


def _random_data(rng, balanced=False):
    J = int(rng.integers(3, 30))
    sizes = np.full(J, int(rng.integers(2, 10))) if balanced else rng.integers(1, 12, size=J)
    codes = np.repeat(np.arange(J), sizes)
    tau = float(rng.choice([0.0, 0.1, 1.0, 25.0]))
    y = 3.0 + rng.normal(scale=np.sqrt(tau), size=J)[codes] + rng.normal(size=len(codes))
    return sizes, codes, y


def _engine_stats(y, codes, J):
    n = len(y)
    return sufficient_stats_arrays(y, np.ones((n, 1)), np.ones((n, 1)), codes, J, np.ones((1, 1), bool))


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_ri_deviance_is_the_engine_deviance(reml):
    rng = np.random.default_rng(11)
    for _ in range(30):
        sizes, codes, y = _random_data(rng)
        ss = _engine_stats(y, codes, len(sizes))
        sums = np.bincount(codes, weights=y)[None, :]
        theta = rng.uniform(0, 4, size=6)
        mine = simstudy.ri_deviance(theta, sizes, sums, np.array([y @ y]), reml)[0]
        engine = [profiled_deviance([t], ss, reml) for t in theta]
        assert np.allclose(mine, engine, rtol=0, atol=1e-8)


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_fit_ri_many_matches_fit_fast(reml):
    rng = np.random.default_rng(12)
    for _ in range(40):
        sizes, codes, y = _random_data(rng)
        if len(y) < 5:
            continue
        ff = fit_fast(_engine_stats(y, codes, len(sizes)), reml=reml)
        mine = simstudy.fit_ri_many(sizes, np.bincount(codes, weights=y)[None, :], np.array([y @ y]), reml)
        assert mine["deviance"].iloc[0] == pytest.approx(ff.deviance, abs=1e-7)
        assert mine["theta"].iloc[0] == pytest.approx(ff.theta[0], abs=1e-4)
        assert mine["sigma2"].iloc[0] == pytest.approx(ff.sigma2, rel=1e-5)
        assert mine["beta0"].iloc[0] == pytest.approx(ff.beta[0], abs=1e-6)


def test_balanced_reml_is_truncated_anova():
    """Known closed form: with balanced groups, REML = the ANOVA estimates when MSB > MSW."""
    rng = np.random.default_rng(13)
    for _ in range(40):
        sizes, codes, y = _random_data(rng, balanced=True)
        J, m = len(sizes), int(sizes[0])
        means = np.bincount(codes, weights=y) / m
        msb = m * np.sum((means - y.mean()) ** 2) / (J - 1)
        msw = np.sum((y - means[codes]) ** 2) / (J * (m - 1))
        fit = simstudy.fit_ri_many(sizes, np.bincount(codes, weights=y)[None, :], np.array([y @ y]), True)
        if msb > msw * 1.001:
            assert fit["tau00"].iloc[0] == pytest.approx((msb - msw) / m, rel=1e-5)
            assert fit["sigma2"].iloc[0] == pytest.approx(msw, rel=1e-5)
        elif msb < msw * 0.999:
            assert fit["tau00"].iloc[0] == 0.0


def test_ml_bias_matches_theory_and_reml_is_unbiased():
    """Balanced data, truncation negligible: E[tau_ML] = tau - (tau + sigma2/m)/J; REML unbiased."""
    tau, s2, J, m = 4.0, 4.0, 10, 10
    tab = simstudy.ml_vs_reml_bias(J, m, tau00=tau, sigma2=s2, n_reps=4000, seed=14)
    assert tab.loc["ML", "share_zero"] < 0.005  # truncation at 0 is negligible here
    expected_ml = tau - (tau + s2 / m) / J
    se = tab.loc["ML", "mc_se_tau00"]
    assert abs(tab.loc["ML", "mean_tau00"] - expected_ml) < 4 * se
    assert abs(tab.loc["REML", "bias_tau00"]) < 4 * tab.loc["REML", "mc_se_tau00"]
    # ML divides by n, not n - 1: sigma2 is nearly unbiased here (within-group df dominate).
    assert abs(tab.loc["REML", "bias_sigma2"]) < 0.05


def test_ml_bias_shrinks_with_more_groups():
    biases = [simstudy.ml_vs_reml_bias(J, 5, tau00=2.0, sigma2=8.0, n_reps=3000, seed=15).loc["ML", "bias_tau00"]
              for J in (5, 20, 80)]
    assert biases[0] < biases[1] < biases[2] < 0.05


def test_estimates_long_format():
    est = simstudy.ml_vs_reml_estimates(6, 4, tau00=1.0, sigma2=1.0, n_reps=25, seed=16)
    assert list(est.columns) == ["rep", "method", "tau00", "sigma2", "beta0", "theta"]
    assert len(est) == 50 and (est["tau00"] >= 0).all()
    again = simstudy.ml_vs_reml_estimates(6, 4, tau00=1.0, sigma2=1.0, n_reps=25, seed=16)
    pd.testing.assert_frame_equal(est, again)


def test_lrt_statistic_equals_mh_lrt():
    rng = np.random.default_rng(17)
    J, m = 12, 6
    codes = np.repeat(np.arange(J), m)
    for tau in (0.0, 0.2, 1.0):
        y = rng.normal(scale=np.sqrt(tau), size=J)[codes] + rng.normal(size=J * m)
        df = pd.DataFrame({"y": y, "g": codes.astype(str)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mh.SingularFitWarning)
            ref = mh.lrt(mh.fit("y ~ 1", df), mh.fit("y ~ 1 + (1 | g)", df))
        sizes = np.full(J, m)
        sums = np.bincount(codes, weights=y)[None, :]
        yty = np.array([y @ y])
        fit = simstudy.fit_ri_many(sizes, sums, yty, True)
        d0 = simstudy.ri_deviance(np.array([0.0]), sizes, sums, yty, True)[0, 0]
        assert max(d0 - fit["deviance"].iloc[0], 0.0) == pytest.approx(ref.statistic, abs=1e-6)


def test_lrt_null_distribution_properties():
    """Self & Liang: LR ~ 0.5 chi2(0) + 0.5 chi2(1) under tau00 = 0 (many groups, so close to asymptotic)."""
    null = simstudy.lrt_null_distribution(100, 5, n_reps=4000, seed=18)
    share_zero = (null["statistic"] == 0).mean()
    assert 0.47 < share_zero < 0.57  # about half the estimates of tau00 are 0
    rates = simstudy.rejection_rates(null, alpha=0.05)
    mc = np.sqrt(0.05 * 0.95 / len(null))
    assert rates["naive"] < 0.05 - 4 * mc  # the chi2(1) reference is conservative
    assert abs(rates["mixture"] - 0.05) < 3.5 * mc
    assert set(null.columns) == {"statistic", "p_naive", "p_mixture"}
    assert np.all(null.loc[null["statistic"] == 0, "p_mixture"] == 1.0)


def test_lrt_has_power_under_the_alternative():
    alt = simstudy.lrt_distribution(30, 10, n_reps=500, tau00=0.3, sigma2=1.0, seed=19)
    assert simstudy.rejection_rates(alt)["mixture"] > 0.9


def test_simulate_ri_stats_unbalanced_and_seeded():
    sizes, sums, yty = simstudy.simulate_ri_stats(3, [1, 2, 5], tau00=0.0, sigma2=2.0, n_reps=4, beta0=1.0, seed=3)
    assert sizes.tolist() == [1, 2, 5] and sums.shape == (4, 3) and yty.shape == (4,)
    again = simstudy.simulate_ri_stats(3, [1, 2, 5], tau00=0.0, sigma2=2.0, n_reps=4, beta0=1.0, seed=3)
    assert np.array_equal(sums, again[1])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_groups=1, group_size=5), "n_groups"),
    (dict(n_groups=3, group_size=[2, 2]), "group_size"),
    (dict(n_groups=3, group_size=0), "at least 1"),
    (dict(n_groups=3, group_size=5, tau00=-1.0), "tau00"),
    (dict(n_groups=3, group_size=5, sigma2=0.0), "sigma2"),
    (dict(n_groups=3, group_size=5, n_reps=0), "n_reps"),
])
def test_bad_input_is_explained(kwargs, match):
    args = dict(tau00=1.0, sigma2=1.0, n_reps=5) | kwargs
    with pytest.raises(mh.MLMInputError, match=match):
        simstudy.simulate_ri_stats(**args)


def test_rejection_rates_checks_input():
    with pytest.raises(mh.MLMInputError, match="alpha"):
        simstudy.rejection_rates(pd.DataFrame({"p_naive": [0.1], "p_mixture": [0.1]}), alpha=5)
    with pytest.raises(mh.MLMInputError, match="p_mixture"):
        simstudy.rejection_rates(pd.DataFrame({"p_naive": [0.1]}))
