"""Check your answers to the chapters' numeric exercises.

Every numeric exercise of the chapters is registered here under its label (the ``:label:`` of
the exercise in the book, e.g. ``"ex-02-sleep"``; ``"02-sleep"`` and ``"02-2"``, the second
exercise of chapter 02, work too), with one entry per number asked for (its *part*, e.g.
``"icc"``). The reference answers are computed here from the course data, the same way the
solutions do, the first time you ask (a few seconds at most), so they cannot drift away from
the package. The few exercises that cannot be checked this way (no number to check, or a
simulation far too slow to repeat on demand) are listed, with the reason, in ``SKIPPED``.

:func:`check_answer` tells you whether your number is **correct** (within the rounding of the
solution), **close** (a rounding or a small slip: the tolerance is explained) or **not yet**
(with a hint where to look). It does not tell you the answer: the folded solutions do. A value
that is not a plain number (a string, a list, a table) gets a "not yet" that shows how to pass
the number; a result with one obvious number (``mh.icc(...)``, a one-value Series) is read.
:func:`list_exercises` shows what can be checked.

Examples
--------
>>> import mlm_helpers as mh
>>> from mlm_helpers import exercises
>>> exercises.check_answer("ex-02-plan", 86, part="schools_25").verdict
'correct'
>>> exercises.check_answer("02-plan", 87, part="schools_25").verdict
'close'
>>> exercises.check_answer("02-1", 0.418, part="icc")  # chapter 02, first exercise
correct: 0.418 for ex-02-dyestuff (icc: ICC of the Dyestuff null model).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from ..datasets import load_dataset
from ..errors import ConvergenceWarning, FewGroupsWarning, MLMInputError, SingularFitWarning
from ..model.compare import lrt
from ..model.fitting import fit
from ..model.icc import design_effect, icc

__all__ = ["check_answer", "list_exercises", "reference_answer", "AnswerCheck", "Answer", "REGISTRY", "SKIPPED"]


# ---------------------------------------------------------------------------------------------
# Shared, cached data and fits (the same calls as the chapters make)
# ---------------------------------------------------------------------------------------------
def _quiet_fit(formula: str, data: pd.DataFrame, **kwargs):
    with warnings.catch_warnings():
        # the chapters show these warnings on purpose; the checker only needs the numbers
        for category in (FewGroupsWarning, SingularFitWarning, ConvergenceWarning):
            warnings.simplefilter("ignore", category)
        return fit(formula, data, **kwargs)


@cache
def _hsb() -> pd.DataFrame:
    return load_dataset("hsb")


@cache
def _schools() -> pd.DataFrame:
    return load_dataset("hsb_schools")


@cache
def _hsb_sector() -> pd.DataFrame:
    return _hsb().merge(_schools()[["School", "Sector"]], on="School", validate="many_to_one")


@cache
def _hsb_centred() -> pd.DataFrame:
    data = _hsb().copy()
    data["SES_gm"] = data.groupby("School")["SES"].transform("mean")
    data["SES_c"] = data["SES"] - data["SES_gm"]
    return data


@cache
def _fit(key: str):
    """The fits several answers share, by a short name."""
    models = {
        "hsb_null": ("MathAch ~ 1 + (1 | School)", _hsb, {}),
        "hsb_ses": ("MathAch ~ SES + (1 | School)", _hsb, {}),
        "hsb_meanses": ("MathAch ~ SES + Sector + MEANSES + (1 | School)", _hsb_sector, {}),
        "hsb_ses_base": ("MathAch ~ SES + (1 | School)", _hsb_sector, {}),
        "hsb_ses_sector": ("MathAch ~ SES + Sector + (1 | School)", _hsb_sector, {}),
        "hsb_m1": ("MathAch ~ SES_c + SES_gm + (1 | School)", _hsb_centred, {}),
        "hsb_m2": ("MathAch ~ SES_c + SES_gm + (1 + SES_c | School)", _hsb_centred, {}),
        "hsb_m2_uncentred": ("MathAch ~ SES + SES_gm + (SES | School)", _hsb_centred, {}),
        "dye": ("Yield ~ 1 + (1 | Batch)", lambda: load_dataset("dyestuff"), {}),
        "sleep_null": ("Reaction ~ 1 + (1 | Subject)", lambda: load_dataset("sleepstudy"), {}),
        "sleep_rs": ("Reaction ~ Days + (Days | Subject)", lambda: load_dataset("sleepstudy"), {}),
        "sleep_ri_reml": ("Reaction ~ Days + (1 | Subject)", lambda: load_dataset("sleepstudy"), {}),
        "sleep_ri_ml": ("Reaction ~ Days + (1 | Subject)", lambda: load_dataset("sleepstudy"), {"reml": False}),
        "dye_fixed": ("Yield ~ 1", lambda: load_dataset("dyestuff"), {}),
    }
    formula, data, kwargs = models[key]
    return _quiet_fit(formula, data(), **kwargs)  # type: ignore[operator]


@cache
def _chem() -> pd.DataFrame:
    """Chapter 14's data: Chem97 with GCSE centred at its mean, split into school mean and deviation."""
    from ..companions.centring import centre_within

    data = load_dataset("chem97")
    data["gcse"] = data["gcsescore"] - data["gcsescore"].mean()
    return centre_within(data, "gcse", "school")


@cache
def _chem_fit(key: str):
    """The capstone's models (chapter 14), by the names the chapter gives them."""
    formulas = {
        "m0": "score ~ 1 + (1 | school)",
        "m1": "score ~ gcse_c + gcse_gm + (1 | school)",
        "m2": "score ~ gcse_c + gcse_gm + (1 + gcse_c | school)",
        "m3": "score ~ gcse_c + gcse_gm + gender + (1 + gcse_c | school)",
        "m_gender": "score ~ gender + (1 | school)",
        "m_lea": "score ~ gcse_c + gcse_gm + (1 | lea) + (1 | school)",
    }
    return _quiet_fit(formulas[key], _chem())


def _chem_sizes() -> pd.Series:
    return _chem().groupby("school").size()


def _chem_fixed(key: str, term: str) -> float:
    return float(_chem_fit(key).fixed.loc[term, "estimate"])


def _chem_share_above_10() -> float:
    from ..companions.diagnostics import residual_table

    return float((residual_table(_chem_fit("m3"))["fitted"] > 10).mean())


def _vcov(result, i: int) -> float:
    return float(result.varcorr["vcov"].iloc[i])


# ---- chapter 00 -------------------------------------------------------------------------------
def _sector_icc(sector: str) -> float:
    sub = _hsb_sector()[_hsb_sector()["Sector"] == sector]
    return float(_quiet_fit("MathAch ~ 1 + (1 | School)", sub).icc)


def _school_means_vs_meanses() -> pd.DataFrame:
    means = _hsb().groupby("School")["MathAch"].mean().rename("mean_MathAch")
    return _schools().set_index("School")[["MEANSES"]].join(means)


def _sim_icc(tau00: float, sigma2: float) -> float:
    from ..simulation.two_level import simulate_two_level

    sim = simulate_two_level(160, 45, beta0=12.6, tau00=tau00, sigma2=sigma2, seed=3)
    return float(_quiet_fit("y ~ 1 + (1 | group)", sim).icc)


# ---- chapter 01 -------------------------------------------------------------------------------
@cache
def _deff_hsb() -> dict:
    import statsmodels.formula.api as smf

    hsb = _hsb()
    se_ols = float(smf.ols("MathAch ~ 1", data=hsb).fit().bse["Intercept"])
    ri = _fit("hsb_null")
    se_mixed = float(ri.fixed.loc["Intercept", "se"])
    m_bar = float(hsb.groupby("School").size().mean())
    d = design_effect(ri.icc, m_bar)
    return {"variance_ratio": (se_mixed / se_ols) ** 2, "design_effect": d, "effective_n": len(hsb) / d}


@cache
def _subsample() -> dict:
    from ..companions.pooling import pooling_estimates

    hsb = _hsb()
    full_means = hsb.groupby("School")["MathAch"].mean()
    sub = hsb.groupby("School", group_keys=False).sample(n=5, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewGroupsWarning)
        est = pooling_estimates(sub, "MathAch", "School")
    truth = full_means.loc[est.index]
    out = {c: float(np.sqrt(((est[c] - truth) ** 2).mean())) for c in ("no_pooling", "partial_pooling", "complete_pooling")}
    out["shrinkage"] = float(est["shrinkage"].iloc[0])
    return out


@cache
def _ols_coverage(n_groups: int, group_size: int) -> float:
    from ..companions.clustering import ols_coverage

    tab = ols_coverage(0.1, n_groups=n_groups, group_size=group_size, n_reps=1000, seed=7)
    row = tab[(tab["term"] == "Intercept") & (tab["method"] == "OLS")]
    return float(row["coverage"].iloc[0])


# ---- chapter 02 -------------------------------------------------------------------------------
@cache
def _icc_ci(key: str) -> tuple[float, float, float]:
    r = icc(_fit(key))
    return float(r.estimate), float(r.ci_lower), float(r.ci_upper)


def _schools_needed(m: int) -> int:
    return math.ceil(400 * design_effect(0.18, m) / m)


# ---- chapter 03 -------------------------------------------------------------------------------
@cache
def _by_hand() -> dict:
    result = _fit("hsb_ses")
    tau00, sigma2 = _vcov(result, 0), float(result.sigma2)
    n = _hsb().groupby("School").size()
    lam = tau00 / (tau00 + sigma2 / n.max())
    return {
        "lambda": float(lam),
        "cond_sd": math.sqrt(tau00 * (1 - lam)),
        "n_for_sd_05": sigma2 * (1 / 0.5**2 - 1 / tau00),
    }


