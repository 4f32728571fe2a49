"""Data and summaries for the three case studies of chapter 13.

Two simulators with stated, realistic generating values (every value is in the
returned frame's ``attrs["truth"]``) and one summary that turns a random-slope
fit into the numbers a policy decision needs:

- :func:`simulate_hospitals`: patients within hospitals in a trial of a
  blood-pressure treatment whose effect varies between hospitals;
- :func:`simulate_firms`: firms within industries, productivity on R&D
  intensity, with an industry-varying slope explained by market concentration;
- :func:`new_group_effect`: the confidence interval of an average effect, the
  prediction interval of the effect in a new group, and the share of groups
  where the effect has the expected sign.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import MLMInputError
from ..model.result import MixedResult

__all__ = ["HOSPITAL_TRUTH", "FIRM_TRUTH", "simulate_hospitals", "simulate_firms", "new_group_effect"]

#: Generating values of :func:`simulate_hospitals` (mmHg, years).
HOSPITAL_TRUTH: dict[str, float] = {
    "control_mean": 6.0,  # mean SBP reduction (mmHg) under usual care, for an average patient
    "ate": 5.0,  # average extra reduction (mmHg) with the new treatment
    "sd_hospital": 3.0,  # SD of hospital levels under usual care (mmHg)
    "sd_effect": 3.0,  # SD of the hospital-specific treatment effects (mmHg)
    "corr": 0.0,  # correlation of hospital level and hospital effect
    "age_effect": -0.10,  # mmHg per year of age above 65
    "baseline_effect": 0.25,  # mmHg per mmHg of baseline SBP above 155
    "sigma": 10.0,  # SD of patients around their hospital's expectation (mmHg)
    "age_sd": 10.0,  # SD of age (years), mean 65
    "baseline_sd": 15.0,  # SD of baseline SBP (mmHg), mean 155
}

#: Generating values of :func:`simulate_firms` (log productivity, R&D in % of sales).
FIRM_TRUTH: dict[str, float] = {
    "gamma00": 4.0,  # mean log labour productivity at average R&D in an industry of average concentration
    "gamma01": 0.30,  # log productivity per unit of concentration (0-1)
    "gamma10": 0.040,  # log productivity per percentage point of R&D intensity, at average concentration
    "gamma11": -0.15,  # change in the R&D slope per unit of concentration
    "tau00": 0.040,  # variance of industry intercepts
    "tau11": 0.0004,  # variance of industry R&D slopes (SD 0.02)
    "sigma2": 0.090,  # variance of firms around their industry's line
    "rd_sd": 2.0,  # SD of R&D intensity (percentage points) around its mean of 3%
    "hhi_low": 0.05,  # concentration (Herfindahl index) is uniform between these
    "hhi_high": 0.45,
}


def _sizes(rng: np.random.Generator, n_groups: int, size_range: tuple[int, int], what: str) -> np.ndarray:
    if not isinstance(n_groups, (int, np.integer)) or n_groups < 2:
        raise MLMInputError(f"n_{what} must be an integer of at least 2, got {n_groups!r}")
    lo, hi = size_range
    if not (1 <= lo <= hi):
        raise MLMInputError(f"size_range must be (min, max) with 1 <= min <= max, got {size_range!r}")
    return rng.integers(lo, hi + 1, size=n_groups)


def simulate_hospitals(
    n_hospitals: int = 40,
    size_range: tuple[int, int] = (30, 200),
    *,
    seed: int | np.random.Generator | None = 0,
    **truth: float,
) -> pd.DataFrame:
    """Simulate a multi-centre trial: patients randomised 1:1 within hospitals.

    The outcome is the reduction of systolic blood pressure (mmHg) after 12 weeks.
    For patient i in hospital j,
    ``reduction = control_mean + a_j + (ate + b_j) * treat + age_effect * (age - 65)
    + baseline_effect * (baseline - 155) + e``, with hospital effects
    ``(a_j, b_j)`` normal with SDs ``sd_hospital``, ``sd_effect`` and correlation
    ``corr``, and ``e ~ N(0, sigma^2)``. Defaults are :data:`HOSPITAL_TRUTH`.

    Parameters
    ----------
    n_hospitals : int
        Number of hospitals.
    size_range : (int, int)
        Each hospital's number of patients is uniform on this range (inclusive).
    seed : int or numpy Generator, optional
        Random seed.
    **truth : float
        Override any value of :data:`HOSPITAL_TRUTH` (e.g. ``sd_effect=0``).

    Returns
    -------
    pandas.DataFrame
        Columns ``hospital`` (H01, ...), ``treat`` (0/1), ``age`` (years),
        ``age_c`` (age - 65), ``baseline`` (mmHg), ``baseline_c`` (baseline - 155),
        ``reduction`` (mmHg); ``attrs["truth"]`` holds the generating values and
        ``attrs["hospital_effects"]`` the true ``ate + b_j`` per hospital.

    Examples
    --------
    >>> from mlm_helpers import casestudies
    >>> d = casestudies.simulate_hospitals(seed=1)
    >>> d["hospital"].nunique(), sorted(int(v) for v in d["treat"].unique())
    (40, [0, 1])
    """
    unknown = set(truth) - set(HOSPITAL_TRUTH)
    if unknown:
        raise MLMInputError(f"unknown generating value(s) {sorted(unknown)}; choose from {sorted(HOSPITAL_TRUTH)}")
    t = {**HOSPITAL_TRUTH, **{k: float(v) for k, v in truth.items()}}
    if t["sd_hospital"] < 0 or t["sd_effect"] < 0 or t["sigma"] <= 0 or not -1 <= t["corr"] <= 1:
        raise MLMInputError("sd_hospital and sd_effect must be >= 0, sigma > 0 and corr in [-1, 1]")
    rng = np.random.default_rng(seed)
    sizes = _sizes(rng, n_hospitals, size_range, "hospitals")
    cov = np.array([[t["sd_hospital"] ** 2, t["corr"] * t["sd_hospital"] * t["sd_effect"]],
                    [t["corr"] * t["sd_hospital"] * t["sd_effect"], t["sd_effect"] ** 2]])
    effects = rng.multivariate_normal([0.0, 0.0], cov, size=n_hospitals, method="eigh")
    width = len(str(n_hospitals))
    labels = np.array([f"H{j + 1:0{max(width, 2)}d}" for j in range(n_hospitals)])
    g = np.repeat(np.arange(n_hospitals), sizes)
    n = len(g)
    # 1:1 randomisation within each hospital (a random half, rounded, gets the treatment)
    treat = np.concatenate([rng.permutation(np.arange(m) < (m + 1) // 2) for m in sizes]).astype(int)
    age_c = rng.normal(0.0, t["age_sd"], n)
    base_c = rng.normal(0.0, t["baseline_sd"], n)
    y = (t["control_mean"] + effects[g, 0] + (t["ate"] + effects[g, 1]) * treat
         + t["age_effect"] * age_c + t["baseline_effect"] * base_c + rng.normal(0.0, t["sigma"], n))
    df = pd.DataFrame({
        "hospital": labels[g], "treat": treat, "age": 65 + age_c, "age_c": age_c,
        "baseline": 155 + base_c, "baseline_c": base_c, "reduction": y,
    })
    df.attrs["truth"] = t
    df.attrs["hospital_effects"] = pd.Series(t["ate"] + effects[:, 1], index=labels, name="effect")
    return df


def simulate_firms(
    n_industries: int = 30,
    size_range: tuple[int, int] = (10, 50),
    *,
    seed: int | np.random.Generator | None = 0,
    **truth: float,
) -> pd.DataFrame:
    """Simulate firms within industries: productivity on R&D, slope moderated by concentration.

    For firm i in industry j, with ``rd_c`` the R&D intensity minus 3 (percentage
    points of sales) and ``hhi_c`` the industry's Herfindahl index minus 0.25,
    ``log_prod = gamma00 + gamma01 * hhi_c + (gamma10 + gamma11 * hhi_c + u1_j) * rd_c
    + u0_j + e``, with independent ``u0_j ~ N(0, tau00)``, ``u1_j ~ N(0, tau11)``,
    ``e ~ N(0, sigma2)``. Defaults are :data:`FIRM_TRUTH`.

    Parameters
    ----------
    n_industries : int
        Number of industries.
    size_range : (int, int)
        Each industry's number of firms is uniform on this range (inclusive).
    seed : int or numpy Generator, optional
        Random seed.
    **truth : float
        Override any value of :data:`FIRM_TRUTH`.

    Returns
    -------
    pandas.DataFrame
        Columns ``industry`` (I01, ...), ``hhi`` (0-1), ``hhi_c``, ``rd`` (% of sales),
        ``rd_c``, ``log_prod`` (log of value added per worker); ``attrs["truth"]``.

    Examples
    --------
    >>> from mlm_helpers import casestudies
    >>> d = casestudies.simulate_firms(seed=1)
    >>> d["industry"].nunique(), bool(d["hhi"].between(0.05, 0.45).all())
    (30, True)
    """
    unknown = set(truth) - set(FIRM_TRUTH)
    if unknown:
        raise MLMInputError(f"unknown generating value(s) {sorted(unknown)}; choose from {sorted(FIRM_TRUTH)}")
    t = {**FIRM_TRUTH, **{k: float(v) for k, v in truth.items()}}
    if t["tau00"] < 0 or t["tau11"] < 0 or t["sigma2"] <= 0:
        raise MLMInputError("tau00 and tau11 must be >= 0 and sigma2 > 0")
    rng = np.random.default_rng(seed)
    sizes = _sizes(rng, n_industries, size_range, "industries")
    hhi = rng.uniform(t["hhi_low"], t["hhi_high"], n_industries)
    hhi_c = hhi - 0.25
    u0 = rng.normal(0.0, np.sqrt(t["tau00"]), n_industries)
    u1 = rng.normal(0.0, np.sqrt(t["tau11"]), n_industries)
    g = np.repeat(np.arange(n_industries), sizes)
    n = len(g)
    rd_c = rng.normal(0.0, t["rd_sd"], n)
    y = (t["gamma00"] + t["gamma01"] * hhi_c[g] + (t["gamma10"] + t["gamma11"] * hhi_c[g] + u1[g]) * rd_c
         + u0[g] + rng.normal(0.0, np.sqrt(t["sigma2"]), n))
    labels = np.array([f"I{j + 1:02d}" for j in range(n_industries)])
    df = pd.DataFrame({
        "industry": labels[g], "hhi": hhi[g], "hhi_c": hhi_c[g], "rd": 3 + rd_c, "rd_c": rd_c, "log_prod": y,
    })
    df.attrs["truth"] = t
    return df


def new_group_effect(result: MixedResult, term: str, *, level: float = 0.95) -> dict[str, float]:
    """Average effect of ``term``, its confidence interval, and the spread of group effects.

    With fixed effect :math:`\\hat\\gamma` (standard error :math:`s`) and random-slope
    variance :math:`\\hat\\tau_{11}`, the effect in a new group is
    :math:`\\gamma + u`, :math:`u \\sim N(0, \\tau_{11})`. Its approximate prediction
    interval is :math:`\\hat\\gamma \\pm z\\sqrt{\\hat\\tau_{11} + s^2}`, and the share
    of groups whose effect is above zero is
    :math:`\\Phi(\\hat\\gamma / \\sqrt{\\hat\\tau_{11}})` (plug-in).

    Parameters
    ----------
    result : MixedResult
        A fit with ``term`` in the fixed part and as a random slope of one grouping factor.
    term : str
        Name of the predictor, e.g. ``"treat"``.
    level : float
        Coverage of both intervals.

    Returns
    -------
    dict
        ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``sd_between`` (SD of the
        group effects), ``pi_lower``, ``pi_upper`` and ``share_positive``.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers import casestudies
    >>> fit = mh.fit("reduction ~ treat + (1 + treat | hospital)", casestudies.simulate_hospitals(seed=1))
    >>> e = casestudies.new_group_effect(fit, "treat")
    >>> bool(e["pi_upper"] - e["pi_lower"] > e["ci_upper"] - e["ci_lower"])
    True
    """
    if not isinstance(result, MixedResult):
        raise MLMInputError(f"result must be a MixedResult from mh.fit, got {type(result).__name__}")
    if not 0 < level < 1:
        raise MLMInputError(f"level must be between 0 and 1, got {level!r}")
    if term not in result.fixed.index:
        raise MLMInputError(f"{term!r} is not a fixed effect of the model; fixed effects: {list(result.fixed.index)}")
    vc = result.varcorr
    rows = vc[(vc["var1"] == term) & vc["var2"].isna()]
    if len(rows) != 1:
        raise MLMInputError(f"{term!r} has no random slope in the model; add it, e.g. (1 + {term} | group)")
    tau = float(rows["vcov"].iloc[0])
    est = float(result.fixed.loc[term, "estimate"])
    se = float(result.fixed.loc[term, "se"])
    z = float(stats.norm.ppf(0.5 + level / 2))
    half_pi = z * float(np.sqrt(tau + se**2))
    sd = float(np.sqrt(max(tau, 0.0)))
    share = float(stats.norm.cdf(est / sd)) if sd > 0 else float(est > 0)
    return {
        "estimate": est, "se": se, "ci_lower": est - z * se, "ci_upper": est + z * se,
        "sd_between": sd, "pi_lower": est - half_pi, "pi_upper": est + half_pi, "share_positive": share,
    }
