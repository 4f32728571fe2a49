"""mh.check_answer: every registered answer is what the chapter's solution computes and prints.

For each exercise the solution's own code (from the ```python block of its dropdown in the
chapter notebook) is repeated here, independently of mlm_helpers.exercises, and the result
must be judged "correct"; so must the rounded numbers the solution's text quotes.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.datasets import grunfeld

import mlm_helpers as mh
from mlm_helpers import (
    bayes,
    casestudies,
    centring,
    clustering,
    designs,
    diagnostics,
    exercises,
    pooling,
    shrinkage_explorer,
    simstudy,
    slopes_explorer,
)
from mlm_helpers.errors import FewGroupsWarning, MLMInputError, SingularFitWarning

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():  # the solutions show these warnings on purpose
        warnings.simplefilter("ignore", FewGroupsWarning)
        warnings.simplefilter("ignore", SingularFitWarning)
        yield


@pytest.fixture(scope="module")
def hsb():
    return mh.load_dataset("hsb")


@pytest.fixture(scope="module")
def schools():
    return mh.load_dataset("hsb_schools")


@pytest.fixture(scope="module")
def sector_data(hsb, schools):
    return hsb.merge(schools[["School", "Sector"]], on="School", validate="many_to_one")


def _solutions(hsb, schools, sector_data) -> dict[tuple[str, str], float]:
    """Each solution's computation, as in the chapter (code copied from the dropdowns)."""
    out: dict[tuple[str, str], float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewGroupsWarning)
        warnings.simplefilter("ignore", SingularFitWarning)
        # ex-00-sector
        out["ex-00-sector", "share_catholic"] = (schools["Sector"] == "Catholic").mean()
        for sector, sub in sector_data.groupby("Sector"):
            f = smf.mixedlm("MathAch ~ 1", sub, groups="School").fit(reml=True, method=["powell", "lbfgs"])
            t, s = f.cov_re.iloc[0, 0], f.scale
            out["ex-00-sector", f"icc_{sector.lower()}"] = t / (t + s)
        # ex-00-meanses
        means = hsb.groupby("School")["MathAch"].mean().rename("mean_MathAch")
        both = schools.set_index("School")[["MEANSES"]].join(means)
        out["ex-00-meanses", "correlation"] = both["MEANSES"].corr(both["mean_MathAch"])
        out["ex-00-meanses", "slope"] = np.polyfit(both["MEANSES"], both["mean_MathAch"], 1)[0]
        # ex-00-simulate
        for part, (t_true, s_true) in {"icc_05": (20, 20), "icc_005": (2, 38)}.items():
            sim = mh.simulate_two_level(160, 45, beta0=12.6, tau00=t_true, sigma2=s_true, seed=3)
            f = smf.mixedlm("y ~ 1", sim, groups="group").fit(reml=True, method=["powell", "lbfgs"])
            t, s = f.cov_re.iloc[0, 0], f.scale
            out["ex-00-simulate", part] = t / (t + s)
        # ex-00-predict (no code)
        out["ex-00-predict", "icc_before"] = 10 / (10 + 40)
        out["ex-00-predict", "icc_after"] = 10 / (10 + 4 * 40)
        # ex-01-predict (no code: the slope design effect by hand)
        out["ex-01-predict", "design_effect_income"] = 1 + (50 - 1) * 0.5 * 0.2
        # ex-01-hsb-deff
        ols0 = smf.ols("MathAch ~ 1", data=hsb).fit()
        ri = mh.fit("MathAch ~ 1 + (1 | School)", hsb)
        se_o, se_m = ols0.bse["Intercept"], ri.fixed.loc["Intercept", "se"]
        d = mh.design_effect(ri.icc, hsb.groupby("School").size().mean())
        out["ex-01-hsb-deff", "variance_ratio"] = (se_m / se_o) ** 2
        out["ex-01-hsb-deff", "design_effect"] = d
        out["ex-01-hsb-deff", "effective_n"] = len(hsb) / d
        # ex-01-subsample
        full_means = hsb.groupby("School")["MathAch"].mean()
        sub = hsb.groupby("School", group_keys=False).sample(n=5, random_state=1)
        sub_est = pooling.pooling_estimates(sub, "MathAch", "School")
        truth = full_means.loc[sub_est.index]
        for column, part in [("no_pooling", "rmse_none"), ("partial_pooling", "rmse_partial"),
                             ("complete_pooling", "rmse_complete")]:
            out["ex-01-subsample", part] = np.sqrt(((sub_est[column] - truth) ** 2).mean())
        out["ex-01-subsample", "shrinkage"] = sub_est["shrinkage"].iloc[0]
        # ex-01-design
        for J, m in [(10, 60), (60, 10)]:
            tab = clustering.ols_coverage(0.1, n_groups=J, group_size=m, n_reps=1000, seed=7)
            row = tab[(tab["term"] == "Intercept") & (tab["method"] == "OLS")]
            out["ex-01-design", f"ols_coverage_{J}x{m}"] = row["coverage"].iloc[0]
        out["ex-01-design", "design_effect_10x60"] = mh.design_effect(0.1, 60)
        # ex-02-dyestuff, ex-02-sleep, ex-02-plan
        r = mh.icc(mh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff")))
        out["ex-02-dyestuff", "icc"], out["ex-02-dyestuff", "ci_lower"] = r.estimate, r.ci_lower
        out["ex-02-dyestuff", "ci_upper"] = r.ci_upper
        sleep = mh.load_dataset("sleepstudy")
        sleep_fit = mh.fit("Reaction ~ 1 + (1 | Subject)", sleep)
        d = mh.design_effect(sleep_fit.icc, 10)
        out["ex-02-sleep", "icc"], out["ex-02-sleep", "design_effect"] = sleep_fit.icc, d
        out["ex-02-sleep", "effective_n"] = len(sleep) / d
        for m in (25, 50):
            out["ex-02-plan", f"schools_{m}"] = math.ceil(400 * mh.design_effect(0.18, m) / m)
        # ex-02-read (no code: from a printout)
        out["ex-02-read", "icc"] = 4.0 / (4.0 + 36.0)
        out["ex-02-read", "design_effect"] = mh.design_effect(0.1, 30)
        out["ex-02-read", "effective_n"] = 1500 / mh.design_effect(0.1, 30)
        # ex-04-predict (no code)
        out["ex-04-predict", "var_a"] = 36.7 / 25
        out["ex-04-predict", "lambda_a"] = 0.69 / (0.69 + 36.7 / 25)
        out["ex-04-predict", "lambda_b"] = 0.69 / (0.69 + 36.7 / 1.6)
        # ex-03-predict (no code)
        out["ex-03-predict", "lambda_10"] = 4.8 / (4.8 + 37 / 10)
        out["ex-03-predict", "lambda_100"] = 4.8 / (4.8 + 37 / 100)
        # ex-03-meanses, ex-03-by-hand, ex-03-explorer
        result = mh.fit("MathAch ~ SES + (1 | School)", hsb)
        tau00, sigma2 = result.varcorr["vcov"].iloc[0], result.sigma2
        both_fit = mh.fit("MathAch ~ SES + Sector + MEANSES + (1 | School)", sector_data)
        tau00_both = both_fit.varcorr["vcov"].iloc[0]
        out["ex-03-meanses", "tau00"], out["ex-03-meanses", "explained"] = tau00_both, 1 - tau00_both / tau00
        out["ex-03-meanses", "ses"] = both_fit.fixed.loc["SES", "estimate"]
        out["ex-03-meanses", "meanses"] = both_fit.fixed.loc["MEANSES", "estimate"]
        n = hsb.groupby("School").size()
        lam_j = tau00 / (tau00 + sigma2 / n.max())
        out["ex-03-by-hand", "lambda"], out["ex-03-by-hand", "cond_sd"] = lam_j, np.sqrt(tau00 * (1 - lam_j))
        out["ex-03-by-hand", "n_for_sd_05"] = sigma2 * (1 / 0.5**2 - 1 / tau00)
        out["ex-03-explorer", "n_half"] = shrinkage_explorer.compute(10, 0.1)["n_half"]
        draws = [shrinkage_explorer.compute(5, 0.1, seed=s) for s in range(100)]
        out["ex-03-explorer", "wins"] = sum(d["mse_shrunk"] < d["mse_raw"] for d in draws)
        out["ex-03-explorer", "singular"] = sum(d["singular"] for d in draws)
        # ex-04-uncentred, ex-04-sleep-vpc, ex-04-explorer
        c = mh.centring.centre_within(hsb, "SES", "School")
        unc = mh.fit("MathAch ~ SES + SES_gm + (SES | School)", c)
        out["ex-04-uncentred", "loglik"], out["ex-04-uncentred", "tau11"] = unc.loglik, unc.varcorr["vcov"].iloc[1]
        rs = mh.fit("Reaction ~ Days + (Days | Subject)", sleep)
        t00, t11, t01 = rs.varcorr["vcov"].iloc[0], rs.varcorr["vcov"].iloc[1], rs.varcorr["vcov"].iloc[2]
        for day in (0, 9):
            between_d = t00 + 2 * t01 * day + t11 * day**2
            out["ex-04-sleep-vpc", f"share_day{day}"] = between_d / (between_d + rs.sigma2)
        out["ex-04-sleep-vpc", "closest_day"] = -t01 / t11
        out["ex-04-explorer", "x_cross"] = slopes_explorer.compute(tau11=1.6, corr=1.0)["x_min"]
        out["ex-04-explorer", "vpc_x2"] = slopes_explorer.compute(tau11=1.6, corr=0.0)["vpc_at"][2.0]
        # ex-05-sleep, ex-05-grid, ex-05-groupsize, ex-05-prior
        ri_reml = mh.fit("Reaction ~ Days + (1 | Subject)", sleep)
        ri_ml = mh.fit("Reaction ~ Days + (1 | Subject)", sleep, reml=False)
        out["ex-05-sleep", "pct_lower"] = 100 * (1 - ri_ml.varcorr["vcov"].iloc[0] / ri_reml.varcorr["vcov"].iloc[0])
        null = mh.fit("MathAch ~ 1 + (1 | School)", hsb)
        grid = np.linspace(0, 1, 2001)
        t_best = grid[np.argmin(mh.profiled_deviance(null, grid))]  # as appendix A1's solution
        out["ex-05-grid", "theta"] = t_best
        out["ex-05-grid", "tau00"] = t_best**2 * mh.deviance_parts(null, t_best).sigma2
        out["ex-05-shortfall", "shortfall"] = (4 + 50 / 25) / 8
        dye_theta = mh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff")).theta[0]
        out["ex-05-cholesky", "L_j"] = np.sqrt(dye_theta**2 * 5 + 1)
        for m in (5, 20, 80):
            tab = simstudy.ml_vs_reml_bias(10, m, tau00=4.0, sigma2=16.0, n_reps=4000, seed=1)
            out["ex-05-groupsize", f"ml_bias_{m}"] = tab.loc["ML", "bias_tau00"]
        dye = mh.load_dataset("dyestuff")
        for part, prior in (("median_default", None), ("median_scale1", bayes.HalfCauchy(1.0))):
            draws = bayes.gibbs_random_intercept("Yield ~ 1 + (1 | Batch)", dye, n_iter=6000, prior_tau00=prior, seed=1)
            out["ex-05-prior", part] = np.sqrt(draws["tau00"]).median()
        # ex-06-sector, ex-06-dyestuff, ex-06-power, ex-06-read
        base = mh.fit("MathAch ~ SES + (1 | School)", sector_data)
        sector = mh.fit("MathAch ~ SES + Sector + (1 | School)", sector_data)
        out["ex-06-sector", "lr"] = mh.lrt(base, sector).statistic
        out["ex-06-sector", "sector"] = sector.fixed.loc["Sector[T.Public]", "estimate"]
        dye = mh.load_dataset("dyestuff")
        dye_test = mh.lrt(mh.fit("Yield ~ 1", dye), mh.fit("Yield ~ 1 + (1 | Batch)", dye))
        out["ex-06-dyestuff", "lr"] = dye_test.statistic
        out["ex-06-dyestuff", "p_mixture"] = dye_test.p_mixture
        out["ex-06-read", "p_mixture"] = 0.0736 / 2
        for tau, tag in ((0.05, "005"), (0.1, "01")):
            alt = simstudy.lrt_distribution(30, 10, n_reps=4000, tau00=tau, sigma2=1.0, seed=2)
            power = simstudy.rejection_rates(alt, alpha=0.05)
            out["ex-06-power", f"corrected_{tag}"] = power["mixture"]
            if tag == "005":
                out["ex-06-power", "naive_005"] = power["naive"]
        # ex-07-hsb
        h = hsb.copy()
        h["SES_gm"] = h.groupby("School")["SES"].transform("mean")
        h["SES_c"] = h["SES"] - h["SES_gm"]
        m0 = mh.fit("MathAch ~ 1 + (1 | School)", h)
        m1 = mh.fit("MathAch ~ SES_c + SES_gm + (1 | School)", h)
        m2 = mh.fit("MathAch ~ SES_c + SES_gm + (1 + SES_c | School)", h)
        fx = m2.fixed["estimate"]
        out["ex-07-hsb", "icc"], out["ex-07-hsb", "lr"] = mh.icc(m0).estimate, mh.lrt(m1, m2).statistic
        out["ex-07-hsb", "contextual"] = fx["SES_gm"] - fx["SES_c"]
        # ex-07-context and ex-07-fewer: the chapter's generator (first code cell of chapter 07)
        for n_schools, seed in ((50, 2026), (15, 2027)):
            rng = np.random.default_rng(seed)
            sizes = rng.integers(15, 41, size=n_schools)
            data = mh.simulate_two_level(
                n_schools, sizes, beta0=72, beta1=3, tau00=17, tau11=2.4, tau01=-2.0, sigma2=45,
                x_sd=0.8, x_between_sd=0.6, seed=rng,
            ).rename(columns={"group": "school", "x": "ses", "y": "math"})
            if n_schools == 50:
                data["ses_gm"] = data.groupby("school")["ses"].transform("mean")
                m2_sim = mh.fit("math ~ ses + (1 + ses | school)", data)
                m_ctx = mh.fit("math ~ ses + ses_gm + (1 + ses | school)", data)
                out["ex-07-context", "coef"] = m_ctx.fixed.loc["ses_gm", "estimate"]
                out["ex-07-context", "p"] = mh.lrt(m2_sim, m_ctx).p_naive
            else:
                m1_15 = mh.fit("math ~ ses + (1 | school)", data)
                m2_15 = mh.fit("math ~ ses + (1 + ses | school)", data)
                out["ex-07-fewer", "p_2027"] = mh.lrt(m1_15, m2_15).p_mixture
                out["ex-07-fewer", "se_intercept_2027"] = m2_15.fixed.loc["Intercept", "se"]
        # ex-08-penicillin
        pen = mh.load_dataset("penicillin")
        for factor, tag in (("plate", "plates"), ("sample", "samples")):
            one = mh.fit(f"diameter ~ 1 + (1 | {factor})", pen)
            out["ex-08-penicillin", f"sigma2_{tag}"] = one.sigma2
            out["ex-08-penicillin", f"se_{tag}"] = one.fixed.loc["Intercept", "se"]
        # ex-08-fully
        hits = {"crossed": [], "students_only": []}
        for rep in range(50):
            sim = designs.simulate_crossed(40, 10, tau_a=4, tau_b=2, sigma2=9, a_effect=1.0,
                                           b_effect=1.0, seed=2000 + rep)
            for label, groups in [("crossed", ["student", "rater"]), ("students_only", ["student"])]:
                formula = "y ~ x_student + x_rater" + "".join(f" + (1 | {g})" for g in groups)
                est, se = mh.fit(formula, sim, engine="intercepts").fixed.loc["x_rater", ["estimate", "se"]]
                hits[label].append(abs(est - 1) <= 1.96 * se)
        for label, h in hits.items():
            out["ex-08-fully", f"coverage_{label}"] = np.mean(h)
        # ex-08-predict (the solution's code: every rater marks every student)
        full = designs.simulate_crossed(40, 10, per_a=None, tau_a=4, tau_b=2, sigma2=9,
                                        a_effect=1.0, b_effect=1.0, seed=2)
        fit_full = mh.fit("y ~ x_student + x_rater + (1 | student) + (1 | rater)", full)
        out["ex-08-predict", "se_rater"] = fit_full.fixed.loc["x_rater", "se"]
        # ex-09-pastes, ex-09-middle (the chapter's pupils: first code cell of chapter 09)
        casks_only = mh.fit("strength ~ 1 + (1 | sample)", mh.load_dataset("pastes"))
        out["ex-09-pastes", "loglik"] = casks_only.loglik
        out["ex-09-pastes", "cask_var"] = casks_only.varcorr["vcov"].iloc[0]
        out["ex-09-pastes", "se"] = casks_only.fixed.loc["Intercept", "se"]
        pupils = designs.simulate_three_level(20, 3, 10, tau_school=4, tau_class=2, sigma2=20,
                                              school_effect=1.0, pupil_effect=2.0, seed=9)
        schools_only = mh.fit("y ~ w + x + (1 | school)", pupils)
        out["ex-09-middle", "school_var"] = schools_only.varcorr["vcov"].iloc[0]
        out["ex-09-middle", "sigma2"] = schools_only.sigma2
        out["ex-09-middle", "se_w"] = schools_only.fixed.loc["w", "se"]
        out["ex-09-middle", "se_x"] = schools_only.fixed.loc["x", "se"]
        # ex-09-slope (the solution's code), checked against lme4 in test_ex09_slope_lme4.py
        slope = np.random.default_rng(19).normal(0, 1, 20)
        pupils_rs = pupils.copy()
        pupils_rs["y"] += slope[pupils_rs["school"].str[1:].astype(int)] * pupils_rs["x"]
        rs09 = mh.fit("y ~ w + x + (1 + x | school) + (1 | class)", pupils_rs)
        v00, v11, v01, v_u = rs09.varcorr["vcov"].iloc[:4]
        out["ex-09-slope", "tau11"] = v11
        for x in (0, 2):
            school = v00 + 2 * v01 * x + v11 * x**2
            total = school + v_u + rs09.sigma2
            out["ex-09-slope", f"vpc_school_{x}"] = school / total
            if x == 0:
                out["ex-09-slope", "vpc_class_0"] = v_u / total
                out["ex-09-slope", "vpc_pupil_0"] = rs09.sigma2 / total
        # ex-09-variance
        without_x = mh.fit("y ~ w + (1 | school/class)", pupils)
        out["ex-09-variance", "sigma2_without_x"] = without_x.sigma2
        out["ex-09-variance", "class_var_without_x"] = without_x.varcorr["vcov"].iloc[1]
        # ex-10-end (the chapter's describe(): tau01 / sqrt(tau00 * tau11)), checked by its formula too
        s9 = sleep.copy()
        s9["Days_9"] = s9["Days"] - 9
        end = mh.fit("Reaction ~ Days_9 + (Days_9 | Subject)", s9)
        v = end.varcorr["vcov"].to_numpy()
        out["ex-10-end", "intercept"], out["ex-10-end", "sd_intercept"] = end.fixed["estimate"].iloc[0], np.sqrt(v[0])
        out["ex-10-end", "corr"] = v[2] / np.sqrt(v[0] * v[1])
        corr_at_9 = (t01 + 9 * t11) / np.sqrt((t00 + 2 * 9 * t01 + 81 * t11) * t11)
        assert abs(corr_at_9 - out["ex-10-end", "corr"]) < 1e-3
        # ex-10-weeks: every "per day" quantity scales with 7, the REML log-likelihood shifts by log 7
        sw = sleep.copy()
        sw["Weeks"] = sw["Days"] / 7
        weeks = mh.fit("Reaction ~ Weeks + (Weeks | Subject)", sw)
        out["ex-10-weeks", "slope"] = weeks.fixed.loc["Weeks", "estimate"]
        out["ex-10-weeks", "tau11"] = weeks.varcorr["vcov"].iloc[1]
        out["ex-10-weeks", "loglik"] = weeks.loglik
        assert abs(weeks.varcorr["vcov"].iloc[1] - 49 * t11) < 1e-3 * 49 * t11
        assert abs(weeks.loglik - (rs.loglik + math.log(7))) < 1e-4
        # ex-11-332, ex-11-sleep-influence, ex-11-funnel (rs is chapter 11's sleep_fit)
        table = diagnostics.residual_table(rs)
        fit_wo = mh.fit("Reaction ~ Days + (Days | Subject)", sleep.drop(index=table["residual"].abs().idxmax()))
        out["ex-11-332", "slope"], out["ex-11-332", "sigma2"] = fit_wo.fixed.loc["Days", "estimate"], fit_wo.sigma2
        out["ex-11-332", "sd_slope"] = float(fit_wo.varcorr["sdcor"].iloc[1])
        sleep_infl = diagnostics.influence(rs)
        out["ex-11-sleep-influence", "cooks_subject"] = int(sleep_infl["cooks_d"].idxmax())
        out["ex-11-sleep-influence", "cooks_max"] = sleep_infl["cooks_d"].max()
        out["ex-11-sleep-influence", "slope_var_subject"] = int(sleep_infl["rel_var(Days)"].idxmin())
        out["ex-11-sleep-influence", "rel_var_min"] = sleep_infl["rel_var(Days)"].min()
        rng = np.random.default_rng(3)
        g = np.repeat(np.arange(40), 20)
        x = rng.normal(0, 1, 800)
        y = 1 + 0.5 * x + rng.normal(0, 1, 40)[g] + (0.5 + 0.5 * np.abs(x)) * rng.normal(0, 1, 800)
        funnel = mh.fit("y ~ x + (1 | g)", pd.DataFrame({"g": g, "x": x, "y": y}))
        out["ex-11-funnel", "p"] = diagnostics.variance_test(funnel)["p"]
        # ex-11-slope (chapter 11's df_out with one outlying group, fitted with a random slope)
        df_out = mh.simulate_two_level(30, 15, beta0=0.0, beta1=0.5, tau00=1.0, sigma2=1.0, seed=5)
        bad = df_out["group"] == df_out["group"].iloc[0]
        df_out.loc[bad, "y"] += 3.0 * df_out.loc[bad, "x"]
        rs_out = mh.fit("y ~ x + (1 + x | group)", df_out)
        out["ex-11-slope", "sigma2"], out["ex-11-slope", "se"] = rs_out.sigma2, rs_out.fixed.loc["x", "se"]
        out["ex-11-slope", "dfbeta"] = diagnostics.influence(rs_out).loc[str(df_out["group"].iloc[0]), "dfbeta_x"]
        # ex-13-hsb (case 1's data: first code cells of chapter 13)
        h13 = centring.centre_within(sector_data.copy(), "SES", "School")
        m5 = mh.fit("MathAch ~ SES_c * Sector + SES_gm + Minority + Sex + (1 + SES_c | School)", h13)
        row = m5.fixed.loc["Sector[T.Public]"]
        out["ex-13-hsb", "gap"], out["ex-13-hsb", "gap_ci_lower"] = row["estimate"], row["ci_lower"]
        out["ex-13-hsb", "gap_ci_upper"] = row["ci_upper"]
        out["ex-13-hsb", "slope_difference"] = m5.fixed.loc["SES_c:Sector[T.Public]", "estimate"]
        m4 = mh.fit("MathAch ~ SES_c * Sector + SES_gm + (1 + SES_c | School)", h13)  # ex-13-read
        out["ex-13-read", "slope_public"] = m4.fixed.loc["SES_c", "estimate"] + m4.fixed.loc["SES_c:Sector[T.Public]", "estimate"]
        out["ex-13-hsb", "tau00"], out["ex-13-hsb", "tau11"] = m5.varcorr["vcov"].iloc[0], m5.varcorr["vcov"].iloc[1]
        # ex-13-few
        pilot = casestudies.simulate_hospitals(n_hospitals=8, seed=1)
        p_rs = mh.fit("reduction ~ treat + age_c + baseline_c + (1 + treat | hospital)", pilot)
        new = casestudies.new_group_effect(p_rs, "treat")
        out["ex-13-few", "n_patients"], out["ex-13-few", "effect"] = len(pilot), new["estimate"]
        for part, key in (("sd_between", "sd_between"), ("pi_lower", "pi_lower"), ("pi_upper", "pi_upper"),
                          ("share_helped", "share_positive")):
            out["ex-13-few", part] = new[key]
        # ex-13-grunfeld (case 3's compare_se table)
        panel = grunfeld.load_pandas().data
        g_pool = smf.ols("invest ~ value + capital", panel).fit()
        out["ex-13-grunfeld", "se_pooled"] = g_pool.bse["capital"]
        out["ex-13-grunfeld", "se_ri"] = mh.fit("invest ~ value + capital + (1 | firm)", panel).fixed.loc["capital", "se"]
        out["ex-13-grunfeld", "se_fe"] = smf.ols("invest ~ value + capital + C(firm)", panel).fit().bse["capital"]
        panel["ols_resid"] = g_pool.resid
        out["ex-13-grunfeld", "icc_resid"] = mh.icc_anova(panel, "ols_resid", "firm").icc
        # ex-14-* (the capstone: its setup cell and the solutions' code)
        chem = mh.load_dataset("chem97")
        chem["gcse"] = chem["gcsescore"] - chem["gcsescore"].mean()
        chem = mh.centre_within(chem, "gcse", "school")
        size = chem.groupby("school").size()
        out["ex-14-look", "median_size"], out["ex-14-look", "single"] = size.median(), (size == 1).sum()
        c0 = mh.fit("score ~ 1 + (1 | school)", chem)
        out["ex-14-null", "tau00"], out["ex-14-null", "icc"] = c0.varcorr["vcov"].iloc[0], mh.icc(c0).estimate
        out["ex-14-null", "design_effect"] = mh.design_effect(mh.icc(c0).estimate, size.mean())
        c1 = mh.fit("score ~ gcse_c + gcse_gm + (1 | school)", chem)
        fx1 = c1.fixed["estimate"]
        out["ex-14-context", "within"], out["ex-14-context", "between"] = fx1["gcse_c"], fx1["gcse_gm"]
        out["ex-14-context", "contextual"] = fx1["gcse_gm"] - fx1["gcse_c"]
        out["ex-14-context", "tau00_explained"] = 1 - c1.varcorr["vcov"].iloc[0] / c0.varcorr["vcov"].iloc[0]
        c2 = mh.fit("score ~ gcse_c + gcse_gm + (1 + gcse_c | school)", chem)
        out["ex-14-slope", "lr"], out["ex-14-slope", "sd_slope"] = mh.lrt(c1, c2).statistic, c2.varcorr["sdcor"].iloc[1]
        cg = mh.fit("score ~ gender + (1 | school)", chem)
        c3 = mh.fit("score ~ gcse_c + gcse_gm + gender + (1 + gcse_c | school)", chem)
        out["ex-14-gender", "gap_raw"] = cg.fixed.loc["gender[T.M]", "estimate"]
        out["ex-14-gender", "gap_adjusted"] = c3.fixed.loc["gender[T.M]", "estimate"]
        out["ex-14-check", "share_above_10"] = (diagnostics.residual_table(c3)["fitted"] > 10).mean()
        cl = mh.fit("score ~ gcse_c + gcse_gm + (1 | lea) + (1 | school)", chem)
        vl = cl.varcorr.set_index("group")["vcov"]
        out["ex-14-lea", "tau_lea"] = vl["lea"]
        out["ex-14-lea", "share_moved"] = 1 - vl["school"] / c1.varcorr["vcov"].iloc[0]
    return out


# The rounded numbers each solution's text quotes (chapters/NN_*.ipynb, solution dropdowns).
QUOTED = {
    ("ex-00-sector", "share_catholic"): 0.4375, ("ex-00-sector", "icc_catholic"): 0.16,
    ("ex-00-sector", "icc_public"): 0.13, ("ex-00-meanses", "correlation"): 0.78,
    ("ex-00-meanses", "slope"): 5.9, ("ex-00-simulate", "icc_05"): 0.49, ("ex-00-simulate", "icc_005"): 0.05,
    ("ex-00-predict", "icc_before"): 0.2, ("ex-00-predict", "icc_after"): 0.059,
    ("ex-01-predict", "design_effect_income"): 5.9, ("ex-01-hsb-deff", "variance_ratio"): 9.1, ("ex-01-hsb-deff", "design_effect"): 8.92,
    ("ex-01-hsb-deff", "effective_n"): 806, ("ex-01-subsample", "rmse_partial"): 1.99,
    ("ex-01-subsample", "rmse_none"): 2.44, ("ex-01-subsample", "rmse_complete"): 3.11,
    ("ex-01-subsample", "shrinkage"): 0.49, ("ex-01-design", "ols_coverage_10x60"): 0.53,
    ("ex-01-design", "ols_coverage_60x10"): 0.84, ("ex-01-design", "design_effect_10x60"): 6.9,
    ("ex-02-dyestuff", "icc"): 0.418, ("ex-02-dyestuff", "ci_lower"): 0.069, ("ex-02-dyestuff", "ci_upper"): 0.819,
    ("ex-02-sleep", "icc"): 0.395, ("ex-02-sleep", "design_effect"): 4.55, ("ex-02-sleep", "effective_n"): 40,
    ("ex-02-plan", "schools_25"): 86, ("ex-02-plan", "schools_50"): 79,
    ("ex-02-read", "icc"): 0.1, ("ex-02-read", "design_effect"): 3.9, ("ex-02-read", "effective_n"): 385,
    ("ex-04-predict", "var_a"): 1.47, ("ex-04-predict", "lambda_a"): 0.32, ("ex-04-predict", "lambda_b"): 0.029,
    ("ex-03-predict", "lambda_10"): 0.565, ("ex-03-predict", "lambda_100"): 0.928,
    ("ex-03-meanses", "tau00"): 2.37, ("ex-03-meanses", "explained"): 0.50, ("ex-03-meanses", "ses"): 2.19,
    ("ex-03-meanses", "meanses"): 3.15, ("ex-03-by-hand", "lambda"): 0.896, ("ex-03-by-hand", "cond_sd"): 0.70,
    ("ex-03-by-hand", "n_for_sd_05"): 140, ("ex-03-explorer", "n_half"): 10, ("ex-03-explorer", "wins"): 98,
    ("ex-03-explorer", "singular"): 21, ("ex-04-uncentred", "loglik"): -23280.710,
    ("ex-04-uncentred", "tau11"): 0.453, ("ex-04-sleep-vpc", "share_day0"): 0.48,
    ("ex-04-sleep-vpc", "share_day9"): 0.85, ("ex-04-sleep-vpc", "closest_day"): -0.27,
    ("ex-04-explorer", "x_cross"): -1.30, ("ex-04-explorer", "vpc_x2"): 0.199, ("ex-05-sleep", "pct_lower"): 5.9,
    ("ex-05-grid", "theta"): 0.469, ("ex-05-shortfall", "shortfall"): 0.75,
    ("ex-05-cholesky", "L_j"): 2.14, ("ex-05-grid", "tau00"): 8.61, ("ex-05-groupsize", "ml_bias_5"): -0.69,
    ("ex-05-groupsize", "ml_bias_20"): -0.49, ("ex-05-groupsize", "ml_bias_80"): -0.45,
    ("ex-05-prior", "median_default"): 44.2, ("ex-05-prior", "median_scale1"): 1.9,
    ("ex-06-sector", "lr"): 34.57, ("ex-06-sector", "sector"): -2.10, ("ex-06-dyestuff", "lr"): 6.37,
    ("ex-06-dyestuff", "p_mixture"): 0.0058, ("ex-06-read", "p_mixture"): 0.0368, ("ex-06-power", "corrected_005"): 0.43,
    ("ex-06-power", "corrected_01"): 0.81, ("ex-06-power", "naive_005"): 0.32, ("ex-07-hsb", "icc"): 0.18,
    ("ex-07-hsb", "lr"): 10.93, ("ex-07-hsb", "contextual"): 3.71, ("ex-07-context", "coef"): -1.34,
    ("ex-07-context", "p"): 0.22, ("ex-07-fewer", "p_2027"): 0.35, ("ex-07-fewer", "se_intercept_2027"): 0.92,
    ("ex-08-penicillin", "sigma2_plates"): 4.03, ("ex-08-penicillin", "se_plates"): 0.18,
    ("ex-08-penicillin", "sigma2_samples"): 1.02, ("ex-08-penicillin", "se_samples"): 0.79,
    ("ex-08-fully", "coverage_students_only"): 0.50, ("ex-08-fully", "coverage_crossed"): 0.90,
    ("ex-08-predict", "se_rater"): 0.97,
    ("ex-09-pastes", "loglik"): -123.824, ("ex-09-pastes", "cask_var"): 9.977, ("ex-09-pastes", "se"): 0.586,
    ("ex-09-middle", "school_var"): 6.76, ("ex-09-middle", "sigma2"): 20.84, ("ex-09-middle", "se_w"): 0.631,
    ("ex-09-middle", "se_x"): 0.187,
    ("ex-09-slope", "tau11"): 1.04, ("ex-09-slope", "vpc_school_0"): 0.215, ("ex-09-slope", "vpc_class_0"): 0.096,
    ("ex-09-slope", "vpc_pupil_0"): 0.689, ("ex-09-slope", "vpc_school_2"): 0.318,
    ("ex-09-variance", "sigma2_without_x"): 22.42, ("ex-09-variance", "class_var_without_x"): 2.72,
    ("ex-10-weeks", "slope"): 73.27, ("ex-10-weeks", "tau11"): 1718.5, ("ex-10-weeks", "loglik"): -869.87,
    ("ex-11-slope", "sigma2"): 1.03, ("ex-11-slope", "se"): 0.091, ("ex-11-slope", "dfbeta"): -0.92,
    ("ex-10-end", "intercept"): 345.6, ("ex-10-end", "sd_intercept"): 60.2,
    ("ex-10-end", "corr"): 0.91, ("ex-11-332", "slope"): 10.31, ("ex-11-332", "sigma2"): 518.8,
    ("ex-11-332", "sd_slope"): 6.12, ("ex-11-sleep-influence", "cooks_subject"): 309,
    ("ex-11-sleep-influence", "cooks_max"): 0.15, ("ex-11-sleep-influence", "slope_var_subject"): 335,
    ("ex-11-sleep-influence", "rel_var_min"): -0.27, ("ex-11-funnel", "p"): 0.95, ("ex-13-hsb", "gap"): -1.71,
    ("ex-13-hsb", "gap_ci_lower"): -2.26, ("ex-13-hsb", "gap_ci_upper"): -1.16,
    ("ex-13-hsb", "slope_difference"): 1.16, ("ex-13-read", "slope_public"): 2.79, ("ex-13-hsb", "tau00"): 1.80, ("ex-13-hsb", "tau11"): 0.20,
    ("ex-13-few", "n_patients"): 1029, ("ex-13-few", "effect"): 5.65, ("ex-13-few", "sd_between"): 0.95,
    ("ex-13-few", "pi_lower"): 3.30, ("ex-13-few", "pi_upper"): 8.00, ("ex-13-few", "share_helped"): 1.00,
    ("ex-13-grunfeld", "se_pooled"): 0.0242, ("ex-13-grunfeld", "se_ri"): 0.0164,
    ("ex-13-grunfeld", "se_fe"): 0.0165, ("ex-13-grunfeld", "icc_resid"): 0.67,
    ("ex-14-look", "median_size"): 8, ("ex-14-look", "single"): 162, ("ex-14-null", "tau00"): 2.88,
    ("ex-14-null", "icc"): 0.253, ("ex-14-null", "design_effect"): 4.00, ("ex-14-context", "within"): 2.45,
    ("ex-14-context", "between"): 2.61, ("ex-14-context", "contextual"): 0.16,
    ("ex-14-context", "tau00_explained"): 0.59, ("ex-14-slope", "lr"): 246.5, ("ex-14-slope", "sd_slope"): 0.52,
    ("ex-14-gender", "gap_raw"): -0.20, ("ex-14-gender", "gap_adjusted"): 0.74,
    ("ex-14-check", "share_above_10"): 0.020, ("ex-14-lea", "tau_lea"): 0.016, ("ex-14-lea", "share_moved"): 0.013,
}


def test_registry_and_quoted_numbers_cover_the_same_parts() -> None:
    assert set(QUOTED) == {(a.exercise, a.part) for a in exercises.REGISTRY}


def _exercise_labels_in(path: Path) -> list[str]:
    text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    return re.findall(r":::\{exercise\}\n:label: (\S+)", text)


APPENDICES = sorted((ROOT / "chapters").glob("A[0-9]_*.ipynb"))


def test_every_exercise_of_the_chapters_is_registered_or_skipped() -> None:
    """An appendix's exercises (chapters/AN_*) keep the labels of the chapter they came from, and
    count after that chapter's own: "05-4" is chapter 05's fourth exercise, core chapter first."""
    labels = set()
    in_appendices = [lab for path in APPENDICES for lab in _exercise_labels_in(path)]
    for path in sorted((ROOT / "chapters").glob("[01][0-9]_*.ipynb")):
        in_order = _exercise_labels_in(path)
        in_order += [lab for lab in in_appendices if lab.startswith(f"ex-{path.name[:2]}-")]
        labels |= set(in_order)
        assert exercises._chapter_labels(path.name[:2]) == in_order  # "08-2" is the book's second
    assert set(in_appendices) <= labels, "an appendix exercise whose label names no chapter"
    registered = {a.exercise for a in exercises.REGISTRY}
    assert labels and not registered & set(exercises.SKIPPED)
    assert labels == registered | set(exercises.SKIPPED)
    assert all(reason.strip() for reason in exercises.SKIPPED.values())


def test_skipped_exercises_say_why() -> None:
    with pytest.raises(MLMInputError, match="cannot be checked here: .*slow"):
        exercises.check_answer("12-power", 0.8)
    with pytest.raises(MLMInputError, match="ex-08-labels cannot be checked"):
        exercises.check_answer("08-2", 1)  # numbering follows the book, skipped exercises included
    assert exercises.check_answer("08-3", 0.5, part="coverage_students_only").exercise == "ex-08-fully"


@pytest.mark.slow
def test_solutions_pass_their_own_checks(hsb, schools, sector_data) -> None:
    computed = _solutions(hsb, schools, sector_data)
    assert set(computed) == set(QUOTED)
    failures = []
    for (label, part), value in computed.items():
        verdict = exercises.check_answer(label, float(value), part=part)
        if not verdict.ok:
            failures.append(f"{label}/{part}: {value!r}: {verdict}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("key", sorted(QUOTED), ids=lambda k: f"{k[0]}/{k[1]}")
def test_numbers_quoted_in_the_solutions_are_correct(key) -> None:
    assert exercises.check_answer(key[0], QUOTED[key], part=key[1]).verdict == "correct"


def test_close_and_not_yet_give_actionable_feedback() -> None:
    close = exercises.check_answer("ex-02-sleep", 0.40, part="icc")
    assert close.verdict == "close" and 'not within the ±0.0006 that "correct" allows' in close.message
    assert '"close" means within ±0.01' in close.message
    wrong = exercises.check_answer("ex-02-sleep", 0.2, part="icc")
    assert wrong.verdict == "not yet" and "Hint:" in wrong.message and "0.39" not in wrong.message
    assert wrong.message.startswith("not yet:")
    pct = exercises.check_answer("ex-00-sector", 43.75, part="share_catholic")
    assert pct.verdict == "not yet" and "factor of 100" in pct.message
    sd = exercises.check_answer("ex-03-meanses", math.sqrt(2.3687), part="tau00")
    assert "standard deviation where a variance" in sd.message
    sign = exercises.check_answer("ex-06-sector", 2.10, part="sector")
    assert "sign" in sign.message


def test_ids_can_be_given_three_ways() -> None:
    a = exercises.check_answer("ex-02-plan", 79, part="schools_50")
    b = exercises.check_answer("02-plan", 79, part="schools_50")
    c = exercises.check_answer("02-3", 79, part="schools_50")
    assert a.ok and b.ok and c.ok and a.exercise == b.exercise == c.exercise == "ex-02-plan"
    assert exercises.check_answer("ex-05-sleep", 5.9).ok  # one part: part may be left out


def test_bad_input_names_the_fix() -> None:
    with pytest.raises(MLMInputError, match="Did you mean 'ex-02-sleep'"):
        exercises.check_answer("ex-02-slep", 0.4, part="icc")
    with pytest.raises(MLMInputError, match="part="):
        exercises.check_answer("ex-02-sleep", 0.4)
    with pytest.raises(MLMInputError, match="no part 'ICC'"):
        exercises.check_answer("ex-02-sleep", 0.4, part="ICC")



# ---- what students pass: every wrong type gets a "not yet" that shows how to pass the number ----
@pytest.mark.parametrize("value", ["0.395", "0.4x", "", None, True, [0.1, 0.2], np.array([0.3, 0.4]),
                                   pd.DataFrame({"a": [1.0, 2.0]}), pd.Series({"estimate": 0.39, "se": 0.1}),
                                   object()], ids=repr)
def test_values_that_are_not_one_number_get_not_yet_with_the_call(value) -> None:
    check = exercises.check_answer("ex-02-sleep", value, part="icc")
    assert check.verdict == "not yet" and not check.ok and check.value is None
    assert check.message.startswith("not yet: ")
    assert "mh.check_answer('ex-02-sleep', " in check.message and "part='icc')" in check.message


def test_strings_are_never_accepted_as_numbers() -> None:
    right = exercises.reference_answer("ex-02-sleep", "icc")
    check = exercises.check_answer("ex-02-sleep", f"{right:.3f}", part="icc")
    assert check.verdict == "not yet" and "string" in check.message
    assert f"mh.check_answer('ex-02-sleep', {right:.3f}, part='icc')" in check.message  # without the quotes


def test_results_with_one_obvious_number_are_read() -> None:
    fit = mh.fit("Reaction ~ 1 + (1 | Subject)", mh.load_dataset("sleepstudy"))
    assert exercises.check_answer("ex-02-sleep", mh.icc(fit), part="icc").ok  # ICCResult: its estimate
    assert exercises.check_answer("ex-02-sleep", pd.Series([fit.icc]), part="icc").ok
    assert exercises.check_answer("ex-02-sleep", np.array([fit.icc]), part="icc").ok
    assert exercises.check_answer("ex-02-sleep", np.float64(fit.icc), part="icc").ok
    row = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy")).fixed.loc[["Days"], ["estimate"]]
    assert exercises.check_answer("ex-02-sleep", row, part="icc").verdict == "not yet"  # one number, not this one
    model = exercises.check_answer("ex-02-sleep", fit, part="icc")
    assert model.verdict == "not yet" and "MixedResult" in model.message and "result.icc" in model.message


def test_non_finite_numbers_get_not_yet() -> None:
    check = exercises.check_answer("ex-02-sleep", float("nan"), part="icc")
    assert check.verdict == "not yet" and "finite" in check.message


def test_whole_number_tolerance_reads_plainly() -> None:
    close = exercises.check_answer("ex-02-plan", 87, part="schools_25")
    assert close.verdict == "close"
    assert "a whole number that must match exactly" in close.message and "within 0" not in close.message
    assert close.message.count('"correct"') + close.message.count("(a whole number)") == 0


def test_hints_do_not_give_the_answer_away() -> None:
    """ex-03-explorer and ex-13-few once named the closed form / the exact call that gives the number."""
    n_half = exercises._BY_KEY[("ex-03-explorer", "n_half")]
    assert "sigma2 / n." not in n_half.hint and "solve" in n_half.hint
    patients = exercises._BY_KEY[("ex-13-few", "n_patients")]
    assert "len(" not in patients.hint and "simulate_hospitals(" not in patients.hint


def test_one_vocabulary() -> None:
    import inspect

    assert exercises.VERDICTS == ("correct", "close", "not yet")
    source = inspect.getsource(exercises)
    assert '"wrong"' not in source and "**wrong**" not in source


def test_list_exercises() -> None:
    table = exercises.list_exercises()
    assert list(table.columns) == ["exercise", "part", "chapter", "question", "tolerance"]
    assert len(table) == len(exercises.REGISTRY)
    assert set(exercises.list_exercises("05")["chapter"]) == {"05"}


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("[0-9A][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_every_exercises_section_shows_the_check_answer_call(path: Path) -> None:
    """Students meet the checker where they work: the chapter's exercises section shows the call.
    An appendix with exercises shows it too, for the chapter its exercises belong to."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    sections = ["".join(c["source"]) for c in nb["cells"]
                if c["cell_type"] == "markdown" and "## Exercises" in "".join(c["source"])]
    if path.name.startswith("A") and not _exercise_labels_in(path):
        assert not sections, f"{path.name}: an exercises section without exercises"
        return
    section = sections[0]
    flat = " ".join(section.split())
    calls = re.findall(r'mh\.check_answer\("([^"]+)", your_answer(?:, part="([^"]+)")?\)', flat)
    assert calls, f"{path.name}: no mh.check_answer call in the exercises section"
    label, part = calls[0]
    chapter = path.name[:2] if path.name[0].isdigit() else _exercise_labels_in(path)[0][3:5]
    if all(lab in exercises.SKIPPED for lab in exercises._chapter_labels(chapter)):
        assert "not this chapter's" in flat  # the call shown is another chapter's, and it says so
    else:
        assert label.startswith(f"ex-{chapter}-"), label
        exercises._lookup(label, part or None)  # the call names a real exercise and part
        assert f"mh.list_exercises({int(chapter)})" in flat