@cache
def _shrinkage_draws() -> dict:
    from ..explorers.shrinkage import compute

    draws = [compute(5, 0.1, seed=s) for s in range(100)]
    return {
        "wins": sum(d["mse_shrunk"] < d["mse_raw"] for d in draws),
        "singular": sum(bool(d["singular"]) for d in draws),
    }


# ---- chapter 04 -------------------------------------------------------------------------------
def _sleep_share(day: float) -> float:
    r = _fit("sleep_rs")
    t00, t11, t01 = _vcov(r, 0), _vcov(r, 1), _vcov(r, 2)
    between = t00 + 2 * t01 * day + t11 * day**2
    return between / (between + float(r.sigma2))


def _slopes_explorer(key: str, tau11: float, corr: float):
    from ..explorers.slopes import compute

    return compute(tau11=tau11, corr=corr)[key]


# ---- chapter 05 -------------------------------------------------------------------------------
@cache
def _grid() -> tuple[float, float]:
    from ..model.objective import deviance_parts, profiled_deviance

    null = _fit("hsb_null")
    grid = np.linspace(0, 1, 2001)
    t_best = float(grid[np.argmin(profiled_deviance(null, grid))])
    return t_best, float(t_best**2 * deviance_parts(null, t_best).sigma2)


@cache
def _ml_bias(m: int) -> float:
    from ..companions.simstudy import ml_vs_reml_bias

    tab = ml_vs_reml_bias(10, m, tau00=4.0, sigma2=16.0, n_reps=4000, seed=1)
    return float(tab.loc["ML", "bias_tau00"])


@cache
def _posterior_median(scale: float | None) -> float:
    from ..companions import bayes

    prior = None if scale is None else bayes.HalfCauchy(scale)
    draws = bayes.gibbs_random_intercept(
        "Yield ~ 1 + (1 | Batch)", load_dataset("dyestuff"), n_iter=6000, prior_tau00=prior, seed=1
    )
    return float(np.sqrt(draws["tau00"]).median())


# ---- chapter 06 -------------------------------------------------------------------------------
@cache
def _lrt(reduced: str, full: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewGroupsWarning)
        return lrt(_fit(reduced), _fit(full))


@cache
def _power(tau00: float) -> dict:
    from ..companions.simstudy import lrt_distribution, rejection_rates

    alt = lrt_distribution(30, 10, n_reps=4000, tau00=tau00, sigma2=1.0, seed=2)
    return {k: float(v) for k, v in rejection_rates(alt, alpha=0.05).items()}


# ---- chapter 07 -------------------------------------------------------------------------------
def _ch07_data(n_schools: int, seed: int) -> pd.DataFrame:
    """The worked example's simulated schools (chapter 07, first code cell)."""
    from ..simulation.two_level import simulate_two_level

    rng = np.random.default_rng(seed)
    sizes = rng.integers(15, 41, size=n_schools)
    sim = simulate_two_level(
        n_schools, sizes.tolist(), beta0=72, beta1=3, tau00=17, tau11=2.4, tau01=-2.0, sigma2=45,
        x_sd=0.8, x_between_sd=0.6, seed=rng,
    )
    return sim.rename(columns={"group": "school", "x": "ses", "y": "math"})[["school", "ses", "math"]]


@cache
def _context() -> dict:
    data = _ch07_data(50, 2026)
    data["ses_gm"] = data.groupby("school")["ses"].transform("mean")
    m2 = _quiet_fit("math ~ ses + (1 + ses | school)", data)
    m_ctx = _quiet_fit("math ~ ses + ses_gm + (1 + ses | school)", data)
    test = lrt(m2, m_ctx)
    return {"coef": float(m_ctx.fixed.loc["ses_gm", "estimate"]), "p": float(test.p_naive)}


@cache
def _fewer(seed: int) -> dict:
    data = _ch07_data(15, seed)
    m1 = _quiet_fit("math ~ ses + (1 | school)", data)
    m2 = _quiet_fit("math ~ ses + (1 + ses | school)", data)
    test = lrt(m1, m2)
    return {
        "p": float(test.p_mixture if test.p_mixture is not None else test.p_naive),
        "se_intercept": float(m2.fixed.loc["Intercept", "se"]),
        "se_ses": float(m2.fixed.loc["ses", "se"]),
    }


# ---- chapter 08 -------------------------------------------------------------------------------
@cache
def _one_factor_penicillin(factor: str) -> dict:
    r = _quiet_fit(f"diameter ~ 1 + (1 | {factor})", load_dataset("penicillin"))
    return {"sigma2": float(r.sigma2), "se": float(r.fixed.loc["Intercept", "se"])}


@cache
def _fully_crossed() -> dict:
    """The solution's 50 replications (seeds 2000-2049), every rater marks every student."""
    from ..model.fitting import fit
    from ..simulation.designs import simulate_crossed

    hits: dict[str, list[bool]] = {"crossed": [], "students_only": []}
    for rep in range(50):
        sim = simulate_crossed(40, 10, tau_a=4, tau_b=2, sigma2=9, a_effect=1.0, b_effect=1.0, seed=2000 + rep)
        for label, groups in (("crossed", ["student", "rater"]), ("students_only", ["student"])):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FewGroupsWarning)
                formula = "y ~ x_student + x_rater" + "".join(f" + (1 | {g})" for g in groups)
                est, se = fit(formula, sim, engine="intercepts").fixed.loc["x_rater", ["estimate", "se"]]
            hits[label].append(abs(est - 1) <= 1.96 * se)
    return {k: float(np.mean(v)) for k, v in hits.items()}


@cache
def _all_raters_se() -> float:
    """ex-08-predict: the crossed model on the fully crossed essays (seed=2), SE of x_rater."""
    from ..simulation.designs import simulate_crossed

    full = simulate_crossed(40, 10, per_a=None, tau_a=4, tau_b=2, sigma2=9, a_effect=1.0, b_effect=1.0, seed=2)
    r = _quiet_fit("y ~ x_student + x_rater + (1 | student) + (1 | rater)", full)
    return float(r.fixed.loc["x_rater", "se"])


# ---- chapter 09 -------------------------------------------------------------------------------
@cache
def _pupils():
    """Chapter 09's simulated pupils (first code cell)."""
    from ..simulation.designs import simulate_three_level

    return simulate_three_level(20, 3, 10, tau_school=4, tau_class=2, sigma2=20,
                                school_effect=1.0, pupil_effect=2.0, seed=9)


@cache
def _pupils_slope() -> dict:
    """ex-09-slope: a school-level random slope of x added to the pupils, and the VPCs at x = 0 and 2."""
    pupils = _pupils().copy()
    slope = np.random.default_rng(19).normal(0, 1, 20)
    pupils["y"] += slope[pupils["school"].str[1:].astype(int)] * pupils["x"]
    r = _quiet_fit("y ~ w + x + (1 + x | school) + (1 | class)", pupils)
    t00, t11, t01, t_u = (_vcov(r, k) for k in range(4))
    out = {"tau11": t11}
    for x in (0, 2):
        school = t00 + 2 * t01 * x + t11 * x**2
        total = school + t_u + float(r.sigma2)
        out[f"vpc_school_{x}"] = school / total
        out[f"vpc_class_{x}"] = t_u / total
        out[f"vpc_pupil_{x}"] = float(r.sigma2) / total
    return out


@cache
def _pupils_without_x():
    """ex-09-variance: the pupils fitted without the pupil-level predictor."""
    return _quiet_fit("y ~ w + (1 | school/class)", _pupils())


@cache
def _pastes_casks_only():
    return _quiet_fit("strength ~ 1 + (1 | sample)", load_dataset("pastes"))


@cache
def _pupils_schools_only():
    """Chapter 09's simulated pupils (first code cell), fitted with the schools only."""
    return _quiet_fit("y ~ w + x + (1 | school)", _pupils())


# ---- chapter 10 -------------------------------------------------------------------------------
@cache
def _sleep_end() -> dict:
    sleep = load_dataset("sleepstudy")
    sleep["Days_9"] = sleep["Days"] - 9
    r = _quiet_fit("Reaction ~ Days_9 + (Days_9 | Subject)", sleep)
    return {
        "intercept": float(r.fixed["estimate"].iloc[0]),
        "sd_intercept": math.sqrt(_vcov(r, 0)),
        "corr": _vcov(r, 2) / math.sqrt(_vcov(r, 0) * _vcov(r, 1)),
    }


@cache
def _sleep_weeks():
    """ex-10-weeks: time in weeks."""
    sleep = load_dataset("sleepstudy")
    sleep["Weeks"] = sleep["Days"] / 7
    return _quiet_fit("Reaction ~ Weeks + (Weeks | Subject)", sleep)


# ---- chapter 11 -------------------------------------------------------------------------------
@cache
def _sleep_without_outlier() -> dict:
    from ..companions.diagnostics import residual_table

    sleep = load_dataset("sleepstudy")
    drop = residual_table(_fit("sleep_rs"))["residual"].abs().idxmax()
    r = _quiet_fit("Reaction ~ Days + (Days | Subject)", sleep.drop(index=drop))
    return {"slope": float(r.fixed.loc["Days", "estimate"]), "sigma2": float(r.sigma2),
            "sd_slope": float(r.varcorr["sdcor"].iloc[1])}


@cache
def _sleep_influence() -> dict:
    from ..companions.diagnostics import influence

    infl = influence(_fit("sleep_rs"))
    return {
        "cooks_subject": int(infl["cooks_d"].idxmax()), "cooks_max": float(infl["cooks_d"].max()),
        "slope_var_subject": int(infl["rel_var(Days)"].idxmin()), "rel_var_min": float(infl["rel_var(Days)"].min()),
    }


