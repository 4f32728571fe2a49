"""Simulation studies for chapters 05 and 06: ML versus REML, and the boundary LRT.

Both studies use the random-intercept model without predictors,

.. math:: y_{ij} = \\beta_0 + u_j + e_{ij},\\quad u_j \\sim N(0, \\tau_{00}),\\quad e_{ij} \\sim N(0, \\sigma^2),

fitted many hundreds of times. One ``mh.fit`` takes a few milliseconds, which
is too slow for a study of thousands of fits on a slow machine. So this module
evaluates the *same* profiled deviance as :mod:`mlm_helpers.model.engines.fast`
(Bates et al. 2015, section 3) in the closed form it takes for ``y ~ 1 + (1 | g)``,
for all simulated data sets at once:

* with :math:`\\theta = \\sqrt{\\tau_{00}}/\\sigma`, group sizes :math:`n_j` and
  group sums :math:`S_j`, the Cholesky factor of group :math:`j` is the number
  :math:`L_j = \\sqrt{1 + \\theta^2 n_j}`;
* :math:`c_{u,j} = \\theta S_j / L_j`, :math:`R_X^2 = \\sum_j n_j / L_j^2`,
  :math:`c_\\beta = (\\sum_j S_j / L_j^2) / R_X`;
* :math:`r^2 = y^\\top y - \\sum_j c_{u,j}^2 - c_\\beta^2`, and the deviance is
  :math:`\\sum_j \\log L_j^2 + \\log R_X^2 + (n-1)[1 + \\log(2\\pi r^2/(n-1))]` (REML) or
  :math:`\\sum_j \\log L_j^2 + n[1 + \\log(2\\pi r^2/n)]` (ML).

:func:`ri_deviance` is checked in the tests against
:func:`mlm_helpers.model.deviance.profiled_deviance`, and :func:`fit_ri_many`
against :func:`mlm_helpers.model.engines.fast.fit_fast`.

Examples
--------
>>> from mlm_helpers import simstudy
>>> tab = simstudy.ml_vs_reml_bias(10, 5, tau00=4.0, sigma2=16.0, n_reps=2000, seed=1)
>>> bool(tab.loc["ML", "mean_tau00"] < tab.loc["REML", "mean_tau00"])
True
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import MLMInputError
from ..model.deviance import SuffStats, deviance_pieces
from ..model.engines.fast import fit_fast_many

__all__ = [
    "simulate_ri_stats",
    "ri_deviance",
    "fit_ri_many",
    "ml_vs_reml_estimates",
    "ml_vs_reml_bias",
    "lrt_distribution",
    "lrt_null_distribution",
    "rejection_rates",
]



def _check_sizes(n_groups: int, group_size: int | Sequence[int]) -> np.ndarray:
    if isinstance(n_groups, bool) or not isinstance(n_groups, Integral) or n_groups < 2:
        raise MLMInputError(f"n_groups must be a whole number of at least 2, got {n_groups!r}.")
    if isinstance(group_size, Integral) and not isinstance(group_size, bool):
        sizes = np.full(int(n_groups), int(group_size))
    else:
        sizes = np.asarray(group_size)
        if sizes.ndim != 1 or len(sizes) != n_groups or not np.issubdtype(sizes.dtype, np.integer):
            raise MLMInputError(
                f"group_size must be one whole number or {n_groups} whole numbers (one per group), "
                f"got {group_size!r}."
            )
    if np.any(sizes < 1):
        raise MLMInputError(f"Every group needs at least 1 observation; got group sizes down to {sizes.min()}.")
    if sizes.sum() <= 2:
        raise MLMInputError("The simulated data sets need more than 2 observations in total.")
    return sizes.astype(int)


def _check_reps(n_reps: int) -> int:
    if isinstance(n_reps, bool) or not isinstance(n_reps, Integral) or n_reps < 1:
        raise MLMInputError(f"n_reps must be a whole number of at least 1, got {n_reps!r}.")
    return int(n_reps)


def _check_variance(name: str, value: float, *, positive: bool) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0 or (positive and v == 0):
        need = "greater than 0" if positive else "0 or more"
        raise MLMInputError(f"{name} is a variance and must be a finite number {need}; got {value!r}.")
    return v


def simulate_ri_stats(
    n_groups: int,
    group_size: int | Sequence[int],
    *,
    tau00: float,
    sigma2: float,
    n_reps: int,
    beta0: float = 0.0,
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate ``n_reps`` data sets from ``y ~ 1 + (1 | g)`` and keep their sufficient statistics.

    Every data set is drawn in full (one value per observation); only the
    group sizes, group sums and total sum of squares are returned, because the
    profiled deviance of this model needs nothing else.

    Parameters
    ----------
    n_groups : int
        Number of groups ``J`` (at least 2).
    group_size : int or sequence of int
        Observations per group: one number (balanced) or ``J`` numbers.
    tau00, sigma2 : float
        True between-group and residual variances (``tau00`` may be 0).
    n_reps : int
        Number of data sets.
    beta0 : float
        True intercept.
    seed : int, Generator or None
        Seed of the random draws.

    Returns
    -------
    sizes : ndarray, shape (J,)
        Group sizes (the same in every data set).
    sums : ndarray, shape (n_reps, J)
        Group sums :math:`S_j = \\sum_i y_{ij}`.
    yty : ndarray, shape (n_reps,)
        :math:`\\sum_{ij} y_{ij}^2`.

    Examples
    --------
    >>> sizes, sums, yty = simulate_ri_stats(4, 3, tau00=1.0, sigma2=1.0, n_reps=2, seed=1)
    >>> sizes.tolist(), sums.shape, yty.shape
    ([3, 3, 3, 3], (2, 4), (2,))
    """
    sizes = _check_sizes(n_groups, group_size)
    n_reps = _check_reps(n_reps)
    tau00 = _check_variance("tau00", tau00, positive=False)
    sigma2 = _check_variance("sigma2", sigma2, positive=True)
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(len(sizes)), sizes)  # the group of every observation
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    u = rng.normal(0.0, np.sqrt(tau00), size=(n_reps, len(sizes)))  # one effect per group and data set
    e = rng.normal(0.0, np.sqrt(sigma2), size=(n_reps, len(codes)))  # one residual per observation
    y = beta0 + u[:, codes] + e
    sums = np.add.reduceat(y, starts, axis=1)
    yty = (y * y).sum(axis=1)
    return sizes, sums, yty


