"""What clustering does to estimates: simulations behind chapters 01 and 02.

Data with units nested in groups are simulated from the random-intercept model

.. math::

    y_{ij} = \\gamma_{00} + \\beta_x x_{ij} + \\gamma_w w_j + u_{0j} + e_{ij},\\qquad
    u_{0j} \\sim N(0, \\rho),\\quad e_{ij} \\sim N(0, 1 - \\rho),

so the total residual variance is 1 and the intraclass correlation is :math:`\\rho`.
``x`` is a level-1 predictor with variance 1, of which a share ``x_icc``
(:math:`\\rho_x`, the ICC of ``x``) lies between groups, and ``w`` a level-2
predictor (one standard-normal value per group). The functions compare ordinary
least squares (OLS), which treats all units as independent, with the mixed
model, and the design effect :math:`1 + (m - 1)\\rho` of :cite:t:`kish1965`
with the variance inflation the simulation shows. For the slope of ``x`` the
design effect is about :math:`1 + (m - 1)\\rho_x\\rho`
:cite:p:`scott1982effect,moulton1986random` (:func:`slope_design_effect`): OLS is about right
for a level-1 slope only when ``x`` varies little between groups.
:func:`slope_se_comparison` puts the OLS, random-intercept and cluster-robust
standard errors of a slope side by side on real data.

Every simulation here has equal group sizes, so the mixed models can be fitted
for many data sets at once by :func:`fit_ri_balanced`: the profiled REML (or ML)
deviance of the fast engine (:mod:`mlm_helpers.model.engines.fast`), vectorised over
data sets. It gives the same estimates as ``mh.fit("y ~ x + w + (1 | group)")``
(the tests check it) in a fraction of the time.

Examples
--------
>>> from mlm_helpers import clustering
>>> clustering.simulated_design_effect(0.2, n_groups=30, group_size=20, n_reps=2000, seed=1).round(2)
   icc  group_size  kish  simulated  ols_ratio
0  0.2          20   4.8       4.68       4.73
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import MLMInputError
from ..model.deviance import SuffStats
from ..model.engines.fast import estimates_many, fit_fast_many

__all__ = [
    "BalancedFits",
    "fit_ri_balanced",
    "simulate_balanced",
    "ols_fit",
    "ols_coverage",
    "simulated_design_effect",
    "slope_design_effect",
    "slope_se_comparison",
    "icc_estimates",
]



# ----------------------------------------------------------------------------- input checks
def _whole(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral | np.integer):
        if isinstance(value, Real) and float(value).is_integer():
            value = int(float(value))
        else:
            raise MLMInputError(f"{name} must be a whole number, got {value!r}.")
    whole = int(value)
    if whole < minimum:
        raise MLMInputError(f"{name} must be at least {minimum}, got {value}.")
    return whole


def _iccs(icc: float | Sequence[float]) -> list[float]:
    values = [float(icc)] if isinstance(icc, Real) else list(icc)  # type: ignore[arg-type]
    if not values:
        raise MLMInputError("icc is empty: give one value such as 0.2 or a list such as [0, 0.1, 0.2].")
    out: list[float] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, Real) or not 0 <= float(v) < 1:
            raise MLMInputError(
                f"icc must be a number from 0 up to (not including) 1, got {v!r}: it is the share of the "
                "variance between groups, tau00 / (tau00 + sigma2)."
            )
        out.append(float(v))
    return out


def _x_icc(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= float(value) < 1:
        raise MLMInputError(
            f"x_icc must be a number from 0 up to (not including) 1, got {value!r}: it is the share of "
            "the variance of x that lies between groups (0: x varies only within groups)."
        )
    return float(value)


# ----------------------------------------------------------------------------- simulation
def simulate_balanced(
    icc: float,
    n_groups: int,
    group_size: int,
    n_reps: int,
    *,
    beta_x: float = 0.0,
    gamma_w: float = 0.0,
    x_icc: float = 0.0,
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_reps`` balanced two-level data sets as arrays.

    Parameters
    ----------
    icc : float
        Intraclass correlation ``rho`` in [0, 1): ``tau00 = rho``, ``sigma2 = 1 - rho``.
    n_groups, group_size : int
        ``J`` groups of ``m`` units each.
    n_reps : int
        Number of data sets.
    beta_x, gamma_w : float
        Effects of the level-1 predictor ``x`` and the level-2 predictor ``w``
        (the intercept is 0).
    x_icc : float
        ICC of ``x``, in [0, 1): ``x`` has variance 1, of which ``x_icc``
        lies between groups (a group-level component shared by the group's
        units) and ``1 - x_icc`` within. The default 0 draws ``x``
        independently for every unit.
    seed : int, numpy Generator or None
        Same seed, same data. The standard-normal draws do not depend on
        ``icc`` or ``x_icc``, so data sets with different ICCs share them (common random
        numbers), which makes comparisons across ICCs sharper.

    Returns
    -------
    y : numpy.ndarray
        Shape ``(n_reps, J, m)``.
    X : numpy.ndarray
        Shape ``(n_reps, J, m, 3)``: the columns intercept, ``x``, ``w``.

    Examples
    --------
    >>> y, X = simulate_balanced(0.2, 30, 20, 5, seed=1)
    >>> y.shape, X.shape
    ((5, 30, 20), (5, 30, 20, 3))
    >>> _, X = simulate_balanced(0.2, 200, 20, 1, x_icc=0.5, seed=1)
    >>> round(float(X[0, :, :, 1].mean(axis=1).var()), 1)  # x_icc + (1 - x_icc) / m
    0.5
    """
    rho = _iccs(icc)[0]
    rho_x = _x_icc(x_icc)
    J = _whole("n_groups", n_groups, 2)
    m = _whole("group_size", group_size, 2)
    R = _whole("n_reps", n_reps, 1)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    z_u = rng.standard_normal((R, J, 1))
    z_e = rng.standard_normal((R, J, m))
    x = rng.standard_normal((R, J, m))
    w = np.broadcast_to(rng.standard_normal((R, J, 1)), (R, J, m))
    if rho_x > 0:  # drawn last, so data with x_icc = 0 are the same as before the option existed
        x = np.sqrt(1 - rho_x) * x + np.sqrt(rho_x) * rng.standard_normal((R, J, 1))
    y = beta_x * x + gamma_w * w + np.sqrt(rho) * z_u + np.sqrt(1 - rho) * z_e
    X = np.stack([np.ones((R, J, m)), x, w], axis=-1)
    return y, X


