"""Tests of mlm_helpers.plots: conditional variances against lme4, and what each plot draws."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers import plots
from mlm_helpers.companions.centring import centre_within

# lme4 1.1: ranef(fit, condVar = TRUE); sqrt of attr(, "postVar") (see tests/reference/lme4_reference.R for the fits)
LME4_HSB_SES_CONDSD = {"1224": 0.8223244, "1288": 1.063125, "8367": 1.304378, "9586": 0.7447692}
LME4_SLEEP_308 = {"sd_int": 12.07086, "sd_days": 2.304839, "cov": -21.4445}


@pytest.fixture(scope="module")
def hsb() -> pd.DataFrame:
    return mh.load_dataset("hsb")


@pytest.fixture(scope="module")
def ri(hsb):
    return mh.fit("MathAch ~ SES + (1 | School)", hsb)


@pytest.fixture(scope="module")
def sleep_rs():
    return mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_conditional_sd_matches_lme4_random_intercept(ri):
    tab = plots.ranef_intervals(ri)
    for school, sd in LME4_HSB_SES_CONDSD.items():
        assert tab.loc[school, "cond_sd"] == pytest.approx(sd, rel=2e-4)


def test_conditional_variance_is_tau_times_one_minus_lambda(ri, hsb):
    tau00 = ri.varcorr["vcov"].iloc[0]
    n = hsb.groupby("School").size().loc[ri.ranef.index]
    lam = tau00 / (tau00 + ri.sigma2 / n)
    v = plots.conditional_covariances(ri)[:, 0, 0]
    np.testing.assert_allclose(v, tau00 * (1 - lam.to_numpy()), rtol=1e-10)
    np.testing.assert_array_equal(plots.ranef_intervals(ri)["n"].to_numpy(), n.to_numpy())


def test_conditional_covariance_matches_lme4_random_slope(sleep_rs):
    V = plots.conditional_covariances(sleep_rs)[list(sleep_rs.ranef.index).index("308")]
    assert np.sqrt(V[0, 0]) == pytest.approx(LME4_SLEEP_308["sd_int"], rel=1e-3)
    assert np.sqrt(V[1, 1]) == pytest.approx(LME4_SLEEP_308["sd_days"], rel=1e-3)
    assert V[0, 1] == pytest.approx(LME4_SLEEP_308["cov"], rel=1e-3)
    np.testing.assert_allclose(V, V.T)


def test_conditional_covariance_with_a_singular_fit_is_zero():
    import warnings

    with warnings.catch_warnings():  # Dyestuff2 is singular and has 6 batches: both warnings are expected
        warnings.simplefilter("ignore", mh.SingularFitWarning)
        warnings.simplefilter("ignore", mh.FewGroupsWarning)
        res = mh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff2"))
    assert np.allclose(plots.conditional_covariances(res), 0.0)


def test_intervals_are_estimate_plus_minus_z_sd(ri):
    tab = plots.ranef_intervals(ri, level=0.9)
    np.testing.assert_allclose(tab["upper"] - tab["estimate"], 1.6448536 * tab["cond_sd"], rtol=1e-6)
    np.testing.assert_allclose(tab["estimate"], ri.ranef["Intercept"])


def test_bad_input_to_intervals(ri):
    with pytest.raises(mh.MLMInputError, match="SES"):
        plots.ranef_intervals(ri, term="SES")
    with pytest.raises(mh.MLMInputError, match="level"):
        plots.ranef_intervals(ri, level=95)
    with pytest.raises(mh.MLMInputError, match=r"mh\.fit"):
        plots.ranef_intervals("not a fit")


def test_crossed_model_is_refused_with_a_clear_message():
    import warnings

    with warnings.catch_warnings():  # 6 samples: FewGroupsWarning is expected
        warnings.simplefilter("ignore", mh.FewGroupsWarning)
        crossed = mh.fit("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"))
    with pytest.raises(mh.MLMInputError, match="one grouping factor"):
        plots.caterpillar_plot(crossed)


def test_caterpillar_plot_sorted_and_coloured(ri):
    fig = plots.caterpillar_plot(ri)
    ax = fig.axes[0]
    ys = np.concatenate([ln.get_ydata() for ln in ax.lines if ln.get_marker() == "o"])
    assert len(ys) == 160
    tab = plots.ranef_intervals(ri)
    excl = int(((tab["lower"] > 0) | (tab["upper"] < 0)).sum())
    assert ax.get_title().startswith(f"{excl} of 160 95% intervals exclude 0")
    # points in rank order: x positions sorted by the estimate
    pts = sorted((x, y) for ln in ax.lines if ln.get_marker() == "o" for x, y in zip(ln.get_xdata(), ln.get_ydata(),
                                                                                     strict=True))
    assert all(np.diff([y for _, y in pts]) >= -1e-12)
    assert ax.get_xlabel() == "schools, ranked by the estimate (160 schools)"


def test_caterpillar_plot_add_fixed_and_slopes(sleep_rs):
    fig, ax = plt.subplots()
    out = plots.caterpillar_plot(sleep_rs, "Days", add_fixed=True, ax=ax)
    assert out is fig
    ys = np.concatenate([ln.get_ydata() for ln in ax.lines if ln.get_marker() == "o"])
    expected = sleep_rs.fixed.loc["Days", "estimate"] + sleep_rs.ranef["Days"]
    np.testing.assert_allclose(np.sort(ys), np.sort(expected))
    assert len(ax.get_xticklabels()) == 18  # few groups: labelled
    with pytest.raises(mh.MLMInputError, match="Days"):
        plots.caterpillar_plot(sleep_rs, "Dayz")


def test_shrinkage_plot_layouts():
    idx = ["a", "b", "c", "d"]
    own = pd.Series([1.0, 5.0, 9.0, 4.0], index=idx, name="intercept")
    model = pd.Series([3.0, 5.0, 7.0, 4.5], index=idx, name="intercept")
    fig = plots.shrinkage_plot(own, model, sizes=pd.Series([3, 50, 5, 10], index=idx), centre=5.0,
                               ylabel="intercept (points)")
    ax = fig.axes[0]
    segs = ax.collections[0].get_segments()
    assert len(segs) == 4
    np.testing.assert_allclose(segs[0], [[3, 1.0], [3, 3.0]])
    assert ax.get_ylabel() == "intercept (points)"
    assert ax.get_xlabel() == "group size (observations)"
    fig2 = plots.shrinkage_plot(own, model)  # two rows
    np.testing.assert_allclose(fig2.axes[0].collections[0].get_segments()[2], [[9.0, 1.0], [7.0, 0.0]])
    two_own = pd.DataFrame({"Intercept": [1.0, 2.0], "Days": [10.0, 8.0]}, index=["x", "y"])
    two_model = pd.DataFrame({"Intercept": [1.5, 2.0], "Days": [9.0, 8.5]}, index=["y", "x"])  # other order
    fig3 = plots.shrinkage_plot(two_own, two_model, centre=(1.0, 9.0))
    segs3 = fig3.axes[0].collections[0].get_segments()
    np.testing.assert_allclose(segs3[0], [[1.0, 10.0], [2.0, 8.5]])  # aligned on the index
    assert fig3.axes[0].get_xlabel() == "Intercept" and fig3.axes[0].get_ylabel() == "Days"


def test_shrinkage_plot_bad_input():
    own = pd.Series([1.0, 2.0], index=["a", "b"])
    with pytest.raises(mh.MLMInputError, match="same groups"):
        plots.shrinkage_plot(own, pd.Series([1.0, 2.0], index=["a", "c"]))
    with pytest.raises(mh.MLMInputError, match="Series or DataFrame"):
        plots.shrinkage_plot([1, 2], own)
    with pytest.raises(mh.MLMInputError, match="one column"):
        plots.shrinkage_plot(own, pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0]}, index=["a", "b"]))


def test_spaghetti_plot_ols_lines():
    sleep = mh.load_dataset("sleepstudy")
    fig = plots.spaghetti_plot(sleep, "Days", "Reaction", "Subject", groups=["308", "309"], xlabel="days",
                               ylabel="reaction time (ms)")
    ax = fig.axes[0]
    assert len(ax.lines) == 3  # two groups and the pooled line
    sub = sleep[sleep["Subject"] == "308"]
    b1, b0 = np.polyfit(sub["Days"], sub["Reaction"], 1)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [b0, b0 + 9 * b1])
    b1, b0 = np.polyfit(sleep["Days"], sleep["Reaction"], 1)
    np.testing.assert_allclose(ax.lines[-1].get_ydata(), [b0, b0 + 9 * b1])
    assert ax.get_ylabel() == "reaction time (ms)"


def test_spaghetti_plot_model_lines(sleep_rs):
    sleep = mh.load_dataset("sleepstudy")
    fig = plots.spaghetti_plot(sleep, "Days", "Reaction", "Subject", result=sleep_rs, n_groups=5, seed=1)
    ax = fig.axes[0]
    assert len(ax.lines) == 6
    coef = sleep_rs.fixed["estimate"].to_numpy()
    np.testing.assert_allclose(ax.lines[-1].get_ydata(), [coef[0], coef[0] + 9 * coef[1]])
    # each thin line is fixed + random effects of one subject
    slopes = sorted(np.diff(ln.get_ydata())[0] / 9 for ln in ax.lines[:-1])
    allowed = coef[1] + sleep_rs.ranef["Days"].to_numpy()
    assert all(np.isclose(allowed, s).any() for s in slopes)


def test_spaghetti_plot_holds_other_predictors_at_group_mean(hsb):
    data = centre_within(hsb, "SES", "School")
    res = mh.fit("MathAch ~ SES_c + SES_gm + (1 | School)", data)
    fig = plots.spaghetti_plot(data, "SES_c", "MathAch", "School", result=res, groups=["1224"], average=False)
    line = fig.axes[0].lines[0]
    rows = data[data["School"] == "1224"]
    b = res.fixed["estimate"]
    x0 = rows["SES_c"].min()
    expected = b["Intercept"] + b["SES_c"] * x0 + b["SES_gm"] * rows["SES_gm"].iloc[0] + res.ranef.loc["1224", "Intercept"]
    assert line.get_ydata()[0] == pytest.approx(expected)


def test_spaghetti_plot_bad_input():
    sleep = mh.load_dataset("sleepstudy")
    with pytest.raises(mh.MLMInputError, match="Did you mean 'Days'"):
        plots.spaghetti_plot(sleep, "days", "Reaction", "Subject")
    with pytest.raises(mh.MLMInputError, match="not in the data"):
        plots.spaghetti_plot(sleep, "Days", "Reaction", "Subject", groups=["999"])
    with pytest.raises(mh.MLMInputError, match="numeric"):
        plots.spaghetti_plot(sleep, "Subject", "Reaction", "Days")
    one_day = sleep[sleep["Days"].isin([0, 1]) | (sleep["Subject"] != "308")]
    one_day = one_day[~((one_day["Subject"] == "308") & (one_day["Days"] == 1))]
    with pytest.warns(UserWarning, match="single value"):
        plots.spaghetti_plot(one_day, "Days", "Reaction", "Subject", groups=["308", "309"])