def ri_deviance(theta: np.ndarray, sizes: np.ndarray, sums: np.ndarray, yty: np.ndarray,
                reml: bool = True) -> np.ndarray:
    """Profiled deviance of ``y ~ 1 + (1 | g)`` for many data sets and many theta at once.

    Parameters
    ----------
    theta : array, shape (K,) or (R, K)
        Values of :math:`\\theta = \\sqrt{\\tau_{00}}/\\sigma` (0 or more): the same
        K values for every data set, or K values per data set.
    sizes : array, shape (J,)
        Group sizes.
    sums : array, shape (R, J)
        Group sums of each of the R data sets.
    yty : array, shape (R,)
        Total sums of squares.
    reml : bool
        REML criterion (True) or ML deviance (False).

    Returns
    -------
    ndarray, shape (R, K)
        -2 times the (REML) log-likelihood, maximised over the intercept and
        :math:`\\sigma^2`; the same number as ``mlm_helpers.model.deviance.profiled_deviance``.

    Examples
    --------
    >>> sizes, sums, yty = simulate_ri_stats(5, 4, tau00=1.0, sigma2=1.0, n_reps=3, seed=2)
    >>> ri_deviance(np.array([0.0, 0.5, 1.0]), sizes, sums, yty).shape
    (3, 3)
    """
    ss = _ri_stats(sizes, sums, yty, extra_axis=True)
    th = np.asarray(theta, dtype=float)
    th = th if th.ndim == 2 else th[None, :]
    return deviance_pieces(th[..., None], ss, reml).deviance


def _ri_stats(sizes: np.ndarray, sums: np.ndarray, yty: np.ndarray, extra_axis: bool = False) -> SuffStats:
    """Sufficient statistics of y ~ 1 + (1 | g) for R data sets on one design (group sizes and sums)."""
    nj = np.asarray(sizes, dtype=float)
    sums = np.atleast_2d(np.asarray(sums, dtype=float))
    yty = np.atleast_1d(np.asarray(yty, dtype=float))
    Zty, Xty = sums[..., None], sums.sum(axis=1)[:, None]
    if extra_axis:  # a second batch axis for K thetas per data set
        Zty, Xty, yty = Zty[:, None], Xty[:, None], yty[:, None]
    return SuffStats(ZtZ=nj[:, None, None], ZtX=nj[:, None, None], Zty=Zty, XtX=np.array([[nj.sum()]]), Xty=Xty,
                     yty=yty, n=int(nj.sum()), pattern=np.ones((1, 1), dtype=bool), counts=nj.astype(int))


