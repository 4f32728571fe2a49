"""The Gibbs sampler of chapter 05: it agrees with REML when groups are many, recovers simulated
truth, samples its priors correctly, and explains bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers import bayes


@pytest.fixture(scope="module")
def hsb_draws() -> pd.DataFrame:
    return bayes.gibbs_random_intercept("MathAch ~ SES + (1 | School)", mh.load_dataset("hsb"),
                                        n_iter=2000, burn_in=300, seed=1)


def test_hsb_posterior_agrees_with_reml(hsb_draws):
    """160 schools: the posterior means lie within a few posterior SDs of the REML estimates (lme4's too)."""
    reml = mh.fit("MathAch ~ SES + (1 | School)", mh.load_dataset("hsb"))
    table = bayes.summarise(hsb_draws)
    estimates = {"Intercept": reml.fixed.loc["Intercept", "estimate"], "SES": reml.fixed.loc["SES", "estimate"],
                 "tau00": reml.varcorr["vcov"].iloc[0], "sigma2": reml.sigma2}
    for name, value in estimates.items():
        z = (table.loc[name, "mean"] - value) / table.loc[name, "sd"]
        assert abs(z) < 2.5, (name, table.loc[name, "mean"], value)
    # Posterior SDs of the fixed effects are close to the REML standard errors.
    assert table.loc["SES", "sd"] == pytest.approx(reml.fixed.loc["SES", "se"], rel=0.15)
    assert table.loc["Intercept", "sd"] == pytest.approx(reml.fixed.loc["Intercept", "se"], rel=0.15)
    # lme4 (tests/reference, hsb_ses_reml): school variance 4.768.
    assert abs(table.loc["tau00", "mean"] - 4.768) < 2.5 * table.loc["tau00", "sd"]


def test_draws_layout_and_attrs(hsb_draws):
    assert list(hsb_draws.columns) == ["Intercept", "SES", "tau00", "sigma2", "icc"]
    assert len(hsb_draws) == 2000
    assert (hsb_draws[["tau00", "sigma2"]] > 0).all().all()
    assert np.allclose(hsb_draws["icc"], hsb_draws["tau00"] / (hsb_draws["tau00"] + hsb_draws["sigma2"]))
    assert hsb_draws.attrs["prior_beta"] == "flat"
    assert hsb_draws.attrs["prior_tau00"].startswith("half-Cauchy")
    assert hsb_draws.attrs["prior_sigma2"] == "p(v) proportional to 1/v"


def test_recovers_a_large_simulation():
    df = mh.simulate_two_level(300, 15, beta0=10.0, beta1=2.0, tau00=3.0, sigma2=9.0, seed=5)
    draws = bayes.gibbs_random_intercept("y ~ x + (1 | group)", df, n_iter=1500, burn_in=300, seed=6)
    table = bayes.summarise(draws)
    truth = df.attrs["truth"]
    for name, value in (("Intercept", truth["beta0"]), ("x", truth["beta1"]), ("tau00", truth["tau00"]),
                        ("sigma2", truth["sigma2"])):
        assert abs(table.loc[name, "mean"] - value) < 3 * table.loc[name, "sd"], name


def test_seed_reproduces_the_chain():
    d = mh.load_dataset("dyestuff")
    a = bayes.gibbs_random_intercept("Yield ~ 1 + (1 | Batch)", d, n_iter=300, seed=3)
    b = bayes.gibbs_random_intercept("Yield ~ 1 + (1 | Batch)", d, n_iter=300, seed=3)
    c = bayes.gibbs_random_intercept("Yield ~ 1 + (1 | Batch)", d, n_iter=300, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["tau00"], c["tau00"])


def test_few_groups_posterior_is_away_from_zero_where_reml_is_zero():
    """Dyestuff2: REML puts the batch variance at 0; the posterior keeps it positive and wide."""
    draws = bayes.gibbs_random_intercept("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff2"),
                                         n_iter=4000, seed=7)
    sd_batch = np.sqrt(draws["tau00"])
    assert sd_batch.median() > 0.2
    assert sd_batch.quantile(0.975) > 2 * sd_batch.median()
    # The residual variance agrees with REML's 13.81 (lme4 dyestuff2_reml) within its posterior spread.
    assert abs(draws["sigma2"].median() - 13.806) < draws["sigma2"].std()