@cache
def _funnel_p() -> float:
    from ..companions.diagnostics import variance_test

    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(40), 20)
    x = rng.normal(0, 1, 800)
    y = 1 + 0.5 * x + rng.normal(0, 1, 40)[g] + (0.5 + 0.5 * np.abs(x)) * rng.normal(0, 1, 800)
    funnel = _quiet_fit("y ~ x + (1 | g)", pd.DataFrame({"g": g, "x": x, "y": y}))
    return float(variance_test(funnel)["p"])


@cache
def _outlier_slope() -> dict:
    """ex-11-slope: chapter 11's data with one outlying group, fitted with a random slope."""
    from ..companions.diagnostics import influence
    from ..simulation.two_level import simulate_two_level

    df = simulate_two_level(30, 15, beta0=0.0, beta1=0.5, tau00=1.0, sigma2=1.0, seed=5)
    bad = df["group"] == df["group"].iloc[0]
    df.loc[bad, "y"] += 3.0 * df.loc[bad, "x"]
    r = _quiet_fit("y ~ x + (1 + x | group)", df)
    return {
        "sigma2": float(r.sigma2),
        "se": float(r.fixed.loc["x", "se"]),
        "dfbeta": float(influence(r).loc[str(df["group"].iloc[0]), "dfbeta_x"]),
    }


# ---- chapter 13 -------------------------------------------------------------------------------
@cache
def _hsb_m5():
    """Case 1's M4 plus Minority and Sex (Sector[T.Public]: Catholic is the reference; SES centred within)."""
    return _quiet_fit("MathAch ~ SES_c * Sector + SES_gm + Minority + Sex + (1 + SES_c | School)",
                      _hsb_sector_centred())


@cache
def _hsb_sector_centred() -> pd.DataFrame:
    from ..companions.centring import centre_within

    return centre_within(_hsb_sector().copy(), "SES", "School")


@cache
def _hsb_m4():
    """Case 1's M4: SES_c * Sector + SES_gm with a random SES_c slope."""
    return _quiet_fit("MathAch ~ SES_c * Sector + SES_gm + (1 + SES_c | School)", _hsb_sector_centred())


@cache
def _pilot() -> dict:
    from ..companions.casestudies import new_group_effect, simulate_hospitals

    pilot = simulate_hospitals(n_hospitals=8, seed=1)
    r = _quiet_fit("reduction ~ treat + age_c + baseline_c + (1 + treat | hospital)", pilot)
    return {"n_patients": len(pilot), **{k: float(v) for k, v in new_group_effect(r, "treat").items()}}


@cache
def _grunfeld_se() -> dict:
    import statsmodels.formula.api as smf
    from statsmodels.datasets import grunfeld

    from ..model.icc import icc_anova

    panel = grunfeld.load_pandas().data
    pooled = smf.ols("invest ~ value + capital", panel).fit()
    panel["ols_resid"] = pooled.resid
    return {
        "se_pooled": float(pooled.bse["capital"]),
        "se_ri": float(_quiet_fit("invest ~ value + capital + (1 | firm)", panel).fixed.loc["capital", "se"]),
        "se_fe": float(smf.ols("invest ~ value + capital + C(firm)", panel).fit().bse["capital"]),
        "icc_resid": float(icc_anova(panel, "ols_resid", "firm").icc),
    }


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """One number an exercise asks for.

    ``tol`` is the half-width of "correct" (the rounding the solution uses, or a little more);
    ``close`` the half-width of "close" (a rounding slip or a slightly different route).
    """

    exercise: str
    part: str
    question: str
    compute: Callable[[], float]
    tol: float
    close: float
    hint: str
    integer: bool = False

    @property
    def chapter(self) -> str:
        return self.exercise.split("-")[1]


def _a(exercise, part, question, compute, tol, close, hint, integer=False) -> Answer:
    return Answer(exercise, part, question, compute, tol, close, hint, integer)


HINT_SCHOOLS = "Work with one row per school (hsb_schools, or a groupby('School') of hsb), not one per student."
HINT_REML = "Fit by REML (mh.fit's default) with the formula the exercise gives."