def fit_ri_many(sizes: np.ndarray, sums: np.ndarray, yty: np.ndarray, reml: bool = True) -> pd.DataFrame:
    """Fit ``y ~ 1 + (1 | g)`` by REML or ML to many data sets at once.

    The fast engine's batched search for one parameter
    (:func:`~mlm_helpers.model.engines.fast.fit_fast_many`), run for all data sets together:
    a grid, golden-section search, the boundary theta = 0 (a singular fit) where it is no
    worse, then Newton steps.

    Parameters
    ----------
    sizes, sums, yty : arrays
        As returned by :func:`simulate_ri_stats`.
    reml : bool
        REML (True) or ML (False).

    Returns
    -------
    pandas.DataFrame
        One row per data set: ``theta``, ``deviance``, ``beta0``, ``sigma2``,
        ``tau00`` (= theta^2 sigma2).

    Examples
    --------
    >>> sizes, sums, yty = simulate_ri_stats(30, 5, tau00=2.0, sigma2=4.0, n_reps=4, seed=3)
    >>> list(fit_ri_many(sizes, sums, yty).columns)
    ['theta', 'deviance', 'beta0', 'sigma2', 'tau00']
    """
    est = fit_fast_many(_ri_stats(sizes, sums, yty), reml=reml)
    return pd.DataFrame({"theta": est["theta"], "deviance": est["deviance"], "beta0": est["beta"][:, 0],
                         "sigma2": est["sigma2"], "tau00": est["tau"]},
                        index=pd.RangeIndex(len(est["theta"]), name="rep"))


