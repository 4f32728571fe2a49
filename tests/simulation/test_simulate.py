"""The two-level simulator: shapes, reproducibility, recovery of the truth, errors."""

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers import simulate_two_level


def test_shape_and_columns():
    df = simulate_two_level(12, 7, seed=1)
    assert df.shape[0] == 84
    assert list(df.columns[:4]) == ["group", "x", "w", "y"]
    assert {"u0", "u1"} <= set(df.columns)
    assert pd.api.types.is_string_dtype(df["group"])
    assert df["group"].nunique() == 12
    assert (df.groupby("group").size() == 7).all()


def test_unbalanced_sizes():
    sizes = [1, 2, 3, 10, 4]
    df = simulate_two_level(5, sizes, seed=3)
    assert df.groupby("group", sort=True).size().tolist() == sizes
    assert df.attrs["truth"]["group_size"] == sizes


def test_same_seed_same_data_and_different_seed_differs():
    a = simulate_two_level(20, 5, tau00=2, tau11=1, tau01=0.5, beta1=1, seed=7)
    b = simulate_two_level(20, 5, tau00=2, tau11=1, tau01=0.5, beta1=1, seed=7)
    c = simulate_two_level(20, 5, tau00=2, tau11=1, tau01=0.5, beta1=1, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["y"], c["y"])


def test_truth_recorded():
    df = simulate_two_level(10, 3, beta0=5, tau00=3, sigma2=1, seed=0)
    t = df.attrs["truth"]
    assert t["beta0"] == 5 and t["tau00"] == 3 and t["sigma2"] == 1
    assert t["icc"] == pytest.approx(0.75)


def test_random_effects_constant_within_group():
    df = simulate_two_level(15, 6, tau00=1, tau11=0.5, seed=2)
    assert (df.groupby("group")[["u0", "u1", "w"]].nunique() == 1).all().all()


def test_y_is_the_model():
    df = simulate_two_level(200, 5, beta0=1, beta1=2, tau00=1, tau11=0.3, w_effect=0.5, xw_effect=0.2,
                           extra_slopes=[1.5], sigma2=1e-6 + 0.0, seed=4)
    resid = df["y"] - (1 + 2 * df["x"] + 0.5 * df["w"] + 0.2 * df["x"] * df["w"] + 1.5 * df["x2"]
                       + df["u0"] + df["u1"] * df["x"])
    assert resid.std() == pytest.approx(1e-3, rel=0.05)


def test_recovers_variance_components_with_many_groups():
    """With J groups the sample variance of the true u0 is within a few SEs of tau00."""
    J, m = 4000, 10
    tau00, tau11, tau01, sigma2 = 2.0, 0.5, 0.3, 4.0
    df = simulate_two_level(J, m, tau00=tau00, tau11=tau11, tau01=tau01, sigma2=sigma2, seed=11)
    u = df.groupby("group")[["u0", "u1"]].first().to_numpy()
    cov = np.cov(u.T)
    # SE of a sample variance of normal draws: tau * sqrt(2 / (J - 1)); covariance: sqrt((t00 t11 + t01^2)/J)
    assert abs(cov[0, 0] - tau00) < 4 * tau00 * np.sqrt(2 / (J - 1))
    assert abs(cov[1, 1] - tau11) < 4 * tau11 * np.sqrt(2 / (J - 1))
    assert abs(cov[0, 1] - tau01) < 4 * np.sqrt((tau00 * tau11 + tau01**2) / J)
    e = df["y"] - df["u0"] - df["u1"] * df["x"]
    assert abs(e.var() - sigma2) < 4 * sigma2 * np.sqrt(2 / (len(df) - 1))
    assert abs(df["x"].std() - 1.0) < 4 * np.sqrt(1 / (2 * len(df)))


def test_fitted_model_recovers_truth():
    """The REML fit of simulated data lands within a few standard errors of the truth."""
    J, m, tau00, sigma2 = 300, 10, 2.0, 6.0
    df = simulate_two_level(J, m, beta0=3, beta1=1.5, tau00=tau00, sigma2=sigma2, seed=5)
    res = mh.fit("y ~ x + (1 | group)", df)
    fx = res.fixed
    for name, truth in [("Intercept", 3.0), ("x", 1.5)]:
        assert abs(fx.loc[name, "estimate"] - truth) < 4 * fx.loc[name, "se"]
    # Large-sample SEs of the variance components in a balanced one-way design.
    se_s2 = sigma2 * np.sqrt(2 / (J * (m - 1)))
    se_tau = np.sqrt(2 / m**2 * ((sigma2 + m * tau00) ** 2 / (J - 1) + sigma2**2 / (J * (m - 1))))
    assert abs(res.sigma2 - sigma2) < 4 * se_s2
    assert abs(res.varcorr["vcov"].iloc[0] - tau00) < 4 * se_tau


def test_x_between_sd_gives_group_means_of_x():
    df = simulate_two_level(2000, 20, x_between_sd=2.0, x_sd=1.0, seed=9)
    means = df.groupby("group")["x"].mean()
    # Var of a group mean = between var + within var / m
    assert means.var() == pytest.approx(4.0 + 1.0 / 20, rel=4 * np.sqrt(2 / 1999))


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"n_groups": 1, "group_size": 5}, "n_groups must be at least 2"),
        ({"n_groups": 2.5, "group_size": 5}, "n_groups must be a whole number"),
        ({"n_groups": 3, "group_size": 0}, "group_size must be at least 1"),
        ({"n_groups": 3, "group_size": [2, 0, 2]}, r"group_size\[1\] must be at least 1"),
        ({"n_groups": 3, "group_size": [2, 2]}, "group_size has 2 entries but n_groups is 3"),
        ({"n_groups": 3, "group_size": 2, "tau00": -1}, "tau00 is a variance"),
        ({"n_groups": 3, "group_size": 2, "tau11": -0.1}, "tau11 is a variance"),
        ({"n_groups": 3, "group_size": 2, "sigma2": 0}, "sigma2 is a variance and must be greater than 0"),
        ({"n_groups": 3, "group_size": 2, "x_sd": -1}, "x_sd"),
        ({"n_groups": 3, "group_size": 2, "tau00": 1, "tau11": 1, "tau01": 1.5}, "tau01 = 1.5 makes the"),
        ({"n_groups": 3, "group_size": 2, "beta0": float("nan")}, "beta0 must be a finite number"),
        ({"n_groups": 3, "group_size": 2, "beta1": "a"}, "beta1 must be a number"),
    ],
)
def test_invalid_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        simulate_two_level(**kwargs)


def test_errors_are_mlm_input_errors():
    with pytest.raises(mh.MLMInputError):
        simulate_two_level(1, 5)


def test_boundary_covariance_allowed():
    df = simulate_two_level(50, 4, tau00=1, tau11=1, tau01=1.0, seed=1)  # correlation exactly 1
    assert np.allclose(df["u0"], df["u1"])