REGISTRY: list[Answer] = [
    # chapter 00
    _a("ex-00-sector", "share_catholic", "share of the 160 schools that are Catholic (a proportion)",
       lambda: float((_schools()["Sector"] == "Catholic").mean()), 0.005, 0.03, HINT_SCHOOLS),
    _a("ex-00-sector", "icc_catholic", "ICC of the random-intercept model in Catholic schools",
       lambda: _sector_icc("Catholic"), 0.006, 0.02,
       "Merge Sector into hsb, keep the Catholic schools only, fit MathAch ~ 1 + (1 | School)."),
    _a("ex-00-sector", "icc_public", "ICC of the random-intercept model in public schools",
       lambda: _sector_icc("Public"), 0.006, 0.02,
       "Merge Sector into hsb, keep the public schools only, fit MathAch ~ 1 + (1 | School)."),
    _a("ex-00-meanses", "correlation", "correlation of school mean MathAch with MEANSES",
       lambda: float(_school_means_vs_meanses().corr().iloc[0, 1]), 0.006, 0.03, HINT_SCHOOLS),
    _a("ex-00-meanses", "slope", "points of school mean MathAch per unit of MEANSES (least-squares line)",
       lambda: float(np.polyfit(_school_means_vs_meanses()["MEANSES"],
                                _school_means_vs_meanses()["mean_MathAch"], 1)[0]),
       0.06, 0.3, "Regress the 160 school means on MEANSES (np.polyfit(x, y, 1)[0] is the slope)."),
    _a("ex-00-simulate", "icc_05", "estimated ICC when the true ICC is 0.5 (tau00 = sigma2 = 20, seed=3)",
       lambda: _sim_icc(20, 20), 0.006, 0.03, "Simulate 160 schools of 45 with seed=3, then fit y ~ 1 with groups."),
    _a("ex-00-simulate", "icc_005", "estimated ICC when the true ICC is 0.05 (tau00 = 2, sigma2 = 38, seed=3)",
       lambda: _sim_icc(2, 38), 0.006, 0.03, "Simulate 160 schools of 45 with seed=3, then fit y ~ 1 with groups."),
    _a("ex-00-predict", "icc_before", "ICC with tau00 = 10 and sigma2 = 40",
       lambda: 10 / (10 + 40), 0.005, 0.03, "tau00 / (tau00 + sigma2)."),
    _a("ex-00-predict", "icc_after", "ICC when the within-school SD doubles (sigma2 times 4)",
       lambda: 10 / (10 + 160), 0.002, 0.02, "Doubling an SD multiplies the variance by 4: sigma2 = 160."),
    # chapter 01
    _a("ex-01-predict", "design_effect_income", "slope design effect of income (rho_x = 0.5, rho_y = 0.2, m = 50)",
       lambda: 1 + 49 * 0.5 * 0.2, 0.05, 0.5, "1 + (m - 1) * rho_x * rho_y, with m the school size."),
    _a("ex-01-hsb-deff", "variance_ratio", "variance of the mean, mixed model / OLS (ratio of squared SEs)",
       lambda: _deff_hsb()["variance_ratio"], 0.06, 0.5, "Square the ratio of the two standard errors."),
    _a("ex-01-hsb-deff", "design_effect", "Kish design effect from the ICC and the mean school size",
       lambda: _deff_hsb()["design_effect"], 0.006, 0.1,
       "1 + (m - 1) * ICC with m the MEAN school size (7185 / 160) and the model's ICC."),
    _a("ex-01-hsb-deff", "effective_n", "effective sample size (students)",
       lambda: _deff_hsb()["effective_n"], 1.0, 10.0, "Divide the 7185 students by the design effect."),
    _a("ex-01-subsample", "rmse_partial", "RMSE of partial pooling (points)",
       lambda: _subsample()["partial_pooling"], 0.006, 0.05,
       "Sample with random_state=1 and compare with the mean of ALL the school's students."),
    _a("ex-01-subsample", "rmse_none", "RMSE of no pooling (points)",
       lambda: _subsample()["no_pooling"], 0.006, 0.05,
       "Sample with random_state=1 and compare with the mean of ALL the school's students."),
    _a("ex-01-subsample", "rmse_complete", "RMSE of complete pooling (points)",
       lambda: _subsample()["complete_pooling"], 0.006, 0.05,
       "Sample with random_state=1 and compare with the mean of ALL the school's students."),
    _a("ex-01-subsample", "shrinkage", "shrinkage factor with 5 students per school",
       lambda: _subsample()["shrinkage"], 0.006, 0.03, "lambda = tau00 / (tau00 + sigma2 / 5), from the subsample's fit."),
    _a("ex-01-design", "ols_coverage_10x60", "OLS coverage for the mean, 10 groups of 60 (a proportion)",
       lambda: _ols_coverage(10, 60), 0.006, 0.03, "Use the row term == 'Intercept', method == 'OLS', seed=7."),
    _a("ex-01-design", "ols_coverage_60x10", "OLS coverage for the mean, 60 groups of 10 (a proportion)",
       lambda: _ols_coverage(60, 10), 0.006, 0.03, "Use the row term == 'Intercept', method == 'OLS', seed=7."),
    _a("ex-01-design", "design_effect_10x60", "design effect of 10 groups of 60 at ICC 0.1",
       lambda: design_effect(0.1, 60), 0.01, 0.5, "The group size m is 60: 1 + (m - 1) * ICC."),
    # chapter 02
    _a("ex-02-dyestuff", "icc", "ICC of the Dyestuff null model",
       lambda: _icc_ci("dye")[0], 0.0006, 0.01, HINT_REML),
    _a("ex-02-dyestuff", "ci_lower", "lower end of the 95% profile interval",
       lambda: _icc_ci("dye")[1], 0.0006, 0.01, "Use mh.icc(result) (method='profile', the default)."),
    _a("ex-02-dyestuff", "ci_upper", "upper end of the 95% profile interval",
       lambda: _icc_ci("dye")[2], 0.0006, 0.01, "Use mh.icc(result) (method='profile', the default)."),
    _a("ex-02-sleep", "icc", "ICC of Reaction ~ 1 + (1 | Subject)",
       lambda: _icc_ci("sleep_null")[0], 0.0006, 0.01, HINT_REML),
    _a("ex-02-sleep", "design_effect", "design effect with 10 measurements per person",
       lambda: design_effect(_icc_ci("sleep_null")[0], 10), 0.006, 0.1, "1 + (10 - 1) * ICC."),
    _a("ex-02-sleep", "effective_n", "effective number of independent measurements",
       lambda: 180 / design_effect(_icc_ci("sleep_null")[0], 10), 0.6, 3.0, "180 / design effect."),
    _a("ex-02-plan", "schools_25", "schools needed with 25 students per school",
       lambda: _schools_needed(25), 0, 2, "a whole number: round up", integer=True),
    _a("ex-02-plan", "schools_50", "schools needed with 50 students per school",
       lambda: _schools_needed(50), 0, 2, "a whole number: round up", integer=True),
    _a("ex-02-read", "icc", "ICC from the printed variance components (4.0 and 36.0)",
       lambda: 4.0 / (4.0 + 36.0), 0.005, 0.03, "tau00 / (tau00 + sigma2): the hospital variance over the total."),
    _a("ex-02-read", "design_effect", "design effect for the mean with 30 patients per hospital",
       lambda: 1 + 29 * 0.1, 0.05, 0.5, "1 + (m - 1) * ICC with m = 30 patients per hospital."),
    _a("ex-02-read", "effective_n", "effective number of independent patients",
       lambda: 1500 / 3.9, 2.0, 20.0, "Divide the 1,500 patients by the design effect."),
    # chapter 03
    _a("ex-03-meanses", "tau00", "tau00 with SES, Sector and MEANSES",
       lambda: _vcov(_fit("hsb_meanses"), 0), 0.006, 0.05, HINT_REML),
    _a("ex-03-meanses", "explained", "share of the SES-only model's tau00 explained (a proportion)",
       lambda: 1 - _vcov(_fit("hsb_meanses"), 0) / _vcov(_fit("hsb_ses"), 0), 0.006, 0.03,
       "1 - tau00(with Sector and MEANSES) / tau00(SES only): compare with the SES-only model, not the null model."),
    _a("ex-03-meanses", "ses", "coefficient of SES",
       lambda: float(_fit("hsb_meanses").fixed.loc["SES", "estimate"]), 0.006, 0.05, HINT_REML),
    _a("ex-03-meanses", "meanses", "coefficient of MEANSES",
       lambda: float(_fit("hsb_meanses").fixed.loc["MEANSES", "estimate"]), 0.006, 0.05, HINT_REML),
    _a("ex-03-by-hand", "lambda", "shrinkage factor of the largest school",
       lambda: _by_hand()["lambda"], 0.0006, 0.01,
       "lambda_j = tau00 / (tau00 + sigma2 / n_j) with the model MathAch ~ SES + (1 | School) and n_j = 67."),
    _a("ex-03-by-hand", "cond_sd", "conditional SD of the largest school (points)",
       lambda: _by_hand()["cond_sd"], 0.006, 0.03, "sqrt(tau00 * (1 - lambda_j))."),
    _a("ex-03-by-hand", "n_for_sd_05", "school size giving a conditional SD of 0.5 points",
       lambda: _by_hand()["n_for_sd_05"], 1.0, 5.0, "Solve 1 / (1 / tau00 + n / sigma2) = 0.5**2 for n."),
    _a("ex-03-explorer", "n_half", "group size at which lambda = 0.5 when tau00 / sigma2 = 0.1",
       lambda: 10.0, 0.01, 1.0,  # closed form sigma2 / tau00
       "Write lambda_j = tau00 / (tau00 + sigma2 / n_j), set it to 0.5 and solve for n_j with the "
       "exercise's ratio; or read it off the explorer's lambda as you move the group size."),
    _a("ex-03-explorer", "wins", "draws (of 100) in which mse_shrunk < mse_raw",
       lambda: _shrinkage_draws()["wins"], 0, 3, "seeds 0 to 99, group_size=5, ratio=0.1", integer=True),
    _a("ex-03-explorer", "singular", "draws (of 100) with a singular fit",
       lambda: _shrinkage_draws()["singular"], 0, 3, "seeds 0 to 99, group_size=5, ratio=0.1", integer=True),
    _a("ex-03-predict", "lambda_10", "shrinkage factor of a school of 10 (tau00 = 4.8, sigma2 = 37)",
       lambda: 4.8 / (4.8 + 37 / 10), 0.005, 0.03, "lambda = tau00 / (tau00 + sigma2 / n_j) with n_j = 10."),
    _a("ex-03-predict", "lambda_100", "shrinkage factor of a school of 100 (tau00 = 4.8, sigma2 = 37)",
       lambda: 4.8 / (4.8 + 37 / 100), 0.005, 0.03, "lambda = tau00 / (tau00 + sigma2 / n_j) with n_j = 100."),
    # chapter 04
    _a("ex-04-uncentred", "loglik", "REML log-likelihood with uncentred SES",
       lambda: float(_fit("hsb_m2_uncentred").loglik), 0.0006, 0.05,
       "MathAch ~ SES + SES_gm + (SES | School), REML."),
    _a("ex-04-uncentred", "tau11", "slope variance tau11 with uncentred SES",
       lambda: _vcov(_fit("hsb_m2_uncentred"), 1), 0.0006, 0.01, "The second row of result.varcorr."),
    _a("ex-04-sleep-vpc", "share_day0", "share of variance between subjects on day 0",
       lambda: _sleep_share(0), 0.006, 0.03, "tau00 / (tau00 + sigma2) of Reaction ~ Days + (Days | Subject)."),
    _a("ex-04-sleep-vpc", "share_day9", "share of variance between subjects on day 9",
       lambda: _sleep_share(9), 0.006, 0.03, "between(d) = tau00 + 2 tau01 d + tau11 d^2, with d = 9."),
    _a("ex-04-sleep-vpc", "closest_day", "day at which the subjects' lines are closest",
       lambda: -_vcov(_fit("sleep_rs"), 2) / _vcov(_fit("sleep_rs"), 1), 0.006, 0.05,
       "d* = -tau01 / tau11: the covariance (third row of varcorr), not the correlation."),
    _a("ex-04-explorer", "x_cross", "x where the lines cross (tau11=1.6, corr=1)",
       lambda: float(_slopes_explorer("x_min", 1.6, 1.0)), 0.006, 0.05, "x* = -tau01 / tau11 = -sqrt(tau00 / tau11)."),
    _a("ex-04-explorer", "vpc_x2", "share of variance between groups at x = 2 (tau11=1.6, corr=0)",
       lambda: float(_slopes_explorer("vpc_at", 1.6, 0.0)[2.0]), 0.0006, 0.01,
       "(tau00 + tau11 x^2) / (tau00 + tau11 x^2 + sigma2) at x = 2."),
    _a("ex-04-predict", "var_a", "sampling variance of school A's own slope (sigma2 = 36.7, sum of squares 25)",
       lambda: 36.7 / 25, 0.01, 0.1, "sigma2 / sum of (x - school mean)^2."),
    _a("ex-04-predict", "lambda_a", "shrinkage factor of school A's slope (tau11 = 0.69)",
       lambda: 0.69 / (0.69 + 36.7 / 25), 0.005, 0.03, "tau11 / (tau11 + sigma2 / sum of squares) with the sum 25."),
    _a("ex-04-predict", "lambda_b", "shrinkage factor of school B's slope (sum of squares 1.6)",
       lambda: 0.69 / (0.69 + 36.7 / 1.6), 0.002, 0.01, "tau11 / (tau11 + sigma2 / sum of squares) with the sum 1.6."),
    # chapter 05
    _a("ex-05-sleep", "pct_lower", "percentage by which ML's tau00 is below REML's",
       lambda: 100 * (1 - _vcov(_fit("sleep_ri_ml"), 0) / _vcov(_fit("sleep_ri_reml"), 0)), 0.06, 0.5,
       "100 * (1 - tau00_ML / tau00_REML), as a percentage."),
    _a("ex-05-shortfall", "shortfall", "average ML shortfall of tau00 with J = 8, m = 25, tau00 = 4, sigma2 = 50",
       lambda: (4 + 50 / 25) / 8, 0.006, 0.05,  # closed form of the chapter's approximation
       "The chapter's approximation: the shortfall is a fraction 1/J of the variance of a group mean."),
    _a("ex-05-groupsize", "ml_bias_5", "ML bias of tau00 with groups of 5",
       lambda: _ml_bias(5), 0.006, 0.03, "ml_vs_reml_bias(10, 5, tau00=4.0, sigma2=16.0, n_reps=4000, seed=1)."),
    _a("ex-05-groupsize", "ml_bias_20", "ML bias of tau00 with groups of 20",
       lambda: _ml_bias(20), 0.006, 0.03, "ml_vs_reml_bias(10, 20, tau00=4.0, sigma2=16.0, n_reps=4000, seed=1)."),
    _a("ex-05-groupsize", "ml_bias_80", "ML bias of tau00 with groups of 80",
       lambda: _ml_bias(80), 0.006, 0.03, "ml_vs_reml_bias(10, 80, tau00=4.0, sigma2=16.0, n_reps=4000, seed=1)."),
    _a("ex-05-prior", "median_default", "posterior median of the batch SD, default prior (grams)",
       lambda: _posterior_median(None), 0.06, 1.0,
       "The median of sqrt(tau00) draws (an SD, in grams, not the variance), n_iter=6000, seed=1."),
    _a("ex-05-prior", "median_scale1", "posterior median of the batch SD, half-Cauchy(1) prior (grams)",
       lambda: _posterior_median(1.0), 0.06, 1.0,
       "prior_tau00=bayes.HalfCauchy(1.0); the median of sqrt(tau00) draws."),
    # chapter 05's appendix A1 (chapters/A1_under_the_hood.ipynb): counts after the chapter's own
    _a("ex-05-grid", "theta", "grid value of theta with the smallest REML deviance",
       lambda: _grid()[0], 0.0006, 0.005, "np.linspace(0, 1, 2001) and the argmin of mh.profiled_deviance(fit, grid)."),
    _a("ex-05-grid", "tau00", "tau00 at the best grid point",
       lambda: _grid()[1], 0.006, 0.05,
       "tau00 = theta^2 * r2 / (N - p): mh.deviance_parts(fit, theta).sigma2 is r2 / (N - p)."),
    _a("ex-05-cholesky", "L_j", "Cholesky factor L_j of one Dyestuff batch at the REML theta",
       lambda: float(np.sqrt(float(_fit("dye").theta[0]) ** 2 * 5 + 1)), 0.006, 0.05,
       "L_j = sqrt(theta^2 n_j + 1) with n_j = 5 and the REML theta of Dyestuff."),
    # chapter 06
    _a("ex-06-sector", "lr", "likelihood-ratio statistic for Sector",
       lambda: float(_lrt("hsb_ses_base", "hsb_ses_sector").statistic), 0.006, 0.5,
       "Fixed effects differ, so the test uses ML fits: mh.lrt refits both by ML for you."),
    _a("ex-06-sector", "sector", "coefficient of Sector[T.Public] (points)",
       lambda: float(_fit("hsb_ses_sector").fixed.loc["Sector[T.Public]", "estimate"]), 0.006, 0.05,
       "Catholic is the reference level; the coefficient is negative if public schools score lower."),
    _a("ex-06-dyestuff", "lr", "likelihood-ratio statistic for the batch variance of Dyestuff",
       lambda: float(_lrt("dye_fixed", "dye").statistic), 0.006, 0.5,
       "Same fixed effects: compare the REML fits with mh.lrt(reduced, full)."),
    _a("ex-06-dyestuff", "p_mixture", "boundary-corrected p-value for the batch variance of Dyestuff",
       lambda: float(_lrt("dye_fixed", "dye").p_mixture), 0.0002, 0.003,
       "The p_mixture of mh.lrt: half the naive chi2(1) p-value."),
    _a("ex-06-power", "corrected_005", "rejection rate of the corrected test, tau00 = 0.05",
       lambda: _power(0.05)["mixture"], 0.006, 0.03, "lrt_distribution(30, 10, n_reps=4000, tau00=0.05, sigma2=1.0, seed=2)."),
    _a("ex-06-power", "corrected_01", "rejection rate of the corrected test, tau00 = 0.1",
       lambda: _power(0.1)["mixture"], 0.006, 0.03, "lrt_distribution(30, 10, n_reps=4000, tau00=0.1, sigma2=1.0, seed=2)."),
    _a("ex-06-power", "naive_005", "rejection rate of the naive test, tau00 = 0.05",
       lambda: _power(0.05)["naive"], 0.006, 0.03, "rejection_rates(...)['naive']."),
    _a("ex-06-read", "p_mixture", "boundary-corrected p-value for a statistic of 3.20 (naive p 0.0736)",
       lambda: 0.5 * 0.0736, 0.0005, 0.005, "For one variance the reference is a 50:50 mixture of chi2(0) and chi2(1)."),
    # chapter 07
    _a("ex-07-hsb", "icc", "ICC of the HSB null model",
       lambda: float(_fit("hsb_null").icc), 0.0006, 0.01, HINT_REML),
    _a("ex-07-hsb", "lr", "LRT statistic for the random SES_c slope (M1 vs M2)",
       lambda: float(_lrt("hsb_m1", "hsb_m2").statistic), 0.006, 0.2,
       "Same fixed effects, REML fits: mh.lrt(M1, M2). SES must be group-mean centred."),
    _a("ex-07-hsb", "contextual", "contextual effect: coefficient of SES_gm minus that of SES_c",
       lambda: float(_fit("hsb_m2").fixed.loc["SES_gm", "estimate"] - _fit("hsb_m2").fixed.loc["SES_c", "estimate"]),
       0.006, 0.05, "With group-mean-centred SES_c, the contextual effect is between minus within."),
    _a("ex-07-context", "coef", "coefficient of ses_gm in the worked example's data",
       lambda: _context()["coef"], 0.006, 0.05,
       "Add ses_gm = school mean of ses to M2, keeping raw ses: math ~ ses + ses_gm + (1 + ses | school)."),
    _a("ex-07-context", "p", "p-value of the likelihood-ratio test of ses_gm",
       lambda: _context()["p"], 0.006, 0.03, "mh.lrt(m2, m_ctx) refits by ML; one fixed effect: the naive p-value."),
    _a("ex-07-fewer", "p_2027", "boundary-corrected p of the random slope, 15 schools, seed 2027",
       lambda: _fewer(2027)["p"], 0.006, 0.03,
       "Draw the sizes and the data from ONE generator, np.random.default_rng(2027), as the chapter does."),
    _a("ex-07-fewer", "se_intercept_2027", "SE of gamma00 in M2, 15 schools, seed 2027",
       lambda: _fewer(2027)["se_intercept"], 0.006, 0.03,
       "Draw the sizes and the data from ONE generator, np.random.default_rng(2027), as the chapter does."),
    # chapter 08
    _a("ex-08-penicillin", "sigma2_plates", "residual variance with plates only",
       lambda: _one_factor_penicillin("plate")["sigma2"], 0.006, 0.05,
       "diameter ~ 1 + (1 | plate): result.sigma2 (a variance, not an SD)."),
    _a("ex-08-penicillin", "se_plates", "SE of the overall mean with plates only (mm)",
       lambda: _one_factor_penicillin("plate")["se"], 0.006, 0.03,
       "diameter ~ 1 + (1 | plate): the se of the Intercept row of result.fixed."),
    _a("ex-08-penicillin", "sigma2_samples", "residual variance with samples only",
       lambda: _one_factor_penicillin("sample")["sigma2"], 0.006, 0.05,
       "diameter ~ 1 + (1 | sample): result.sigma2 (a variance, not an SD)."),
    _a("ex-08-penicillin", "se_samples", "SE of the overall mean with samples only (mm)",
       lambda: _one_factor_penicillin("sample")["se"], 0.006, 0.03,
       "diameter ~ 1 + (1 | sample): the se of the Intercept row of result.fixed."),
    # coverages are multiples of 1/50: "correct" is exact, "close" is one or two replications off
    _a("ex-08-fully", "coverage_students_only", "coverage of the x_rater interval, students-only model (a proportion)",
       lambda: _fully_crossed()["students_only"], 0.005, 0.04,
       "50 replications with seeds 2000 + rep, per_a left at None, mh.fit(..., engine='intercepts')."),
    _a("ex-08-fully", "coverage_crossed", "coverage of the x_rater interval, crossed model (a proportion)",
       lambda: _fully_crossed()["crossed"], 0.005, 0.04,
       "50 replications with seeds 2000 + rep, groups ['student', 'rater'], polish=False."),
    _a("ex-08-predict", "se_rater", "SE of x_rater in the crossed model, every rater marks every student",
       lambda: _all_raters_se(), 0.006, 0.05,
       "simulate_crossed(40, 10, per_a=None, ..., seed=2), then y ~ x_student + x_rater + (1 | student) + (1 | rater)."),
    # chapter 09
    _a("ex-09-pastes", "loglik", "REML log-likelihood of strength ~ 1 + (1 | sample)",
       lambda: float(_pastes_casks_only().loglik), 0.0006, 0.05,
       "Group by the unique cask label sample (not cask, which repeats across batches); REML."),
    _a("ex-09-pastes", "cask_var", "cask variance with the casks only",
       lambda: _vcov(_pastes_casks_only(), 0), 0.0006, 0.05, "The first row of result.varcorr (vcov, a variance)."),
    _a("ex-09-pastes", "se", "SE of the mean strength with the casks only",
       lambda: float(_pastes_casks_only().fixed.loc["Intercept", "se"]), 0.0006, 0.01,
       "The se of the Intercept row of result.fixed."),
    _a("ex-09-middle", "school_var", "school variance with schools only",
       lambda: _vcov(_pupils_schools_only(), 0), 0.006, 0.05,
       "y ~ w + x + (1 | school) on the chapter's pupils (seed=9); the first row of varcorr."),
    _a("ex-09-middle", "sigma2", "residual variance with schools only",
       lambda: float(_pupils_schools_only().sigma2), 0.006, 0.1, "result.sigma2 of the schools-only fit."),
    _a("ex-09-middle", "se_w", "SE of w with schools only",
       lambda: float(_pupils_schools_only().fixed.loc["w", "se"]), 0.0006, 0.005,
       "The se of the w row of the schools-only fit."),
    _a("ex-09-middle", "se_x", "SE of x with schools only",
       lambda: float(_pupils_schools_only().fixed.loc["x", "se"]), 0.0006, 0.005,
       "The se of the x row of the schools-only fit."),
    _a("ex-09-slope", "tau11", "variance of the school slopes of x",
       lambda: _pupils_slope()["tau11"], 0.006, 0.05,
       "Add slope[school] * x to y (school S00 gets slope[0]), then y ~ w + x + (1 + x | school) + (1 | class)."),
    _a("ex-09-slope", "vpc_school_0", "share of the school level at x = 0",
       lambda: _pupils_slope()["vpc_school_0"], 0.0006, 0.01,
       "At x = 0 the school part is the intercept variance; divide by school + class + residual variance."),
    _a("ex-09-slope", "vpc_class_0", "share of the class level at x = 0",
       lambda: _pupils_slope()["vpc_class_0"], 0.0006, 0.01, "Class variance over the total variance at x = 0."),
    _a("ex-09-slope", "vpc_pupil_0", "share of the pupil level at x = 0",
       lambda: _pupils_slope()["vpc_pupil_0"], 0.0006, 0.01, "Residual variance over the total variance at x = 0."),
    _a("ex-09-slope", "vpc_school_2", "share of the school level at x = 2",
       lambda: _pupils_slope()["vpc_school_2"], 0.0006, 0.01,
       "The school part at x is tau00 + 2 tau01 x + tau11 x^2; the total includes it, the class and the residual."),
    _a("ex-09-variance", "sigma2_without_x", "residual variance without x",
       lambda: float(_pupils_without_x().sigma2), 0.006, 0.1, "y ~ w + (1 | school/class): result.sigma2."),
    _a("ex-09-variance", "class_var_without_x", "class variance without x",
       lambda: _vcov(_pupils_without_x(), 1), 0.006, 0.05,
       "y ~ w + (1 | school/class): the school:class row of varcorr."),
    # chapter 10
    _a("ex-10-end", "intercept", "intercept with time 0 at day 9 (ms)",
       lambda: _sleep_end()["intercept"], 0.06, 0.5, "Days_9 = Days - 9, then Reaction ~ Days_9 + (Days_9 | Subject)."),
    _a("ex-10-end", "sd_intercept", "SD of the intercepts with time 0 at day 9 (ms)",
       lambda: _sleep_end()["sd_intercept"], 0.06, 0.5, "The square root of the first vcov of varcorr (an SD, not the variance)."),
    _a("ex-10-end", "corr", "intercept-slope correlation with time 0 at day 9",
       lambda: _sleep_end()["corr"], 0.006, 0.03,
       "tau01 / sqrt(tau00 * tau11) of the Days_9 fit, or the exercise's formula with a0 = 9."),
    _a("ex-10-weeks", "slope", "average slope with time in weeks (ms per week)",
       lambda: float(_sleep_weeks().fixed.loc["Weeks", "estimate"]), 0.006, 0.1, "Weeks = Days / 7, REML."),
    _a("ex-10-weeks", "tau11", "slope variance with time in weeks",
       lambda: _vcov(_sleep_weeks(), 1), 0.06, 2.0, "The second row of varcorr (a variance, per week squared)."),
    _a("ex-10-weeks", "loglik", "REML log-likelihood with time in weeks",
       lambda: float(_sleep_weeks().loglik), 0.006, 0.05, "result.loglik of the Weeks fit (REML, the default)."),
    # chapter 11
    _a("ex-11-332", "slope", "average slope without the largest residual (ms per day)",
       lambda: _sleep_without_outlier()["slope"], 0.006, 0.05,
       "Drop the row with the largest |residual| of residual_table(sleep_fit), refit (Days | Subject)."),
    _a("ex-11-332", "sigma2", "residual variance without the largest residual",
       lambda: _sleep_without_outlier()["sigma2"], 0.06, 1.0, "result.sigma2 of the refit (a variance)."),
    _a("ex-11-332", "sd_slope", "SD of the slopes without the largest residual (ms per day)",
       lambda: _sleep_without_outlier()["sd_slope"], 0.006, 0.05, "The sdcor of the Days row of varcorr (an SD)."),
    _a("ex-11-sleep-influence", "cooks_subject", "subject with the largest Cook's distance",
       lambda: _sleep_influence()["cooks_subject"], 0, 0,
       "The idxmax of the cooks_d column of diagnostics.influence(sleep_fit).", integer=True),
    _a("ex-11-sleep-influence", "cooks_max", "largest Cook's distance",
       lambda: _sleep_influence()["cooks_max"], 0.006, 0.02, "The max of the cooks_d column."),
    _a("ex-11-sleep-influence", "slope_var_subject", "subject whose removal reduces the slope variance most",
       lambda: _sleep_influence()["slope_var_subject"], 0, 0,
       "The idxmin of the rel_var(Days) column (the most negative relative change).", integer=True),
    _a("ex-11-sleep-influence", "rel_var_min", "relative change of the slope variance without that subject",
       lambda: _sleep_influence()["rel_var_min"], 0.006, 0.03,
       "The min of rel_var(Days): a relative change (a fraction, negative), not a percentage."),
    _a("ex-11-funnel", "p", "p-value of diagnostics.variance_test on the funnel data",
       lambda: _funnel_p(), 0.006, 0.03,
       "np.random.default_rng(3), drawing x, the group effects and the errors in the solution's order."),
    _a("ex-11-slope", "sigma2", "residual variance of the random-slope fit",
       lambda: _outlier_slope()["sigma2"], 0.006, 0.05, "y ~ x + (1 + x | group) on df_out: result.sigma2."),
    _a("ex-11-slope", "se", "SE of the average slope of x in the random-slope fit",
       lambda: _outlier_slope()["se"], 0.0006, 0.005, "The se of the x row of result.fixed."),
    _a("ex-11-slope", "dfbeta", "dfbeta_x of group 0 in the random-slope fit",
       lambda: _outlier_slope()["dfbeta"], 0.006, 0.05,
       "diagnostics.influence(random-slope fit), the dfbeta_x of the first group (with its sign)."),
    # chapter 13
    _a("ex-13-hsb", "gap", "sector gap (coefficient of Sector[T.Public]) with Minority and Sex (points)",
       lambda: float(_hsb_m5().fixed.loc["Sector[T.Public]", "estimate"]), 0.006, 0.05,
       "M4 of case 1 plus Minority + Sex; SES centred within schools (centring.centre_within); "
       "Catholic is the reference, so the coefficient is negative if public schools score lower."),
    _a("ex-13-hsb", "gap_ci_lower", "lower end of the 95% CI of the gap",
       lambda: float(_hsb_m5().fixed.loc["Sector[T.Public]", "ci_lower"]), 0.006, 0.05,
       "The ci_lower of the Sector[T.Public] row."),
    _a("ex-13-hsb", "gap_ci_upper", "upper end of the 95% CI of the gap",
       lambda: float(_hsb_m5().fixed.loc["Sector[T.Public]", "ci_upper"]), 0.006, 0.05,
       "The ci_upper of the Sector[T.Public] row."),
    _a("ex-13-hsb", "slope_difference", "sector difference in SES slopes (SES_c:Sector[T.Public])",
       lambda: float(_hsb_m5().fixed.loc["SES_c:Sector[T.Public]", "estimate"]), 0.006, 0.05,
       "The SES_c:Sector[T.Public] row: how much steeper the SES slope is in public schools."),
    _a("ex-13-hsb", "tau00", "intercept variance between schools with Minority and Sex",
       lambda: _vcov(_hsb_m5(), 0), 0.006, 0.05, "The first row of varcorr (a variance)."),
    _a("ex-13-hsb", "tau11", "SES_c slope variance with Minority and Sex",
       lambda: _vcov(_hsb_m5(), 1), 0.006, 0.02, "The second row of varcorr (a variance)."),
    _a("ex-13-few", "n_patients", "patients in the 8-hospital pilot",
       lambda: _pilot()["n_patients"], 0, 0,
       "Count rows of the pilot's data (one row per patient), not hospitals; simulate it as the exercise says.",
       integer=True),
    _a("ex-13-few", "effect", "average treatment effect in the pilot (mmHg)",
       lambda: _pilot()["estimate"], 0.006, 0.05,
       "reduction ~ treat + age_c + baseline_c + (1 + treat | hospital): the treat row."),
    _a("ex-13-few", "sd_between", "SD of the hospital effects in the pilot (mmHg)",
       lambda: _pilot()["sd_between"], 0.006, 0.05,
       "The SD of the treat slopes (sdcor), or sd_between of casestudies.new_group_effect."),
    _a("ex-13-few", "pi_lower", "lower end of the 95% prediction interval (mmHg)",
       lambda: _pilot()["pi_lower"], 0.006, 0.05, "casestudies.new_group_effect(result, 'treat')."),
    _a("ex-13-few", "pi_upper", "upper end of the 95% prediction interval (mmHg)",
       lambda: _pilot()["pi_upper"], 0.006, 0.05, "casestudies.new_group_effect(result, 'treat')."),
    _a("ex-13-few", "share_helped", "estimated share of hospitals helped (a proportion)",
       lambda: _pilot()["share_positive"], 0.005, 0.02, "share_positive of casestudies.new_group_effect."),
    # the three SEs differ in the fourth decimal: tolerances are at that rounding
    _a("ex-13-grunfeld", "se_pooled", "SE of capital, pooled OLS",
       lambda: _grunfeld_se()["se_pooled"], 0.00006, 0.0005, "smf.ols('invest ~ value + capital', panel).bse."),
    _a("ex-13-grunfeld", "se_ri", "SE of capital, random intercept",
       lambda: _grunfeld_se()["se_ri"], 0.00006, 0.0005, "mh.fit with (1 | firm), REML: the capital row's se."),
    _a("ex-13-grunfeld", "se_fe", "SE of capital, firm fixed effects",
       lambda: _grunfeld_se()["se_fe"], 0.00006, 0.0005, "smf.ols with + C(firm): the capital bse."),
    _a("ex-13-grunfeld", "icc_resid", "ICC by firm of the pooled OLS residuals",
       lambda: _grunfeld_se()["icc_resid"], 0.006, 0.03, "mh.icc_anova(panel, 'ols_resid', 'firm').icc."),
    _a("ex-13-read", "slope_public", "within-school SES slope in public schools in M4 (points per unit of SES)",
       lambda: float(_hsb_m4().fixed.loc["SES_c", "estimate"] + _hsb_m4().fixed.loc["SES_c:Sector[T.Public]", "estimate"]),
       0.006, 0.05, "The SES_c coefficient is the slope in Catholic schools (the reference); add the interaction."),
    # chapter 14 (the capstone, mlmRev's Chem97)
    _a("ex-14-look", "median_size", "median number of chemistry students per school",
       lambda: float(_chem_sizes().median()), 0, 1, "chem.groupby('school').size(), then its median.",
       integer=True),
    _a("ex-14-look", "single", "schools with a single chemistry student",
       lambda: float((_chem_sizes() == 1).sum()), 0, 2, "Count the schools whose size is exactly 1.", integer=True),
    _a("ex-14-null", "tau00", "between-school variance of the null model",
       lambda: _vcov(_chem_fit("m0"), 0), 0.006, 0.05, "score ~ 1 + (1 | school), REML: the first vcov of varcorr."),
    _a("ex-14-null", "icc", "ICC of the null model",
       lambda: float(_chem_fit("m0").icc), 0.0006, 0.01, "tau00 / (tau00 + sigma2), or mh.icc(m0).estimate."),
    _a("ex-14-null", "design_effect", "design effect at the mean school size",
       lambda: design_effect(float(_chem_fit("m0").icc), float(_chem_sizes().mean())), 0.006, 0.05,
       "1 + (m - 1) * ICC with m the MEAN number of students per school (31022 / 2410)."),
    _a("ex-14-context", "within", "within-school GCSE effect (coefficient of gcse_c, points per GCSE point)",
       lambda: _chem_fixed("m1", "gcse_c"), 0.006, 0.05,
       "score ~ gcse_c + gcse_gm + (1 | school) with gcse_c = GCSE minus the school's mean GCSE."),
    _a("ex-14-context", "between", "between-school GCSE effect (coefficient of gcse_gm)",
       lambda: _chem_fixed("m1", "gcse_gm"), 0.006, 0.05, "The gcse_gm row of m1.fixed."),
    _a("ex-14-context", "contextual", "contextual effect: coefficient of gcse_gm minus that of gcse_c",
       lambda: _chem_fixed("m1", "gcse_gm") - _chem_fixed("m1", "gcse_c"), 0.006, 0.05,
       "Between minus within, with GCSE centred WITHIN schools (gcse_c), not raw GCSE."),
    _a("ex-14-context", "tau00_explained", "share of the null model's tau00 explained by M1 (a proportion)",
       lambda: 1 - _vcov(_chem_fit("m1"), 0) / _vcov(_chem_fit("m0"), 0), 0.006, 0.03,
       "1 - tau00(M1) / tau00(null model), a proportion between 0 and 1."),
    _a("ex-14-slope", "lr", "likelihood-ratio statistic for the GCSE slope variance (M1 vs M2)",
       lambda: float(lrt(_chem_fit("m1"), _chem_fit("m2")).statistic), 0.06, 1.0,
       "Same fixed effects: mh.lrt(m1, m2) on the REML fits; random part (1 + gcse_c | school)."),
    _a("ex-14-slope", "sd_slope", "SD of the GCSE slopes between schools (points per GCSE point)",
       lambda: float(_chem_fit("m2").varcorr["sdcor"].iloc[1]), 0.006, 0.03,
       "The sdcor of the gcse_c row of m2.varcorr: an SD, not the variance."),
    _a("ex-14-gender", "gap_raw", "gender[T.M] without GCSE: boys minus girls (points)",
       lambda: _chem_fixed("m_gender", "gender[T.M]"), 0.006, 0.03,
       "score ~ gender + (1 | school); girls (F) are the reference, so the sign is boys minus girls."),
    _a("ex-14-gender", "gap_adjusted", "gender[T.M] in M3, with GCSE (points)",
       lambda: _chem_fixed("m3", "gender[T.M]"), 0.006, 0.03,
       "score ~ gcse_c + gcse_gm + gender + (1 + gcse_c | school): the gender[T.M] row."),
    _a("ex-14-check", "share_above_10", "share of M3's fitted values above 10 points (a proportion)",
       lambda: _chem_share_above_10(), 0.0006, 0.005,
       "The fitted column of diagnostics.residual_table(m3) (school effects included), compared with 10."),
    _a("ex-14-lea", "tau_lea", "LEA variance tau_v of score ~ gcse_c + gcse_gm + (1 | lea) + (1 | school)",
       lambda: float(_chem_fit("m_lea").varcorr.set_index("group").loc["lea", "vcov"]), 0.0006, 0.005,
       "The lea row of m_lea.varcorr (a variance, not an SD)."),
    _a("ex-14-lea", "share_moved", "share of M1's school variance that moves to the LEAs (a proportion)",
       lambda: 1 - float(_chem_fit("m_lea").varcorr.set_index("group").loc["school", "vcov"])
       / _vcov(_chem_fit("m1"), 0), 0.0006, 0.005,
       "1 - tau_school(m_lea) / tau00(M1), both REML."),
]