# ----------------------------------------------------------------------------- batched fits
@dataclass
class BalancedFits:
    """Estimates from :func:`fit_ri_balanced`, one row per data set."""

    beta: np.ndarray  # (R, p) fixed effects
    se: np.ndarray  # (R, p) standard errors of the fixed effects
    tau00: np.ndarray  # (R,) between-group variance
    sigma2: np.ndarray  # (R,) within-group (residual) variance
    theta: np.ndarray  # (R,) sqrt(tau00) / sigma, the engine's parameter
    deviance: np.ndarray  # (R,) -2 log-likelihood (REML criterion for REML fits)
    reml: bool

    @property
    def icc(self) -> np.ndarray:
        """Estimated ICC ``tau00 / (tau00 + sigma2)`` of every data set."""
        return self.tau00 / (self.tau00 + self.sigma2)


def _balanced_stats(y: np.ndarray, X: np.ndarray) -> SuffStats:
    """Sufficient statistics of R balanced random-intercept data sets (y (R, J, m), X (R, J, m, p))."""
    R, J, m = y.shape
    return SuffStats(
        ZtZ=np.full((J, 1, 1), float(m)),
        ZtX=X.sum(axis=2)[:, :, None, :],
        Zty=y.sum(axis=2)[..., None],
        XtX=np.einsum("rjmp,rjmq->rpq", X, X),
        Xty=np.einsum("rjmp,rjm->rp", X, y),
        yty=np.einsum("rjm,rjm->r", y, y),
        n=J * m,
        pattern=np.ones((1, 1), dtype=bool),
        counts=np.full(J, m),
    )


