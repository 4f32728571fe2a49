"""reporting: the model table (checked against lme4), the sentences, the bootstrap and the truth table."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers import reporting
from mlm_helpers.model.deviance import sufficient_stats
from mlm_helpers.model.engines.fast import fit_fast
from mlm_helpers.model.frame import build_model


def lme4(reference: pd.DataFrame, model: str, quantity: str, name1: str = "", name2: str = "") -> float:
    sel = reference[(reference["model"] == model) & (reference["quantity"] == quantity)
                    & (reference["name1"] == name1) & (reference["name2"] == name2)]
    assert len(sel) == 1, (model, quantity, name1, name2)
    return float(sel["value"].iloc[0])


@pytest.fixture(scope="module")
def sleep():
    return mh.load_dataset("sleepstudy")


@pytest.fixture(scope="module")
def sleep_fits(sleep):
    return {"M1 intercepts": mh.fit("Reaction ~ Days + (1 | Subject)", sleep),
            "M2 slopes": mh.fit("Reaction ~ Days + (Days | Subject)", sleep)}


# ------------------------------------------------------------------------------------------------ model_table
def test_model_table_layout(sleep_fits):
    tab = reporting.model_table(sleep_fits, digits=None)
    assert list(tab.columns) == reporting.TABLE_COLUMNS
    assert list(dict.fromkeys(tab["model"])) == list(sleep_fits)  # blocks in the order given
    m1 = tab[tab["model"] == "M1 intercepts"]
    m2 = tab[tab["model"] == "M2 slopes"]
    # M1: 2 fixed effects, 2 variance rows -> 2 parameter rows; M2: 2 fixed, 4 random -> 4 rows; then 6 statistics
    assert len(m1) == 2 + 6 and len(m2) == 4 + 6
    assert m2["random effect"].tolist()[:4] == [
        "Subject: var(Intercept)", "Subject: var(Days)", "Subject: cov(Intercept, Days)", "Residual: var"]
    assert m2["fixed effect"].tolist()[:2] == ["Intercept", "Days"]
    assert m2["fixed effect"].iloc[2:4].isna().all() and m2["estimate"].iloc[2:4].isna().all()
    labels = m2["fixed effect"].tolist()[4:]
    assert labels == ["log-likelihood (REML)", "deviance (ML)", "AIC (ML)", "BIC (ML)", "groups (Subject)",
                      "observations"]


def test_model_table_numbers_match_lme4(sleep_fits, reference):
    tab = reporting.model_table(sleep_fits, digits=None)
    for label, ref in (("M1 intercepts", "sleep_ri"), ("M2 slopes", "sleep_rs")):
        block = tab[tab["model"] == label]
        stat = block.set_index("fixed effect")["estimate"]
        assert stat["log-likelihood (REML)"] == pytest.approx(lme4(reference, f"{ref}_reml", "loglik"), abs=1e-3)
        assert stat["deviance (ML)"] == pytest.approx(-2 * lme4(reference, f"{ref}_ml", "loglik"), abs=2e-3)
        assert stat["AIC (ML)"] == pytest.approx(lme4(reference, f"{ref}_ml", "aic"), abs=2e-3)
        assert stat["BIC (ML)"] == pytest.approx(lme4(reference, f"{ref}_ml", "bic"), abs=2e-3)
        assert stat["groups (Subject)"] == 18 and stat["observations"] == 180
        fixed = block.dropna(subset=["SE"]).set_index("fixed effect")
        for name in ("Intercept", "Days"):
            assert fixed.loc[name, "estimate"] == pytest.approx(lme4(reference, f"{ref}_reml", "fixef", name), rel=1e-5)
            assert fixed.loc[name, "SE"] == pytest.approx(lme4(reference, f"{ref}_reml", "se", name), rel=1e-4)
        var = block.dropna(subset=["variance"]).set_index("random effect")["variance"]
        assert var["Subject: var(Intercept)"] == pytest.approx(
            lme4(reference, f"{ref}_reml", "vcov", "Subject|Intercept"), rel=1e-4)
        assert var["Residual: var"] == pytest.approx(lme4(reference, f"{ref}_reml", "vcov", "Residual|"), rel=1e-4)
    cov = tab.set_index("random effect").loc["Subject: cov(Intercept, Days)", "variance"]
    assert cov == pytest.approx(lme4(reference, "sleep_rs_reml", "vcov", "Subject|Intercept", "Days"), rel=1e-3)


def test_model_table_text_format(sleep_fits):
    tab = reporting.model_table(sleep_fits, digits=2)
    assert (tab.map(lambda v: isinstance(v, str))).all().all()  # a table of text, ready to print
    row = tab[(tab["model"] == "M1 intercepts") & (tab["fixed effect"] == "Days")].iloc[0]
    assert row["estimate"] == "10.47" and row["SE"] == "0.80" and row["random effect"] == "Residual: var"
    assert row["variance"] == "960.46"
    counts = tab[tab["fixed effect"].isin(["groups (Subject)", "observations"])]["estimate"].tolist()
    assert counts == ["18", "180", "18", "180"]  # whole numbers, no decimals
    blank = tab[(tab["model"] == "M2 slopes") & (tab["fixed effect"] == "")]
    assert len(blank) == 2 and (blank["estimate"] == "").all() and (blank["SE"] == "").all()
    one = reporting.model_table(sleep_fits, digits=0)
    assert one.loc[0, "estimate"] == "251"


def test_model_table_ml_fit_and_several_factors():
    pastes = mh.load_dataset("pastes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few batches
        nested = mh.fit("strength ~ 1 + (1 | batch/cask)", pastes, reml=False)
    tab = reporting.model_table({"nested": nested}, digits=None)
    labels = tab["fixed effect"].dropna().tolist()
    assert "log-likelihood (ML)" in labels
    assert "groups (batch)" in labels and "groups (batch:cask)" in labels
    stat = tab.set_index("fixed effect")["estimate"]
    assert stat["deviance (ML)"] == pytest.approx(-2 * nested.loglik)
    assert set(tab["random effect"].dropna()) == {"batch: var(Intercept)", "batch:cask: var(Intercept)",
                                                  "Residual: var"}


def test_model_table_bad_input(sleep_fits):
    with pytest.raises(mh.MLMInputError, match="non-empty dict"):
        reporting.model_table({})
    with pytest.raises(mh.MLMInputError, match="non-empty dict"):
        reporting.model_table([sleep_fits["M1 intercepts"]])
    with pytest.raises(mh.MLMInputError, match=r"results\['x'\] must be a result of mh.fit"):
        reporting.model_table({"x": "not a fit"})
    with pytest.raises(mh.MLMInputError, match="digits"):
        reporting.model_table(sleep_fits, digits=-1)
    with pytest.raises(mh.MLMInputError, match="digits"):
        reporting.model_table(sleep_fits, digits=1.5)


# ------------------------------------------------------------------------------------------------ describe_fit
def test_describe_fit_random_slope(sleep_fits):
    res = sleep_fits["M2 slopes"]
    text = reporting.describe_fit(res, units="ms", digits=2)
    fx = res.fixed
    assert "fitted by REML to 180 observations in 18 groups (Subject)" in text
    assert f"The intercept is {fx.loc['Intercept', 'estimate']:.2f} ms (SE {fx.loc['Intercept', 'se']:.2f}" in text
    assert f"The coefficient of Days is {fx.loc['Days', 'estimate']:.2f} ms per unit of Days" in text
    assert "p < 0.001" in text and text.count("p <") == 1  # no p-value for the intercept
    sd = np.sqrt(res.varcorr["vcov"].iloc[1])
    assert f"the slope of Days with a standard deviation of {sd:.2f} ms per unit of Days" in text
    assert f"is {res.varcorr['sdcor'].iloc[2]:.2f}." in text
    assert "intraclass correlation" not in text  # not defined with random slopes
    assert text.endswith("The optimiser converged and the fit is not singular.")


def test_describe_fit_icc_and_singular():
    ri = mh.fit("MathAch ~ SES + (1 | School)", mh.load_dataset("hsb"))
    text = reporting.describe_fit(ri)
    assert f"The intraclass correlation is {ri.icc:.2f}" in text and "left after the fixed effects" in text
    assert " points" not in text  # no units unless asked
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sing = mh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff2"))
    text = reporting.describe_fit(sing)
    assert "the fit is singular" in text and "simplify the random part" in text
    assert "The intraclass correlation is 0.00" in text


def test_describe_fit_bad_input():
    with pytest.raises(mh.MLMInputError, match="result of mh.fit"):
        reporting.describe_fit(pd.DataFrame())
    res = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
    with pytest.raises(mh.MLMInputError, match="digits"):
        reporting.describe_fit(res, digits=None)


# ------------------------------------------------------------------------------------------------ parameters
def test_parameter_table_matches_result(sleep_fits):
    res = sleep_fits["M2 slopes"]
    tab = reporting.parameter_table(res)
    assert list(tab.index) == ["Intercept", "Days", "Subject: var(Intercept)", "Subject: var(Days)",
                               "Subject: cov(Intercept, Days)", "Residual: var"]
    assert tab["kind"].tolist() == ["fixed"] * 2 + ["random"] * 4
    assert np.allclose(tab["estimate"].iloc[2:], res.varcorr["vcov"])
    assert np.allclose(tab["se"].iloc[:2], res.fixed["se"]) and tab["se"].iloc[2:].isna().all()


# ------------------------------------------------------------------------------------------------ bootstrap
def test_newton_refit_agrees_with_engine(sleep):
    """The bootstrap's quick Newton path reaches the engine's optimum."""
    for formula in ("Reaction ~ Days + (Days | Subject)", "Reaction ~ Days + (1 | Subject)",
                    "Reaction ~ Days + (Days || Subject)"):
        res = mh.fit(formula, sleep)
        ss = sufficient_stats(build_model(formula, sleep))
        ff = fit_fast(ss)
        start = ff.theta * 1.3 + 0.05  # a start away from the optimum
        dev, beta, vcov, sigma2, lam, conv = reporting._refit(ss, True, start)
        assert conv
        assert dev == pytest.approx(ff.deviance, abs=1e-6)
        assert np.allclose(beta, res.fixed["estimate"], rtol=1e-6)
        assert np.allclose(np.sqrt(np.diag(vcov)), res.fixed["se"], rtol=1e-4)
        assert sigma2 == pytest.approx(res.sigma2, rel=1e-5)


def test_refit_falls_back_to_engine_at_the_boundary():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff2"))
    ss = sufficient_stats(build_model("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff2"), warn_few_groups=False))
    dev, beta, vcov, sigma2, lam, conv = reporting._refit(ss, True, np.array([0.0]))
    assert lam[0, 0] == 0.0 and dev == pytest.approx(-2 * res.loglik, abs=1e-6)


def test_bootstrap_reproducible_and_shaped(sleep_fits):
    res = sleep_fits["M2 slopes"]
    a = reporting.parametric_bootstrap(res, n_boot=20, seed=5)
    b = reporting.parametric_bootstrap(res, n_boot=20, seed=5)
    pd.testing.assert_frame_equal(a, b)
    labels = list(reporting.parameter_table(res).index)
    assert list(a.columns) == labels + ["se(Intercept)", "se(Days)", "converged"]
    assert a.attrs["generating"] == pytest.approx(reporting.parameter_table(res)["estimate"].to_dict())
    assert a["converged"].all()
    c = reporting.parametric_bootstrap(res, n_boot=20, seed=6)
    assert not np.allclose(a["Days"], c["Days"])


def test_bootstrap_sd_of_fixed_effects_matches_wald_se(sleep_fits):
    res = sleep_fits["M1 intercepts"]
    boot = reporting.parametric_bootstrap(res, n_boot=300, seed=11)
    for name in ("Intercept", "Days"):
        assert boot[name].std() == pytest.approx(res.fixed.loc[name, "se"], rel=0.15)
        assert boot[f"se({name})"].mean() == pytest.approx(res.fixed.loc[name, "se"], rel=0.1)


@pytest.mark.slow
def test_simulation_from_truth_recovers_it():
    df = mh.simulate_two_level(60, 15, beta0=10, beta1=2, tau00=4, tau11=1, tau01=0.5, sigma2=9, seed=2)
    res = mh.fit("y ~ x + (1 + x | group)", df)
    red = mh.fit("y ~ x + (1 | group)", df)
    truth = {"Intercept": 10, "x": 2, "group: var(Intercept)": 4, "group: var(x)": 1,
             "group: cov(Intercept, x)": 0.5, "Residual: var": 9}
    sims = reporting.parametric_bootstrap(res, n_boot=150, seed=3, truth=truth, reduced=red)
    assert sims.attrs["generating"] == truth
    assert sims["converged"].all() and (sims["lrt_statistic"] >= 0).all()
    for name, value in truth.items():
        sd = sims[name].std()
        assert abs(sims[name].mean() - value) < 4 * sd / np.sqrt(len(sims)) + 0.05 * abs(value), name
    covered = (np.abs(sims["x"] - 2) <= 1.96 * sims["se(x)"]).mean()
    assert 0.88 <= covered <= 0.99
    # a slope variance of 1 with 60 groups of 15 is detected almost always
    p = np.array([mh.chibar_pvalue(s, {1: 0.5, 2: 0.5}) for s in sims["lrt_statistic"]])
    assert (p < 0.05).mean() > 0.8


@pytest.mark.slow
def test_bootstrap_under_the_null_gives_small_lrt_statistics(sleep_fits):
    """Under the null (no slope variance) the simulated statistics are small; the real one is not."""
    ri, rs = sleep_fits["M1 intercepts"], sleep_fits["M2 slopes"]
    null = reporting.parametric_bootstrap(ri, n_boot=3, seed=1)  # shape check only
    assert "lrt_statistic" not in null.columns
    truth = {"Intercept": 251.4, "Days": 10.47, "Subject: var(Intercept)": 1378.2, "Subject: var(Days)": 0.0,
             "Subject: cov(Intercept, Days)": 0.0, "Residual: var": 960.5}
    sims = reporting.parametric_bootstrap(rs, n_boot=30, seed=4, truth=truth, reduced=ri)
    # Most replicates are singular fits (the slope variance is 0) and go to the full engine, which can
    # flag such a fit as not converged on a Newton decrement of about -1e-11 (reported upstream).
    assert sims["converged"].mean() >= 0.9
    assert np.quantile(sims["lrt_statistic"], 0.9) < 8
    assert mh.lrt(ri, rs).statistic > 40


def test_bootstrap_bad_input(sleep_fits):
    res = sleep_fits["M2 slopes"]
    with pytest.raises(mh.MLMInputError, match="n_boot"):
        reporting.parametric_bootstrap(res, n_boot=1)
    with pytest.raises(mh.MLMInputError, match="every parameter"):
        reporting.parametric_bootstrap(res, n_boot=5, truth={"Intercept": 1})
    bad = reporting.parameter_table(res)["estimate"].to_dict()
    bad["Subject: cov(Intercept, Days)"] = 1000.0
    with pytest.raises(mh.MLMInputError, match="positive"):
        reporting.parametric_bootstrap(res, n_boot=5, truth=bad)
    with pytest.raises(mh.MLMInputError, match="result of mh.fit"):
        reporting.parametric_bootstrap(res, n_boot=5, reduced="M1")
    other = mh.fit("Reaction ~ 1 + (1 | Subject)", mh.load_dataset("sleepstudy"))
    with pytest.raises(mh.MLMInputError, match="reml=False"):
        reporting.parametric_bootstrap(res, n_boot=5, reduced=other)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two = mh.fit("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"))
    with pytest.raises(mh.MLMInputError, match="one grouping"):
        reporting.parametric_bootstrap(two, n_boot=5)


# ------------------------------------------------------------------------------------------------ truth table
def test_truth_table(sleep_fits):
    res = sleep_fits["M2 slopes"]
    truth = {"Intercept": 250.0, "Days": 10.0, "Subject: var(Days)": 30.0}
    tab = reporting.truth_table(res, truth)
    assert list(tab.columns) == ["truth", "estimate", "se", "se_method", "error", "z"]
    assert tab.loc["Days", "error"] == pytest.approx(res.fixed.loc["Days", "estimate"] - 10)
    assert tab.loc["Days", "z"] == pytest.approx(tab.loc["Days", "error"] / res.fixed.loc["Days", "se"])
    assert np.isnan(tab.loc["Residual: var", "truth"])
    assert tab.loc["Days", "se_method"] == "Wald" and tab.loc["Subject: var(Days)", "se_method"] == ""
    boot = reporting.parametric_bootstrap(res, n_boot=30, seed=2)
    tab2 = reporting.truth_table(res, truth, draws=boot)
    assert tab2.loc["Subject: var(Days)", "se"] == pytest.approx(boot["Subject: var(Days)"].std())
    assert tab2.loc["Subject: var(Days)", "se_method"] == "bootstrap"
    assert tab2.loc["Days", "se"] == tab.loc["Days", "se"]
    with pytest.raises(mh.MLMInputError, match="Unknown parameter labels"):
        reporting.truth_table(res, {"slope": 1.0})
    with pytest.raises(mh.MLMInputError, match="no column"):
        reporting.truth_table(res, truth, draws=boot.drop(columns="Subject: var(Days)"))