# Exercises of the chapters that are deliberately not checkable, with the reason (the tests
# require every exercise label of the chapters to be either registered or listed here).
SKIPPED: dict[str, str] = {
    "ex-00-read": "no number to check: the answer locates the estimates in a printed summary.",
    "ex-01-equations": "no number to check: the answer is the model's equations, written out.",
    "ex-06-which": "no number to check: the answer names fits (ML or REML) and reference distributions.",
    "ex-04-equations": "no number to check: the answer is the model's equations, written out.",
    "ex-03-read": "no number to check: the answer reads two printed variance components in words.",
    "ex-02-variance": "no number to check: the answer says which variance component can fall, in words.",
    "ex-05-rescale": "answered in words (what a change of units does to theta, the variances and the curve); "
                     "the solution shows the check.",
    "ex-07-equations": "no number to check: the answer is the model's equations and which variance would fall.",
    "ex-07-read": "read off the printed output (its numbers are the chapter's own, glued into the solution).",
    "ex-13-cluster": "answered in words (what cluster randomisation can and cannot estimate).",
    "ex-07-halve": "a prediction answered in words; running it means a new simulation study (about 30 s).",
    "ex-08-labels": "no number to check: the answers are nesting structures ('nested', 'identical').",
    "ex-08-equations": "no number to check: the answer is a model written out and an argument about identifiability.",
    "ex-10-link": "300 replications with two mh.fit calls each (about 4 s); nothing cheaper gives the same numbers.",
    "ex-10-grunfeld-slope": (
        "a question about reading a fragile fit (how the intercept and slope variances trade off), "
        "answered in words; its numbers are in the solution."
    ),
    "ex-12-t": "needs the chapter's full Monte Carlo study (montecarlo.run_study, 1,000 replications per cell).",
    "ex-12-power": "4 x 1,000 simulated designs with montecarlo.run_design: far too slow to check on demand.",
    "ex-12-hsb": "200 random-slope fits on samples of schools: too slow to check on demand.",
    "ex-12-design": "no number to compute: the answers are read from the chapter's tables and argued in words.",
    "ex-14-predict": "a prediction in words (which variance falls), made before fitting: no number to check.",
    "ex-14-equations": "no number to check: the answer is the model's level-1 and level-2 equations.",
    "ex-14-report": "no number to check: the answer is a results paragraph written from the output.",
}