def fit_ri_balanced(y: np.ndarray, X: np.ndarray | None = None, *, reml: bool = True) -> BalancedFits:
    """Fit ``y ~ X + (1 | group)`` to many balanced data sets at once.

    The profiled deviance of :mod:`mlm_helpers.model.deviance` (Bates et al. 2015,
    section 3) with one random intercept and equal group sizes, minimised for all
    data sets together by the fast engine's batched search
    (:func:`~mlm_helpers.model.engines.fast.fit_fast_many`). For the intercept-only model
    by REML (``X`` not given) the optimum is known in closed form, the ANOVA
    estimates truncated at zero, and is used instead of the search.

    Parameters
    ----------
    y : numpy.ndarray
        Outcomes, shape ``(R, J, m)``: R data sets of J groups of m units
        (or ``(J, m)`` for one data set).
    X : numpy.ndarray, optional
        Fixed-effects design, shape ``(R, J, m, p)`` (or ``(J, m, p)``, the
        same for every data set). Default: an intercept only.
    reml : bool
        REML (default) or ML.

    Returns
    -------
    BalancedFits
        ``beta``, ``se`` (from the usual covariance of the fixed effects,
        :math:`\\hat\\sigma^2 (R_X R_X^\\top)^{-1}`, as ``mh.fit``), ``tau00``,
        ``sigma2``, ``theta``, ``deviance`` and ``icc``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> y = rng.standard_normal((4, 1)) + rng.standard_normal((4, 6))  # 4 groups of 6
    >>> fits = fit_ri_balanced(y)
    >>> fits.beta.shape, round(float(fits.sigma2[0]), 3)
    ((1, 1), 1.178)
    """
    y = np.asarray(y, dtype=float)
    if y.ndim == 2:
        y = y[None]
    if y.ndim != 3:
        raise MLMInputError(f"y must have shape (R, J, m) or (J, m); got shape {y.shape}.")
    R, J, m = y.shape
    if J < 2 or m < 1:
        raise MLMInputError(f"y needs at least 2 groups of at least 1 unit; got {J} groups of {m}.")
    closed_form = X is None and reml and m >= 2
    if X is None:
        X = np.ones((R, J, m, 1))
    X = np.asarray(X, dtype=float)
    if X.ndim == 3:
        X = np.broadcast_to(X[None], (R, *X.shape))
    if X.ndim != 4 or X.shape[:3] != (R, J, m):
        raise MLMInputError(f"X must have shape (R, J, m, p) = ({R}, {J}, {m}, p); got {X.shape}.")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(X))):
        raise MLMInputError("y and X must be finite (no NaN or infinite values).")
    ss = _balanced_stats(y, X)
    est = estimates_many(_theta_anova_reml(y), ss, reml) if closed_form else fit_fast_many(ss, reml)
    return BalancedFits(est["beta"], est["se"], est["tau"], est["sigma2"], est["theta"], est["deviance"], bool(reml))


