"""The intraclass correlation: from a fitted model (with an interval) and by ANOVA.

Examples
--------
>>> import mlm_helpers as mh
>>> hsb = mh.load_dataset("hsb")
>>> round(mh.icc_anova(hsb, "MathAch", "School").icc, 3)
0.18
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import MissingDataWarning, MLMInputError
from .deviance import profiled_deviance, sufficient_stats, sufficient_stats_arrays
from .engines.fast import fit_fast
from .result import MixedResult

__all__ = ["icc", "icc_anova", "ICCResult", "ICCAnova", "design_effect"]


@dataclass
class ICCResult:
    """An ICC estimate with its confidence interval."""

    estimate: float
    ci_lower: float
    ci_upper: float
    level: float
    method: str

    def __str__(self) -> str:
        return (f"ICC = {self.estimate:.3f}, {self.level:.0%} CI [{self.ci_lower:.3f}, {self.ci_upper:.3f}] "
                f"({self.method})")


def _check_ri(result: MixedResult) -> None:
    if not isinstance(result, MixedResult):
        raise MLMInputError(f"icc() needs a result of mh.fit(), got {type(result).__name__}.")
    blocks = result.model.blocks
    if len(blocks) != 1 or blocks[0].names != ["Intercept"]:
        raise MLMInputError(
            "icc() needs a random-intercept model with one grouping factor, such as "
            f"'y ~ 1 + (1 | g)'; this one is {result.formula!r}. {str(result.icc)}"
        )


def icc(result: MixedResult, level: float = 0.95, method: str = "profile", n_boot: int = 1000,
        seed: int | None = None) -> ICCResult:
    """ICC of a random-intercept fit with a confidence interval.

    Parameters
    ----------
    result : MixedResult
        A fit of ``y ~ ... + (1 | g)``.
    level : float
        Confidence level.
    method : {"profile", "bootstrap"}
        ``"profile"``: the profile-likelihood interval. The ICC equals
        ``theta**2 / (1 + theta**2)`` where ``theta = sqrt(tau00) / sigma`` is
        the one parameter of the profiled deviance, so the interval is the set
        of theta whose deviance lies within ``chi2(1).ppf(level)`` of the
        minimum (REML or ML, as the fit). ``"bootstrap"``: parametric
        bootstrap percentile interval (``n_boot`` refits with the fast engine).
    n_boot : int
        Bootstrap replications.
    seed : int, optional
        Seed for the bootstrap.

    Returns
    -------
    ICCResult

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("MathAch ~ 1 + (1 | School)", mh.load_dataset("hsb"))
    >>> r = mh.icc(res)
    >>> round(r.estimate, 3), round(r.ci_lower, 3), round(r.ci_upper, 3)
    (0.18, 0.147, 0.221)
    """
    _check_ri(result)
    if not 0 < level < 1:
        raise MLMInputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}.")
    model = result.model
    ss = sufficient_stats(model)
    reml = result.reml
    est = float(result.icc)
    if method == "profile":
        ff = fit_fast(ss, reml=reml)
        t_hat = float(ff.theta[0])
        d_hat = ff.deviance
        crit = float(stats.chi2.ppf(level, 1))

        def excess(t: float) -> float:
            return profiled_deviance([t], ss, reml) - d_hat - crit

        lo = 0.0 if excess(0.0) <= 0 else optimize.brentq(excess, 0.0, t_hat, xtol=1e-12)
        hi_b = max(2 * t_hat, 1e-3)
        while excess(hi_b) < 0:
            hi_b *= 2
            if hi_b > 1e8:
                break
        hi = optimize.brentq(excess, t_hat, hi_b, xtol=1e-12) if excess(hi_b) > 0 else np.inf
        def to_icc(t: float) -> float:
            return t * t / (1 + t * t)

        return ICCResult(est, to_icc(lo), 1.0 if np.isinf(hi) else to_icc(hi), level,
                         f"profile likelihood ({'REML' if reml else 'ML'})")
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        b = model.blocks[0]
        beta = result.fixed["estimate"].to_numpy()
        tau = float(result.varcorr["vcov"].iloc[0])
        mu = model.X @ beta
        J = b.n_levels
        draws = np.empty(n_boot)
        for k in range(n_boot):
            y = mu + np.sqrt(tau) * rng.standard_normal(J)[b.codes] + np.sqrt(result.sigma2) * rng.standard_normal(
                model.nobs)
            ssk = sufficient_stats_arrays(y, model.X, b.Z, b.codes, J, b.pattern)
            t = float(fit_fast(ssk, reml=reml).theta[0])
            draws[k] = t * t / (1 + t * t)
        a = (1 - level) / 2
        return ICCResult(est, float(np.quantile(draws, a)), float(np.quantile(draws, 1 - a)), level,
                         f"parametric bootstrap, {n_boot} refits")
    raise MLMInputError(f"method must be 'profile' or 'bootstrap', got {method!r}.")


@dataclass
class ICCAnova:
    """The one-way ANOVA (method-of-moments) estimate of the ICC and its pieces."""

    icc: float
    tau00: float
    sigma2: float
    msb: float
    msw: float
    n0: float
    n_groups: int
    nobs: int

    def __str__(self) -> str:
        return (f"ANOVA ICC = {self.icc:.3f} (MSB {self.msb:.3f}, MSW {self.msw:.3f}, n0 {self.n0:.2f}, "
                f"{self.n_groups} groups, {self.nobs} observations)")


def icc_anova(data: pd.DataFrame, y: str, group: str) -> ICCAnova:
    """Method-of-moments (one-way ANOVA) ICC, correct for unbalanced groups.

    With :math:`J` groups of sizes :math:`n_j` and :math:`N = \\sum n_j`,

    .. math::
        n_0 = \\frac{N - \\sum_j n_j^2 / N}{J - 1},\\quad
        \\hat\\tau_{00} = \\frac{MSB - MSW}{n_0},\\quad
        \\hat\\rho = \\frac{\\hat\\tau_{00}}{\\hat\\tau_{00} + MSW}.

    For balanced data :math:`n_0` is the common group size. The estimate can
    be negative when MSB < MSW (reported as it is: it is unbiased-ish, a
    truncation at 0 is a choice).

    Parameters
    ----------
    data : DataFrame
    y : str
        Numeric outcome column.
    group : str
        Grouping column.

    Returns
    -------
    ICCAnova

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> r = icc_anova(mh.load_dataset("dyestuff"), "Yield", "Batch")
    >>> round(r.icc, 3), r.n0
    (0.418, 5.0)
    """
    if not isinstance(data, pd.DataFrame):
        raise MLMInputError(f"data must be a DataFrame, got {type(data).__name__}.")
    for col in (y, group):
        if col not in data.columns:
            raise MLMInputError(f"Column {col!r} is not in the data. Columns: {', '.join(map(str, data.columns))}.")
    if not pd.api.types.is_numeric_dtype(data[y]) or pd.api.types.is_bool_dtype(data[y]):
        raise MLMInputError(f"The outcome {y!r} must be numeric (dtype is {data[y].dtype}).")
    d = data[[y, group]]
    bad = d.isna().any(axis=1)
    if bad.any():
        warnings.warn(f"Dropped {int(bad.sum())} rows with missing {y!r} or {group!r}.", MissingDataWarning,
                      stacklevel=2)
        d = d[~bad]
    g = d.groupby(group, observed=True)[y]
    n_j = g.size().to_numpy(dtype=float)
    means = g.mean().to_numpy()
    J = len(n_j)
    N = float(n_j.sum())
    if J < 2:
        raise MLMInputError(f"{group!r} has a single group: the ICC needs at least two groups.")
    if N <= J:
        raise MLMInputError("Every group has one observation: the within-group variance cannot be estimated.")
    grand = float(d[y].mean())
    ssb = float((n_j * (means - grand) ** 2).sum())
    ssw = float(((d[y] - g.transform("mean")) ** 2).sum())
    msb = ssb / (J - 1)
    msw = ssw / (N - J)
    n0 = (N - (n_j**2).sum() / N) / (J - 1)
    tau = (msb - msw) / n0
    return ICCAnova(float(tau / (tau + msw)), float(tau), float(msw), float(msb), float(msw), float(n0), J, int(N))


def design_effect(icc_value: float, cluster_size: float) -> float:
    """Kish's design effect ``1 + (m - 1) * ICC`` for clusters of size ``m``.

    The variance of a mean from clustered data is this many times the
    variance from the same number of independent observations.

    Parameters
    ----------
    icc_value : float
        The intraclass correlation.
    cluster_size : float
        Observations per cluster (the mean size for unequal clusters).

    Returns
    -------
    float

    Examples
    --------
    >>> design_effect(0.18, 45)
    8.92
    """
    if cluster_size < 1:
        raise MLMInputError(f"cluster_size must be at least 1, got {cluster_size!r}.")
    return float(round(1 + (cluster_size - 1) * icc_value, 12))