# The book's order of the exercises of the chapters with skipped ones, so that "08-2" still means
# the second exercise of chapter 08 in the book (the tests compare this with the notebooks).
_BOOK_ORDER: dict[str, list[str]] = {
    "00": ["ex-00-sector", "ex-00-meanses", "ex-00-simulate", "ex-00-predict", "ex-00-read"],
    "01": ["ex-01-predict", "ex-01-equations", "ex-01-hsb-deff", "ex-01-subsample", "ex-01-design"],
    "02": ["ex-02-dyestuff", "ex-02-sleep", "ex-02-plan", "ex-02-read", "ex-02-variance"],
    "03": ["ex-03-meanses", "ex-03-by-hand", "ex-03-explorer", "ex-03-predict", "ex-03-read"],
    "04": ["ex-04-uncentred", "ex-04-sleep-vpc", "ex-04-explorer", "ex-04-predict", "ex-04-equations"],
    "05": ["ex-05-sleep", "ex-05-shortfall", "ex-05-rescale", "ex-05-groupsize", "ex-05-prior", "ex-05-grid",
           "ex-05-cholesky"],
    "06": ["ex-06-sector", "ex-06-dyestuff", "ex-06-power", "ex-06-read", "ex-06-which"],
    "07": ["ex-07-hsb", "ex-07-context", "ex-07-fewer", "ex-07-equations", "ex-07-read", "ex-07-halve"],
    "08": ["ex-08-penicillin", "ex-08-labels", "ex-08-fully", "ex-08-equations", "ex-08-predict"],
    "10": ["ex-10-end", "ex-10-link", "ex-10-grunfeld-slope", "ex-10-weeks"],
    "12": ["ex-12-t", "ex-12-power", "ex-12-hsb", "ex-12-design"],
    "13": ["ex-13-hsb", "ex-13-few", "ex-13-grunfeld", "ex-13-read", "ex-13-cluster"],
    "14": ["ex-14-look", "ex-14-null", "ex-14-predict", "ex-14-context", "ex-14-equations", "ex-14-slope",
           "ex-14-gender", "ex-14-check", "ex-14-report", "ex-14-lea"],
}