def ml_vs_reml_estimates(
    n_groups: int,
    group_size: int | Sequence[int],
    *,
    tau00: float,
    sigma2: float,
    n_reps: int,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Fit each of ``n_reps`` simulated data sets by ML and by REML.

    Parameters
    ----------
    n_groups, group_size, tau00, sigma2, n_reps, seed
        As :func:`simulate_ri_stats` (the true intercept is 0; it does not
        affect the variance estimates).

    Returns
    -------
    pandas.DataFrame
        One row per data set and method: ``rep``, ``method`` ("ML"/"REML"),
        ``tau00``, ``sigma2``, ``beta0``, ``theta``.

    Examples
    --------
    >>> est = ml_vs_reml_estimates(8, 5, tau00=1.0, sigma2=4.0, n_reps=10, seed=4)
    >>> est.shape, sorted(est["method"].unique())
    ((20, 6), ['ML', 'REML'])
    """
    sizes, sums, yty = simulate_ri_stats(n_groups, group_size, tau00=tau00, sigma2=sigma2, n_reps=n_reps,
                                         seed=seed)
    frames = []
    for method, reml in (("ML", False), ("REML", True)):
        fits = fit_ri_many(sizes, sums, yty, reml=reml).reset_index()
        fits.insert(1, "method", method)
        frames.append(fits[["rep", "method", "tau00", "sigma2", "beta0", "theta"]])
    return pd.concat(frames, ignore_index=True)


def ml_vs_reml_bias(
    n_groups: int,
    group_size: int | Sequence[int],
    *,
    tau00: float,
    sigma2: float,
    n_reps: int,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Bias of the ML and REML variance estimates, by simulation.

    Parameters
    ----------
    n_groups : int
        Number of groups (the quantity that drives ML's bias in ``tau00``).
    group_size : int or sequence of int
        Observations per group.
    tau00, sigma2 : float
        True variances.
    n_reps : int
        Number of simulated data sets (each fitted by ML and by REML).
    seed : int, Generator or None
        Seed.

    Returns
    -------
    pandas.DataFrame
        Indexed by method ("ML", "REML"), with ``n_groups``, ``mean_tau00``,
        ``bias_tau00``, ``rel_bias_tau00`` (bias / true value), ``mc_se_tau00``
        (Monte Carlo standard error of the mean), ``share_zero`` (share of
        data sets with ``tau00`` estimated as exactly 0), ``mean_sigma2`` and
        ``bias_sigma2``.

    Examples
    --------
    >>> tab = ml_vs_reml_bias(5, 10, tau00=4.0, sigma2=16.0, n_reps=4000, seed=5)
    >>> bool(tab.loc["ML", "bias_tau00"] < 0)
    True
    """
    est = ml_vs_reml_estimates(n_groups, group_size, tau00=tau00, sigma2=sigma2, n_reps=n_reps, seed=seed)
    rows = {}
    for method, sub in est.groupby("method", sort=True):
        t = sub["tau00"].to_numpy()
        rows[method] = {
            "n_groups": int(n_groups),
            "mean_tau00": t.mean(),
            "bias_tau00": t.mean() - tau00,
            "rel_bias_tau00": (t.mean() - tau00) / tau00 if tau00 > 0 else np.nan,
            "mc_se_tau00": t.std(ddof=1) / np.sqrt(len(t)) if len(t) > 1 else np.nan,
            "share_zero": float(np.mean(t == 0.0)),
            "mean_sigma2": sub["sigma2"].mean(),
            "bias_sigma2": sub["sigma2"].mean() - sigma2,
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "method"
    return out


def lrt_distribution(
    n_groups: int,
    group_size: int | Sequence[int],
    *,
    n_reps: int,
    tau00: float = 0.0,
    sigma2: float = 1.0,
    reml: bool = True,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Likelihood-ratio statistics of ``y ~ 1 + (1 | g)`` against ``y ~ 1`` on simulated data.

    The reduced model (no random intercept) is the full model at
    :math:`\\theta = 0`, so the statistic is :math:`d(0) - \\min_\\theta d(\\theta)`
    with :math:`d` the profiled (REML or ML) deviance: exactly what
    ``mh.lrt(mh.fit("y ~ 1", df), mh.fit("y ~ 1 + (1 | g)", df))`` reports.

    Parameters
    ----------
    n_groups, group_size : int, int or sequence
        The design.
    n_reps : int
        Number of simulated data sets.
    tau00 : float
        True between-group variance: 0 (the default) simulates the null
        hypothesis; a positive value gives the distribution under an
        alternative (for power).
    sigma2 : float
        True residual variance.
    reml : bool
        Compare REML criteria (the default, as ``mh.lrt`` does for models with
        the same fixed effects) or ML deviances.
    seed : int, Generator or None
        Seed.

    Returns
    -------
    pandas.DataFrame
        One row per data set: ``statistic``, ``p_naive`` (chi2(1)) and
        ``p_mixture`` (0.5 chi2(0) + 0.5 chi2(1)).

    Examples
    --------
    >>> d = lrt_distribution(20, 5, n_reps=500, seed=6)
    >>> bool((d["statistic"] == 0).mean() > 0.4)
    True
    """
    sizes, sums, yty = simulate_ri_stats(n_groups, group_size, tau00=tau00, sigma2=sigma2, n_reps=n_reps,
                                         seed=seed)
    fits = fit_ri_many(sizes, sums, yty, reml=reml)
    d0 = ri_deviance(np.array([0.0]), sizes, sums, yty, reml)[:, 0]
    stat = np.maximum(d0 - fits["deviance"].to_numpy(), 0.0)
    stat[stat < 1e-9] = 0.0  # rounding noise at the boundary
    p_naive = stats.chi2.sf(stat, 1)
    p_mixture = np.where(stat > 0, 0.5 * p_naive, 1.0)
    return pd.DataFrame({"statistic": stat, "p_naive": p_naive, "p_mixture": p_mixture},
                        index=pd.RangeIndex(len(stat), name="rep"))


def lrt_null_distribution(
    n_groups: int,
    group_size: int | Sequence[int],
    n_reps: int,
    seed: int | np.random.Generator | None = None,
    *,
    reml: bool = True,
) -> pd.DataFrame:
    """The LRT for a random intercept when the null hypothesis is true (``tau00 = 0``).

    Shorthand for ``lrt_distribution(..., tau00=0.0, sigma2=1.0)``; the scale
    of ``sigma2`` does not change the statistic.

    Parameters
    ----------
    n_groups, group_size : int, int or sequence
        The design.
    n_reps : int
        Number of simulated data sets.
    seed : int, Generator or None
        Seed.
    reml : bool
        REML (default) or ML criteria.

    Returns
    -------
    pandas.DataFrame
        As :func:`lrt_distribution`.

    Examples
    --------
    >>> null = lrt_null_distribution(30, 10, n_reps=1000, seed=7)
    >>> rates = rejection_rates(null)
    >>> bool(rates["naive"] < rates["mixture"])
    True
    """
    return lrt_distribution(n_groups, group_size, n_reps=n_reps, tau00=0.0, sigma2=1.0, reml=reml, seed=seed)


def rejection_rates(lrt: pd.DataFrame, alpha: float = 0.05) -> dict[str, float]:
    """Share of simulated tests that reject at level ``alpha``, naive and boundary-corrected.

    Parameters
    ----------
    lrt : pandas.DataFrame
        From :func:`lrt_distribution` (columns ``p_naive``, ``p_mixture``).
    alpha : float
        Significance level, between 0 and 1.

    Returns
    -------
    dict
        ``{"naive": ..., "mixture": ...}``.

    Examples
    --------
    >>> import pandas as pd
    >>> rejection_rates(pd.DataFrame({"p_naive": [0.08, 0.5], "p_mixture": [0.04, 0.25]}))
    {'naive': 0.0, 'mixture': 0.5}
    """
    if not 0 < alpha < 1:
        raise MLMInputError(f"alpha is a significance level and must lie between 0 and 1, got {alpha!r}.")
    missing = {"p_naive", "p_mixture"} - set(lrt.columns)
    if missing:
        raise MLMInputError(f"lrt must have the columns p_naive and p_mixture (from lrt_distribution); "
                            f"missing {sorted(missing)}.")
    return {"naive": float(np.mean(lrt["p_naive"] < alpha)), "mixture": float(np.mean(lrt["p_mixture"] < alpha))}
