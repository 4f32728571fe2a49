"""Tests of mlm_helpers.pooling: the three estimates, checked against lme4 and by simulation."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import mlm_helpers as mh  # noqa: E402
from mlm_helpers.companions.pooling import plot_pooling, pooling_estimates  # noqa: E402


@pytest.fixture(scope="module")
def hsb_est() -> pd.DataFrame:
    return pooling_estimates(mh.load_dataset("hsb"), "MathAch", "School")


def test_columns_and_simple_estimates(hsb_est):
    hsb = mh.load_dataset("hsb")
    assert list(hsb_est.columns) == ["n", "no_pooling", "complete_pooling", "partial_pooling", "shrinkage"]
    assert hsb_est.index.name == "School" and len(hsb_est) == 160
    means = hsb.groupby("School")["MathAch"].mean()
    np.testing.assert_allclose(hsb_est["no_pooling"], means.loc[hsb_est.index])
    assert hsb_est["n"].sum() == len(hsb)
    np.testing.assert_allclose(hsb_est["complete_pooling"], hsb["MathAch"].mean())


def test_partial_pooling_matches_lme4(hsb_est, reference):
    ref = reference[reference["model"] == "hsb_null_reml"]
    fixef = float(ref[(ref["quantity"] == "fixef") & (ref["name1"] == "Intercept")]["value"].iloc[0])
    tau = float(ref[(ref["quantity"] == "vcov") & (ref["name1"] == "School|Intercept")]["value"].iloc[0])
    ranef = ref[ref["quantity"] == "ranef"]
    u = pd.Series(ranef["value"].to_numpy(), index=ranef["name1"].str.split("|").str[1])
    assert hsb_est.attrs["gamma00"] == pytest.approx(fixef, abs=1e-6)
    assert hsb_est.attrs["tau00"] == pytest.approx(tau, rel=1e-5)
    np.testing.assert_allclose(hsb_est["partial_pooling"] - fixef, u.loc[hsb_est.index], atol=1e-5)


def test_partial_pooling_is_the_shrinkage_formula(hsb_est):
    a = hsb_est.attrs
    lam = a["tau00"] / (a["tau00"] + a["sigma2"] / hsb_est["n"])
    np.testing.assert_allclose(hsb_est["shrinkage"], lam)
    np.testing.assert_allclose(hsb_est["partial_pooling"],
                               a["gamma00"] + lam * (hsb_est["no_pooling"] - a["gamma00"]), atol=1e-8)
    # Bigger groups are pulled less.
    by_n = hsb_est.sort_values("n")
    assert np.all(np.diff(by_n["shrinkage"].to_numpy()) >= 0)
    assert 0 < hsb_est["shrinkage"].min() < hsb_est["shrinkage"].max() < 1


def test_partial_pooling_beats_no_pooling_on_simulated_groups():
    sizes = [2, 3, 5, 8, 20] * 12
    df = mh.simulate_two_level(60, sizes, beta0=10, tau00=1.0, sigma2=9.0, seed=21)
    est = pooling_estimates(df, "y", "group")
    true_means = (10 + df.groupby("group")["u0"].first()).loc[est.index]
    mse_no = ((est["no_pooling"] - true_means) ** 2).mean()
    mse_partial = ((est["partial_pooling"] - true_means) ** 2).mean()
    assert mse_partial < 0.6 * mse_no


def test_integer_groups_keep_their_values():
    df = pd.DataFrame({"score": [1.0, 2.0, 3.0, 5.0, 6.0, 9.0, 4.0, 4.5] * 3,
                       "cls": [1, 1, 2, 2, 3, 3, 11, 11] * 3})
    with pytest.warns(mh.FewGroupsWarning, match="'cls'"):
        est = pooling_estimates(df, "score", "cls")
    assert list(est.index) == [1, 2, 3, 11]
    assert est.loc[11, "n"] == 6


def test_missing_values_are_dropped_with_a_warning():
    df = mh.simulate_two_level(20, 5, tau00=1, sigma2=1, seed=1)
    df.loc[3, "y"] = np.nan
    with pytest.warns(mh.MissingDataWarning, match="1 rows"):
        est = pooling_estimates(df, "y", "group")
    assert est["n"].sum() == 99


def test_bad_input_is_explained():
    df = mh.load_dataset("hsb")
    with pytest.raises(mh.MLMInputError, match="Did you mean 'MathAch'"):
        pooling_estimates(df, "mathach", "School")
    with pytest.raises(mh.MLMInputError, match="must be numeric"):
        pooling_estimates(df, "Sex", "School")
    with pytest.raises(mh.MLMInputError, match="at least two groups"):
        pooling_estimates(df.assign(one="a"), "MathAch", "one")
    with pytest.raises(mh.MLMInputError, match="DataFrame"):
        pooling_estimates(df.to_numpy(), "MathAch", "School")
    with pytest.raises(mh.MLMInputError, match="same column"):
        pooling_estimates(df, "MathAch", "MathAch")


def test_plot_pooling(hsb_est):
    fig = plot_pooling(hsb_est)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "group size (number of observations)"
    assert ax.get_ylabel() == "estimated group mean (points)"
    offsets = [c.get_offsets() for c in ax.collections if len(c.get_offsets()) == 160]
    assert len(offsets) == 2  # raw means and model estimates, one point per school
    np.testing.assert_allclose(sorted(offsets[1][:, 1]), sorted(hsb_est["partial_pooling"]))
    hline = [ln for ln in ax.lines if ln.get_linestyle() == "--"][0]
    assert hline.get_ydata()[0] == pytest.approx(hsb_est["complete_pooling"].iloc[0])
    plt.close(fig)
    with pytest.raises(mh.MLMInputError):
        plot_pooling(pd.DataFrame({"a": [1]}))