_BY_KEY: dict[tuple[str, str], Answer] = {(a.exercise, a.part): a for a in REGISTRY}


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------
VERDICTS = ("correct", "close", "not yet")


@dataclass(frozen=True)
class AnswerCheck:
    """The verdict on one answer: ``verdict`` is "correct", "close" or "not yet"; ``message`` says why.

    ``value`` is the number that was checked (``None`` when the value given was not a number).
    """

    exercise: str
    part: str
    value: float | None
    verdict: str
    message: str

    @property
    def ok(self) -> bool:
        return self.verdict == "correct"

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message


def _exercise_labels() -> list[str]:
    return list(dict.fromkeys(a.exercise for a in REGISTRY))


def _chapter_labels(chapter: str) -> list[str]:
    """The chapter's exercises in the book's order, skipped ones included."""
    if chapter in _BOOK_ORDER:
        return list(_BOOK_ORDER[chapter])
    in_chapter: list[str] = []
    for a in REGISTRY:  # registry order is the chapter's order of exercises
        if a.chapter == chapter and a.exercise not in in_chapter:
            in_chapter.append(a.exercise)
    return in_chapter


def _resolve(exercise_id: str) -> str:
    """Accept "ex-02-sleep", "02-sleep" or "02-2" (second exercise of chapter 02)."""
    if not isinstance(exercise_id, str):
        raise MLMInputError(f"exercise_id must be a string such as 'ex-02-sleep', not {exercise_id!r}.")
    key = exercise_id.strip().lower()
    labels = _exercise_labels()
    if key in labels:
        return key
    if "ex-" + key in labels:
        return "ex-" + key
    match = re.fullmatch(r"(?:ex-)?(\d{2})-(\d+)", key)
    if match:
        in_chapter = _chapter_labels(match.group(1))
        number = int(match.group(2))
        if 1 <= number <= len(in_chapter):
            key = in_chapter[number - 1]
            if key in labels:
                return key
    if key in SKIPPED or "ex-" + key in SKIPPED:
        label = key if key in SKIPPED else "ex-" + key
        raise MLMInputError(f"{label} cannot be checked here: {SKIPPED[label]} Compare with the solution in the book.")
    import difflib

    near = difflib.get_close_matches(key, labels, n=3)
    raise MLMInputError(
        f"No checkable exercise {exercise_id!r}. "
        + (f"Did you mean {', '.join(map(repr, near))}? " if near else "")
        + "See mh.list_exercises() for all of them."
    )