def _theta_anova_reml(y: np.ndarray) -> np.ndarray:
    """REML optimum of ``y ~ 1 + (1 | group)`` for balanced data (R, J, m), m >= 2, in closed form.

    With equal group sizes the REML estimates are the ANOVA ones, truncated at
    zero: :math:`\\hat\\sigma^2 = MSW`, :math:`\\hat\\tau_{00} = (MSB - MSW)/m` when
    MSB > MSW, and otherwise :math:`\\hat\\tau_{00} = 0` (Searle, Casella and McCulloch
    1992, section 4.7). Only their ratio is returned, as
    :math:`\\theta = \\sqrt{\\hat\\tau_{00}/\\hat\\sigma^2}`.
    """
    R, J, m = y.shape
    means = y.mean(axis=2)
    ssw = ((y - means[..., None]) ** 2).sum(axis=(1, 2))
    ssb = m * ((means - means.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    msw = ssw / (J * (m - 1))
    msb = ssb / (J - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((msb > msw) & (msw > 0), (msb - msw) / (m * msw), 0.0)
    return np.sqrt(ratio)


def ols_fit(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary least squares for many data sets at once.

    Parameters
    ----------
    y : numpy.ndarray
        Shape ``(R, ...)``: the outcomes of each data set (any shape after the first axis).
    X : numpy.ndarray
        Shape ``(R, ..., p)``, matching ``y``.

    Returns
    -------
    beta, se : numpy.ndarray
        Shape ``(R, p)``: estimates and the usual OLS standard errors
        ``sqrt(s^2 diag((X'X)^-1))`` with ``s^2 = RSS / (n - p)``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.stack([np.ones(4), np.arange(4.0)], axis=-1)[None]
    >>> beta, se = ols_fit(np.array([[1.0, 3.0, 5.0, 7.5]]), X)
    >>> beta.round(2).tolist()
    [[0.9, 2.15]]
    """
    R = y.shape[0]
    p = X.shape[-1]
    yy = y.reshape(R, -1)
    XX = X.reshape(R, -1, p)
    n = yy.shape[1]
    XtX = np.einsum("rnp,rnq->rpq", XX, XX)
    beta = np.linalg.solve(XtX, np.einsum("rnp,rn->rp", XX, yy)[..., None])[..., 0]
    resid = yy - np.einsum("rnp,rp->rn", XX, beta)
    s2 = (resid * resid).sum(axis=1) / (n - p)
    se = np.sqrt(s2[:, None] * np.diagonal(np.linalg.inv(XtX), axis1=-2, axis2=-1))
    return beta, se


# ----------------------------------------------------------------------------- chapter 01
def ols_coverage(
    icc: float | Sequence[float],
    n_groups: int = 30,
    group_size: int = 20,
    n_reps: int = 1000,
    *,
    level: float = 0.95,
    beta_x: float = 0.3,
    gamma_w: float = 0.3,
    x_icc: float = 0.0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Coverage of nominal confidence intervals from OLS and from the mixed model.

    For each ICC, ``n_reps`` data sets are drawn by :func:`simulate_balanced`
    and ``y ~ 1 + x + w`` is fitted twice: by OLS (intervals with a t
    reference on ``n - 3`` degrees of freedom, as any regression program) and
    as a random-intercept model by REML (Wald intervals with a normal
    reference, as ``mh.fit``). An interval *covers* when it contains the
    true value.

    Parameters
    ----------
    icc : float or sequence of float
        Intraclass correlation(s) in [0, 1).
    n_groups, group_size : int
        The fixed design: ``J`` groups of ``m`` units.
    n_reps : int
        Simulated data sets per ICC.
    level : float
        Nominal confidence level.
    beta_x, gamma_w : float
        True effects of the level-1 predictor ``x`` and the level-2 predictor ``w``.
    x_icc : float
        ICC of ``x`` (share of its variance between groups; 0: ``x`` varies
        only within groups). See :func:`simulate_balanced`.
    seed : int, optional
        Seed; the same standard-normal draws are used for every ICC.

    Returns
    -------
    pandas.DataFrame
        One row per ICC, term (``Intercept``, ``x``, ``w``) and method
        (``OLS``, ``mixed``): ``coverage`` (share of intervals covering the
        truth), ``mean_se`` (average reported standard error), ``sd_estimate``
        (the actual spread of the estimates across data sets) and
        ``se_ratio = mean_se / sd_estimate`` (1 when the SEs are honest).

    Examples
    --------
    >>> tab = ols_coverage([0.0, 0.3], n_reps=300, seed=1)
    >>> tab[tab["term"] == "Intercept"][["icc", "method", "coverage"]].round(2)
       icc method  coverage
    0  0.0    OLS      0.95
    3  0.0  mixed      0.97
    6  0.3    OLS      0.53
    9  0.3  mixed      0.93
    """
    iccs = _iccs(icc)
    rho_x = _x_icc(x_icc)
    if not 0 < level < 1:
        raise MLMInputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}.")
    J = _whole("n_groups", n_groups, 3)
    m = _whole("group_size", group_size, 2)
    R = _whole("n_reps", n_reps, 2)
    truth = np.array([0.0, beta_x, gamma_w])
    terms = ["Intercept", "x", "w"]
    n = J * m
    t_crit = float(stats.t.ppf(0.5 + level / 2, n - 3))
    z_crit = float(stats.norm.ppf(0.5 + level / 2))
    rows = []
    for rho in iccs:
        y, X = simulate_balanced(rho, J, m, R, beta_x=beta_x, gamma_w=gamma_w, x_icc=rho_x, seed=seed)
        b_ols, se_ols = ols_fit(y, X)
        mixed = fit_ri_balanced(y, X)
        fits = (("OLS", b_ols, se_ols, t_crit), ("mixed", mixed.beta, mixed.se, z_crit))
        for method, est, se, crit in fits:
            covered = np.abs(est - truth) <= crit * se
            for k, term in enumerate(terms):
                sd = float(est[:, k].std(ddof=1))
                rows.append({"icc": rho, "x_icc": rho_x, "term": term, "method": method,
                             "coverage": float(covered[:, k].mean()), "mean_se": float(se[:, k].mean()),
                             "sd_estimate": sd, "se_ratio": float(se[:, k].mean()) / sd})
    return pd.DataFrame(rows)


def simulated_design_effect(
    icc: float | Sequence[float],
    n_groups: int = 30,
    group_size: int | Sequence[int] = 20,
    n_reps: int = 2000,
    *,
    seed: int | None = None,
) -> pd.DataFrame:
    """Variance inflation of the sample mean under clustering, simulated and by Kish's formula.

    With independent units the mean of ``n = J m`` values with variance 1 has
    variance ``1 / n``. Clustering multiplies it by Kish's design effect
    ``1 + (m - 1) rho`` :cite:p:`kish1965`. The simulation draws ``n_reps``
    data sets (intercept-only, :func:`simulate_balanced`) and compares.

    Parameters
    ----------
    icc : float or sequence of float
        Intraclass correlation(s) in [0, 1).
    n_groups : int
        Number of groups ``J``.
    group_size : int or sequence of int
        Group size(s) ``m``; every combination with ``icc`` is simulated.
    n_reps : int
        Simulated data sets per combination.
    seed : int, optional
        Seed.

    Returns
    -------
    pandas.DataFrame
        ``icc``, ``group_size``, ``kish`` (the formula), ``simulated`` (the
        variance of the means across data sets times ``n``: the true
        inflation) and ``ols_ratio`` (that variance divided by the average
        variance OLS reports, ``s^2 / n``: how much OLS understates it).

    Examples
    --------
    >>> simulated_design_effect([0.0, 0.1], group_size=[5, 50], n_reps=4000, seed=2).round(1)
       icc  group_size  kish  simulated  ols_ratio
    0  0.0           5   1.0        1.0        1.0
    1  0.0          50   1.0        1.0        1.0
    2  0.1           5   1.4        1.4        1.4
    3  0.1          50   5.9        5.9        5.9
    """
    iccs = _iccs(icc)
    sizes = [group_size] if isinstance(group_size, Integral | Real) else list(group_size)  # type: ignore[arg-type]
    J = _whole("n_groups", n_groups, 2)
    R = _whole("n_reps", n_reps, 2)
    rows = []
    for rho in iccs:
        for size in sizes:
            m = _whole("group_size", size, 2)
            y, _ = simulate_balanced(rho, J, m, R, seed=seed)
            n = J * m
            means = y.mean(axis=(1, 2))
            s2 = y.reshape(R, -1).var(axis=1, ddof=1)
            var_mean = float(means.var(ddof=1))
            rows.append({"icc": rho, "group_size": m, "kish": 1 + (m - 1) * rho,
                         "simulated": var_mean * n, "ols_ratio": var_mean / float((s2 / n).mean())})
    return pd.DataFrame(rows)


def slope_design_effect(
    x_icc: float | Sequence[float],
    icc: float | Sequence[float],
    n_groups: int = 30,
    group_size: int = 20,
    n_reps: int = 1000,
    *,
    level: float = 0.95,
    seed: int | None = None,
) -> pd.DataFrame:
    """What OLS does to the slope of a level-1 predictor, simulated and by the slope design effect.

    OLS treats the ``J m`` units as independent. For the slope of a predictor
    ``x`` whose ICC is :math:`\\rho_x`, with a residual ICC :math:`\\rho`, the
    true variance of the OLS slope is about :math:`1 + (m - 1)\\rho_x\\rho`
    times what OLS reports :cite:p:`scott1982effect,moulton1986random`. When ``x`` varies
    only within groups (:math:`\\rho_x = 0`) OLS is about right; the more of
    ``x``'s variance lies between groups, the more OLS overstates its precision.
    For each combination of ``x_icc`` and ``icc``, ``n_reps`` data sets are drawn
    by :func:`simulate_balanced` (true slope 0.3) and ``y ~ 1 + x + w`` is
    fitted by OLS.

    Parameters
    ----------
    x_icc : float or sequence of float
        ICC(s) of the predictor ``x``, in [0, 1).
    icc : float or sequence of float
        Residual ICC(s) of the outcome, in [0, 1).
    n_groups, group_size : int
        ``J`` groups of ``m`` units.
    n_reps : int
        Simulated data sets per combination.
    level : float
        Nominal level of the OLS intervals (t reference on ``n - 3`` degrees of freedom).
    seed : int, optional
        Seed; the same standard-normal draws are used for every combination.

    Returns
    -------
    pandas.DataFrame
        One row per combination: ``x_icc``, ``icc``, ``formula``
        (:math:`1 + (m - 1)\\rho_x\\rho`), ``simulated`` (the variance of the
        OLS slopes across data sets divided by the average variance OLS
        reports), ``coverage_formula`` (the coverage of OLS intervals if their
        SE is :math:`\\sqrt{\\text{formula}}` too small,
        :math:`2\\Phi(z/\\sqrt{D}) - 1`) and ``coverage`` (the simulated
        coverage of the OLS intervals for the slope).

    Examples
    --------
    >>> tab = slope_design_effect([0.0, 0.5], 0.2, n_reps=2000, seed=1)
    >>> tab[["x_icc", "icc", "formula", "simulated", "coverage"]].round(2)
       x_icc  icc  formula  simulated  coverage
    0    0.0  0.2      1.0        1.0      0.95
    1    0.5  0.2      2.9        2.9      0.75
    """
    x_iccs = [_x_icc(v) for v in ([x_icc] if isinstance(x_icc, Real) else list(x_icc))]  # type: ignore[arg-type]
    if not x_iccs:
        raise MLMInputError("x_icc is empty: give one value such as 0.3 or a list such as [0, 0.3, 0.6].")
    iccs = _iccs(icc)
    if not 0 < level < 1:
        raise MLMInputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}.")
    J = _whole("n_groups", n_groups, 3)
    m = _whole("group_size", group_size, 2)
    R = _whole("n_reps", n_reps, 2)
    t_crit = float(stats.t.ppf(0.5 + level / 2, J * m - 3))
    z_crit = float(stats.norm.ppf(0.5 + level / 2))
    beta_x = 0.3
    rows = []
    for rho_x in x_iccs:
        for rho in iccs:
            y, X = simulate_balanced(rho, J, m, R, beta_x=beta_x, gamma_w=0.3, x_icc=rho_x, seed=seed)
            b, se = ols_fit(y, X)
            deff = 1 + (m - 1) * rho_x * rho
            rows.append({
                "x_icc": rho_x, "icc": rho, "formula": deff,
                "simulated": float(b[:, 1].var(ddof=1) / (se[:, 1] ** 2).mean()),
                "coverage_formula": float(2 * stats.norm.cdf(z_crit / np.sqrt(deff)) - 1),
                "coverage": float((np.abs(b[:, 1] - beta_x) <= t_crit * se[:, 1]).mean()),
            })
    return pd.DataFrame(rows)


def slope_se_comparison(data: pd.DataFrame, outcome: str, predictor: str, group: str) -> pd.DataFrame:
    """Three standard errors of one slope: OLS, random intercept and cluster-robust.

    Fits ``outcome ~ predictor`` by OLS (the usual standard error, which treats
    all units as independent, and the cluster-robust "sandwich" standard error
    CR1, which allows any correlation within a group, with the small-sample
    factor :math:`\\frac{J}{J-1}\\frac{N-1}{N-p}` of Stata and R's
    ``sandwich::vcovCL``) and ``outcome ~ predictor + (1 | group)`` by REML
    with ``mh.fit``. It also gives what the slope design effect
    :math:`1 + (\\bar n - 1)\\rho_x\\rho_y` :cite:p:`scott1982effect,moulton1986random`
    predicts, with :math:`\\rho_x` the ICC of the predictor (from
    ``predictor ~ 1 + (1 | group)``), :math:`\\rho_y` the residual ICC of the
    random-intercept model and :math:`\\bar n` the mean group size.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    outcome, predictor, group : str
        Column names: a numeric outcome, a numeric level-1 predictor and the grouping column.

    Returns
    -------
    pandas.DataFrame
        Indexed by method (``OLS``, ``random intercept``, ``cluster-robust``,
        ``OLS x sqrt(design effect)``), with the ``estimate`` of the slope, its
        ``se`` and ``se_ratio`` (the SE divided by the OLS one). ``attrs`` holds
        ``icc_x``, ``icc_y``, ``mean_group_size``, ``design_effect`` and
        ``n_groups``.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> tab = slope_se_comparison(mh.load_dataset("hsb"), "MathAch", "SES", "School")
    >>> tab["se"].round(3)
    method
    OLS                          0.097
    random intercept             0.106
    cluster-robust               0.133
    OLS x sqrt(design effect)    0.148
    Name: se, dtype: float64
    """
    from ..model.fitting import fit  # the public mh.fit, imported when needed

    if not isinstance(data, pd.DataFrame):
        raise MLMInputError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    for role, name in (("outcome", outcome), ("predictor", predictor), ("group", group)):
        if not isinstance(name, str) or name not in data.columns:
            raise MLMInputError(
                f"{role}={name!r} is not a column of data; the columns are {list(data.columns)}."
            )
        if role != "group" and not pd.api.types.is_numeric_dtype(data[name]):
            raise MLMInputError(f"{role} column {name!r} must be numeric, got dtype {data[name].dtype}.")
    frame = data[[outcome, predictor, group]]
    if frame.isna().any().any():
        bad = [c for c in frame.columns if frame[c].isna().any()]
        raise MLMInputError(f"columns {bad} have missing values: drop those rows first (data.dropna()).")
    codes, labels = pd.factorize(frame[group])
    n_groups = len(labels)
    if n_groups < 2:
        raise MLMInputError(f"group column {group!r} has {n_groups} group(s); the comparison needs at least 2.")
    y = frame[outcome].to_numpy(float)
    X = np.column_stack([np.ones(len(y)), frame[predictor].to_numpy(float)])
    n, p = X.shape
    xtx_inv = np.linalg.inv(X.T @ X)
    b = xtx_inv @ X.T @ y
    resid = y - X @ b
    se_ols = float(np.sqrt(resid @ resid / (n - p) * xtx_inv[1, 1]))
    scores = np.zeros((n_groups, p))
    np.add.at(scores, codes, X * resid[:, None])  # sum over each group's units of x_i e_i
    meat = scores.T @ scores
    factor = n_groups / (n_groups - 1) * (n - 1) / (n - p)
    se_cr = float(np.sqrt(factor * (xtx_inv @ meat @ xtx_inv)[1, 1]))
    ri = fit(f"{outcome} ~ {predictor} + (1 | {group})", frame)
    icc_x = float(fit(f"{predictor} ~ 1 + (1 | {group})", frame).icc)
    icc_y = float(ri.icc)
    m_bar = n / n_groups
    deff = 1 + (m_bar - 1) * icc_x * icc_y
    se_ri = float(ri.fixed.loc[predictor, "se"])
    est = float(b[1])
    table = pd.DataFrame(
        {"estimate": [est, float(ri.fixed.loc[predictor, "estimate"]), est, est],
         "se": [se_ols, se_ri, se_cr, se_ols * np.sqrt(deff)]},
        index=pd.Index(["OLS", "random intercept", "cluster-robust", "OLS x sqrt(design effect)"], name="method"),
    )
    table["se_ratio"] = table["se"] / se_ols
    table.attrs.update({"icc_x": icc_x, "icc_y": icc_y, "mean_group_size": m_bar,
                        "design_effect": deff, "n_groups": n_groups})
    return table


# ----------------------------------------------------------------------------- chapter 02
def icc_estimates(
    icc: float,
    n_groups: int,
    group_size: int,
    n_reps: int = 500,
    *,
    seed: int | None = None,
) -> pd.DataFrame:
    """Three estimates of the ICC on each of ``n_reps`` simulated balanced data sets.

    Parameters
    ----------
    icc : float
        True intraclass correlation in [0, 1).
    n_groups, group_size : int
        ``J`` groups of ``m`` units.
    n_reps : int
        Number of data sets.
    seed : int, optional
        Seed.

    Returns
    -------
    pandas.DataFrame
        One row per data set:

        * ``reml``: ``tau00 / (tau00 + sigma2)`` from the REML fit of
          ``y ~ 1 + (1 | group)`` (0 when the fit is singular);
        * ``anova``: the one-way ANOVA estimate ``(MSB - MSW) / (MSB + (m - 1) MSW)``
          (as ``mh.icc_anova``; can be negative);
        * ``naive``: the shortcut that puts the variance of the raw group
          means in place of ``tau00``: ``var(means) / (var(means) + MSW)``.
          The variance of raw means estimates ``tau00 + sigma2 / m``, not
          ``tau00``, so this is biased upwards, most for small groups;
        * ``singular``: True when the REML estimate of ``tau00`` is 0.

    Examples
    --------
    >>> est = icc_estimates(0.1, n_groups=30, group_size=5, n_reps=400, seed=1)
    >>> est[["reml", "anova", "naive"]].mean().round(2).tolist()
    [0.1, 0.1, 0.24]
    """
    rho = _iccs(icc)[0]
    J = _whole("n_groups", n_groups, 2)
    m = _whole("group_size", group_size, 2)
    R = _whole("n_reps", n_reps, 1)
    y, _ = simulate_balanced(rho, J, m, R, seed=seed)
    fits = fit_ri_balanced(y)
    means = y.mean(axis=2)
    var_means = means.var(axis=1, ddof=1)
    msb = m * var_means
    msw = ((y - means[..., None]) ** 2).sum(axis=(1, 2)) / (J * (m - 1))
    return pd.DataFrame({
        "reml": fits.icc,
        "anova": (msb - msw) / (msb + (m - 1) * msw),
        "naive": var_means / (var_means + msw),
        "singular": fits.tau00 == 0,
    })