def test_keep_ranef_and_normal_prior():
    d = mh.load_dataset("dyestuff")
    draws = bayes.gibbs_random_intercept("Yield ~ 1 + (1 | Batch)", d, n_iter=200, keep_ranef=True, seed=8,
                                         prior_beta=bayes.NormalPrior(0.0, 0.01))
    assert [c for c in draws.columns if c.startswith("u[")] == [f"u[{b}]" for b in "ABCDEF"]
    # A prior with SD 0.01 around 0 pins the intercept there, far from the data's 1527.5.
    assert abs(draws["Intercept"].mean()) < 0.05


@pytest.mark.parametrize("A", [1.0, 30.0])
def test_half_cauchy_augmentation_samples_the_prior(A):
    """With no data (0 terms, sum of squares 0) the augmented Gibbs step is a chain with the prior as its
    stationary distribution: sqrt(v) ~ half-Cauchy(0, A), whose quantile q is A tan(pi q / 2)."""
    step = bayes._VarianceStep(bayes.HalfCauchy(A), 1.0, "v")
    rng = np.random.default_rng(9)
    v, out = A**2, []
    for _ in range(40000):
        v = step.draw(rng, 0, 0.0, v)
        out.append(np.sqrt(v))
    sd = np.array(out[1000:])
    for q in (0.25, 0.5, 0.75):
        assert np.quantile(sd, q) == pytest.approx(A * np.tan(np.pi * q / 2), rel=0.08)


def test_inverse_gamma_step_is_conjugate():
    """IG(a, b) prior and n terms with sum of squares SS: the draws follow IG(a + n/2, b + SS/2)."""
    step = bayes._VarianceStep(bayes.InverseGamma(2.0, 3.0), 1.0, "v")
    rng = np.random.default_rng(10)
    draws = np.array([step.draw(rng, 10, 8.0, 1.0) for _ in range(20000)])
    shape, scale = 2.0 + 5.0, 3.0 + 4.0
    assert draws.mean() == pytest.approx(scale / (shape - 1), rel=0.03)


def test_effective_sample_size():
    rng = np.random.default_rng(11)
    assert 0.8 * 4000 < bayes.effective_sample_size(rng.normal(size=4000)) < 1.2 * 4000
    phi, x = 0.9, np.zeros(20000)
    for t in range(1, len(x)):
        x[t] = phi * x[t - 1] + rng.normal()
    expected = len(x) * (1 - phi) / (1 + phi)
    assert bayes.effective_sample_size(x) == pytest.approx(expected, rel=0.3)
    assert bayes.effective_sample_size(np.ones(10)) == 10.0


def test_summarise_table():
    table = bayes.summarise(pd.DataFrame({"a": np.arange(101.0)}), level=0.9, digits=2)
    assert list(table.columns) == ["mean", "sd", "median", "lower", "upper", "ess"]
    assert table.loc["a", "lower"] == 5.0 and table.loc["a", "upper"] == 95.0


@pytest.mark.parametrize("call, match", [
    (lambda d: bayes.gibbs_random_intercept("Reaction ~ Days + (Days | Subject)", d), "random-intercept"),
    (lambda d: bayes.gibbs_random_intercept("Reaction ~ Days", d), "random-intercept"),
    (lambda d: bayes.gibbs_random_intercept("Reaction ~ Days + (1 | Subject)", d, n_iter=0), "n_iter"),
    (lambda d: bayes.gibbs_random_intercept("Reaction ~ Days + (1 | Subject)", d, prior_tau00=5), "prior"),
    (lambda d: bayes.gibbs_random_intercept("Reaction ~ Days + (1 | Subject)", d, prior_beta=(0, 1)),
     "NormalPrior"),
    (lambda d: bayes.gibbs_random_intercept("Reaction ~ Dayz + (1 | Subject)", d), "Days"),
    (lambda d: bayes.summarise(pd.DataFrame()), "non-empty"),
    (lambda d: bayes.InverseGamma(-1.0, 1.0), "shape"),
    (lambda d: bayes.HalfCauchy(0.0), "scale"),
    (lambda d: bayes.NormalPrior(0.0, -1.0), "sd"),
])
def test_bad_input_is_explained(call, match):
    with pytest.raises(mh.MLMInputError, match=match):
        call(mh.load_dataset("sleepstudy"))