def reference_answer(exercise_id: str, part: str | None = None) -> float:
    """The reference answer of one part, computed from the course data (for instructors and tests).

    Parameters
    ----------
    exercise_id
        As for :func:`check_answer`.
    part
        Which number of the exercise; may be left out when it asks for one number only.

    Returns
    -------
    float or int
        The unrounded answer, as the solution's code computes it.

    Examples
    --------
    >>> from mlm_helpers import exercises
    >>> exercises.reference_answer("ex-02-plan", "schools_50")
    79
    """
    return _lookup(exercise_id, part).compute()


def _lookup(exercise_id: str, part: str | None) -> Answer:
    label = _resolve(exercise_id)
    parts = [a.part for a in REGISTRY if a.exercise == label]
    if part is None:
        if len(parts) == 1:
            part = parts[0]
        else:
            raise MLMInputError(
                f"Exercise {label!r} asks for several numbers; say which with part=, one of {parts}."
            )
    if (label, part) not in _BY_KEY:
        raise MLMInputError(f"Exercise {label!r} has no part {part!r}; its parts are {parts}.")
    return _BY_KEY[(label, part)]


def _call(answer: Answer, shown: str) -> str:
    return f"mh.check_answer({answer.exercise!r}, {shown}, part={answer.part!r})"


def _as_number(value: object, answer: Answer) -> tuple[float | None, str]:
    """``(number, "")`` when ``value`` is, or plainly holds, one number; else ``(None, how to pass it)``."""
    example = _call(answer, "0.123" if not answer.integer else "12")
    if isinstance(value, bool) or value is None:
        return None, (f"{value!r} is not a number. Pass the number the question asks for, e.g. {example}.")
    if isinstance(value, str):
        return None, (
            f"{value!r} is a string (text in quotes), not a number. Pass the number itself, without quotes: "
            + (_call(answer, value.strip()) if _is_float_text(value) else example) + "."
        )
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value), ""
    # ICCResult and other result objects with one obvious number (not pandas rows, whose labels are
    # attributes too: a row of estimate, se, ... holds several numbers)
    estimate = None if isinstance(value, pd.Series | pd.DataFrame) else getattr(value, "estimate", None)
    if isinstance(estimate, int | float | np.integer | np.floating) and not isinstance(estimate, bool):
        return float(estimate), ""
    if isinstance(value, pd.DataFrame | pd.Series | np.ndarray | list | tuple):
        flat = np.asarray(value, dtype=object).ravel()
        if flat.size == 1:
            return _as_number(flat[0].item() if hasattr(flat[0], "item") else flat[0], answer)
        kind = {"ndarray": "NumPy array"}.get(type(value).__name__, type(value).__name__)
        where = ""
        if isinstance(value, pd.Series):
            where = f" (labels {list(map(str, value.index[:6]))})"
        elif isinstance(value, pd.DataFrame):
            where = f" (columns {list(map(str, value.columns[:6]))})"
        return None, (
            f"a {kind} with {flat.size} values{where}, not one number. Pick the one the question asks for, "
            "e.g. row['estimate'], table.loc['SES', 'estimate'] or values[0], and pass it: " + example + "."
        )
    try:
        number = float(value)  # type: ignore[arg-type]  # Decimal, Fraction, 0-d arrays...
    except (TypeError, ValueError):
        return None, (
            f"a {type(value).__name__}, not a number. Pass the number the question asks for, "
            f"e.g. result.icc or float(result.fixed.loc['SES', 'estimate']): {example}."
        )
    return number, ""


def _is_float_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_answer(exercise_id: str, value: object, part: str | None = None) -> AnswerCheck:
    """Check a numeric answer to a chapter exercise.

    Parameters
    ----------
    exercise_id
        The exercise's label as in the book (``"ex-02-sleep"``), without the ``ex-``
        (``"02-sleep"``), or chapter and number (``"02-2"``: the second exercise of chapter 02).
    value
        Your number, as the question asks for it (a proportion as 0.44, not 44%, unless the
        question says percentage). A result holding one obvious number is read too: an
        ``mh.icc(...)`` result (its estimate) or a pandas Series, row or array with one value.
        Anything else (a string, a table with several numbers) gets a "not yet" that shows how
        to pass the number.
    part
        Which number of the exercise (see :func:`list_exercises`); may be left out when the
        exercise asks for one number only.

    Returns
    -------
    AnswerCheck
        ``verdict`` "correct" (within the solution's rounding), "close" (within a looser
        tolerance, explained) or "not yet" (with a hint); print it to read the message.

    Examples
    --------
    >>> from mlm_helpers import exercises
    >>> exercises.check_answer("ex-02-plan", 86, part="schools_25").ok
    True
    >>> exercises.check_answer("ex-02-plan", 43, part="schools_25").verdict
    'not yet'
    >>> exercises.check_answer("ex-02-plan", "86", part="schools_25").verdict
    'not yet'
    """
    answer = _lookup(exercise_id, part)
    what = f"{answer.exercise} ({answer.part}: {answer.question})"
    x, how = _as_number(value, answer)
    if x is None:
        return AnswerCheck(answer.exercise, answer.part, None, "not yet", f"not yet: {how}")
    if not math.isfinite(x):
        return AnswerCheck(
            answer.exercise, answer.part, x, "not yet",
            f"not yet: {x} is not a finite number; the answer to {what} is. Check the computation "
            "that gave it (a division by zero, a missing value, a failed fit).",
        )
    ref = float(answer.compute())
    err = abs(x - ref)
    exact = answer.integer and answer.tol == 0
    if err <= answer.tol + 1e-12:
        return AnswerCheck(answer.exercise, answer.part, x, "correct", f"correct: {x:g} for {what}.")
    if err <= answer.close + 1e-12:
        if exact:
            message = (f"close: {x:g} is near the answer to {what}, a whole number that must match exactly "
                       f"(\"close\" means within ±{answer.close:g} of it). Hint: {answer.hint}")
        else:
            message = (f"close: {x:g} is near the answer to {what}, but not within the ±{answer.tol:g} that "
                       f"\"correct\" allows (\"close\" means within ±{answer.close:g}). Check your rounding, "
                       "or that you used the same data, formula and seed as the exercise.")
        return AnswerCheck(answer.exercise, answer.part, x, "close", message)
    scale_note = ""
    if ref != 0 and (abs(x / 100 - ref) <= answer.close or abs(x * 100 - ref) <= answer.close):
        scale_note = " Your number is off by a factor of 100: a percentage where a proportion is asked, or the reverse?"
    elif ref != 0 and x != 0 and abs(x**2 - ref) <= answer.close:
        scale_note = " Your number squared would fit: did you give a standard deviation where a variance is asked?"
    elif ref > 0 and x > 0 and abs(math.sqrt(x) - ref) <= answer.close:
        scale_note = " Its square root would fit: did you give a variance where a standard deviation is asked?"
    elif ref != 0 and abs(x + ref) <= answer.close:
        scale_note = " Check the sign."
    return AnswerCheck(
        answer.exercise, answer.part, x, "not yet",
        f"not yet: {x:g} is not the answer to {what}.{scale_note} Hint: {answer.hint}",
    )


def list_exercises(chapter: str | int | None = None) -> pd.DataFrame:
    """The exercises (and their parts) that :func:`check_answer` can check.

    Parameters
    ----------
    chapter
        Only this chapter (``2`` or ``"02"``); default: all.

    Returns
    -------
    pandas.DataFrame
        Columns exercise, part, chapter, question, tolerance (half-width of "correct").

    Examples
    --------
    >>> from mlm_helpers import exercises
    >>> exercises.list_exercises(2)["exercise"].unique().tolist()
    ['ex-02-dyestuff', 'ex-02-sleep', 'ex-02-plan', 'ex-02-read']
    """
    rows = [
        {"exercise": a.exercise, "part": a.part, "chapter": a.chapter, "question": a.question, "tolerance": a.tol}
        for a in REGISTRY
    ]
    table = pd.DataFrame(rows)
    if chapter is not None:
        table = table[table["chapter"] == f"{int(chapter):02d}"].reset_index(drop=True)
    return table
