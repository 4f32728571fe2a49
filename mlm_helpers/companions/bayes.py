"""A small Gibbs sampler for the random-intercept model, to read as much as to run.

The model is

.. math:: y_{ij} = x_{ij}^\\top\\beta + u_j + e_{ij},\\qquad u_j \\sim N(0, \\tau_{00}),
          \\qquad e_{ij} \\sim N(0, \\sigma^2),

written as an lme4 formula ``"y ~ x1 + x2 + (1 | g)"``. Priors (all independent):

* :math:`\\beta`: flat (the default), or normal ``NormalPrior(mean, sd)`` on every
  coefficient;
* :math:`\\tau_{00}` and :math:`\\sigma^2`: each either an inverse-gamma prior
  ``InverseGamma(shape, scale)``, density proportional to
  :math:`v^{-\\text{shape}-1}e^{-\\text{scale}/v}` (``InverseGamma(0, 0)`` is the
  improper :math:`p(v) \\propto 1/v`), or a half-Cauchy prior on the standard
  deviation, ``HalfCauchy(scale)``: :math:`\\sqrt{v} \\sim C^+(0, \\text{scale})`
  (Gelman 2006). Defaults: ``HalfCauchy(sd(y))`` for :math:`\\tau_{00}`,
  ``InverseGamma(0, 0)`` for :math:`\\sigma^2`.

Every step draws from a full conditional distribution in closed form:

1. :math:`(\\beta, u)` jointly, given the variances: first :math:`\\beta` from its
   distribution with :math:`u` integrated out (normal, with the GLS estimate as
   mean under a flat prior), then every :math:`u_j` from its normal
   conditional. Drawing them together avoids the slow zig-zag of a sampler
   that updates :math:`\\beta_0` and the :math:`u_j` one after the other.
2. :math:`\\sigma^2` given the residuals; :math:`\\tau_{00}` given the
   :math:`u_j`: inverse-gamma.
3. A half-Cauchy prior is handled by data augmentation (Makalic & Schmidt
   2016): :math:`v \\mid a \\sim IG(1/2, 1/a)` and :math:`a \\sim IG(1/2, 1/A^2)` give
   :math:`\\sqrt{v} \\sim C^+(0, A)`, and both conditionals are inverse-gamma.

All group-level work is vectorised with ``numpy.bincount``, so one iteration
costs a few passes over the data; 2,000 iterations on HSB (7,185 rows, 160
groups) take about a second on a slow laptop.

Examples
--------
>>> import mlm_helpers as mh
>>> from mlm_helpers import bayes
>>> draws = bayes.gibbs_random_intercept("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff"),
...                                      n_iter=2000, seed=1)
>>> list(draws.columns)
['Intercept', 'tau00', 'sigma2', 'icc']
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd

from ..errors import MLMInputError
from ..model.frame import build_model

__all__ = ["InverseGamma", "HalfCauchy", "NormalPrior", "gibbs_random_intercept", "summarise",
           "effective_sample_size"]


@dataclass(frozen=True)
class InverseGamma:
    """Inverse-gamma prior on a variance: density proportional to ``v**(-shape-1) * exp(-scale/v)``.

    ``InverseGamma(0, 0)`` is the improper prior ``p(v) ∝ 1/v`` (flat on
    ``log v``). ``InverseGamma(0.001, 0.001)`` was once a popular "vague"
    choice; with few groups it is not vague at all (Gelman 2006).

    Examples
    --------
    >>> InverseGamma(0.001, 0.001)
    InverseGamma(shape=0.001, scale=0.001)
    """

    shape: float = 0.0
    scale: float = 0.0

    def __post_init__(self) -> None:
        for name in ("shape", "scale"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and np.isfinite(v) and v >= 0):
                raise MLMInputError(f"InverseGamma {name} must be a finite number >= 0, got {v!r}.")


@dataclass(frozen=True)
class HalfCauchy:
    """Half-Cauchy prior on a standard deviation: ``sqrt(v) ~ C+(0, scale)``.

    The median of the prior standard deviation is ``scale``; the tail is heavy,
    so the data can overrule a scale that is too small. ``scale=None`` means
    the standard deviation of the outcome (a weakly informative default that
    follows the units of the data).

    Examples
    --------
    >>> HalfCauchy(25.0).scale
    25.0
    """

    scale: float | None = None

    def __post_init__(self) -> None:
        v = self.scale
        if v is not None and not (isinstance(v, int | float) and np.isfinite(v) and v > 0):
            raise MLMInputError(f"HalfCauchy scale must be a finite number > 0 (or None), got {v!r}.")


@dataclass(frozen=True)
class NormalPrior:
    """Independent normal priors ``N(mean, sd**2)`` on every fixed effect.

    Examples
    --------
    >>> NormalPrior(0.0, 100.0).sd
    100.0
    """

    mean: float = 0.0
    sd: float = 100.0

    def __post_init__(self) -> None:
        if not (isinstance(self.sd, int | float) and np.isfinite(self.sd) and self.sd > 0):
            raise MLMInputError(f"NormalPrior sd must be a finite number > 0, got {self.sd!r}.")
        if not (isinstance(self.mean, int | float) and np.isfinite(self.mean)):
            raise MLMInputError(f"NormalPrior mean must be a finite number, got {self.mean!r}.")


VariancePrior = InverseGamma | HalfCauchy


def _inv_gamma(rng: np.random.Generator, shape: float, scale: float) -> float:
    """One draw from IG(shape, scale): scale / Gamma(shape, 1)."""
    return scale / rng.gamma(shape)


class _VarianceStep:
    """The Gibbs step for one variance v given the sum of squares of what it is the variance of."""

    def __init__(self, prior: VariancePrior, default_scale: float, name: str):
        if not isinstance(prior, InverseGamma | HalfCauchy):
            raise MLMInputError(
                f"The prior for {name} must be bayes.InverseGamma(shape, scale) or bayes.HalfCauchy(scale), "
                f"got {prior!r}."
            )
        self.prior = prior
        self.A = (prior.scale or default_scale) if isinstance(prior, HalfCauchy) else None
        self.aux = 1.0  # the augmentation variable a of a half-Cauchy prior

    def draw(self, rng: np.random.Generator, n_terms: int, sum_sq: float, current: float) -> float:
        if isinstance(self.prior, InverseGamma):
            return _inv_gamma(rng, self.prior.shape + n_terms / 2, self.prior.scale + sum_sq / 2)
        # Half-Cauchy by augmentation: v | a ~ IG((n+1)/2, SS/2 + 1/a), a | v ~ IG(1, 1/v + 1/A^2).
        assert self.A is not None  # a half-Cauchy prior has a scale
        self.aux = _inv_gamma(rng, 1.0, 1.0 / current + 1.0 / self.A**2)
        return _inv_gamma(rng, (n_terms + 1) / 2, sum_sq / 2 + 1.0 / self.aux)

    def describe(self) -> str:
        if isinstance(self.prior, InverseGamma):
            if self.prior.shape == 0 and self.prior.scale == 0:
                return "p(v) proportional to 1/v"
            return f"inverse-gamma(shape={self.prior.shape:g}, scale={self.prior.scale:g})"
        return f"half-Cauchy(scale={self.A:.4g}) on the standard deviation"


def gibbs_random_intercept(
    formula: str,
    data: pd.DataFrame,
    *,
    n_iter: int = 2000,
    burn_in: int = 500,
    prior_beta: NormalPrior | None = None,
    prior_tau00: VariancePrior | None = None,
    prior_sigma2: VariancePrior | None = None,
    keep_ranef: bool = False,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw from the posterior of a random-intercept model by Gibbs sampling.

    Parameters
    ----------
    formula : str
        A random-intercept model with one grouping factor, e.g.
        ``"MathAch ~ SES + (1 | School)"``.
    data : pandas.DataFrame
        One row per observation (rows with missing values are dropped with a
        warning, as in ``mh.fit``).
    n_iter : int
        Number of draws kept (after the burn-in).
    burn_in : int
        Number of draws discarded at the start.
    prior_beta : NormalPrior or None
        ``None``: flat prior on the fixed effects.
    prior_tau00, prior_sigma2 : InverseGamma or HalfCauchy, optional
        Priors on the between-group and the residual variance. Defaults:
        ``HalfCauchy(scale=sd(y))`` and ``InverseGamma(0, 0)``.
    keep_ranef : bool
        Also keep the draws of every group's ``u_j`` (columns ``u[<level>]``).
    seed : int, Generator or None
        Seed of the sampler (same seed, same draws).

    Returns
    -------
    pandas.DataFrame
        One row per kept iteration: the fixed effects (named as in
        ``mh.fit(...).fixed``), ``tau00``, ``sigma2`` and
        ``icc = tau00 / (tau00 + sigma2)``. ``draws.attrs`` records the
        formula, the priors, ``n_iter``, ``burn_in`` and ``seed``.

    Raises
    ------
    MLMInputError
        For a formula that is not a random-intercept model with one grouping
        factor, or bad settings.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> d = gibbs_random_intercept("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"),
    ...                            n_iter=1000, seed=2)
    >>> d.shape
    (1000, 5)
    >>> bool(9 < d["Days"].mean() < 12)
    True
    """
    for name, v, low in (("n_iter", n_iter, 1), ("burn_in", burn_in, 0)):
        if isinstance(v, bool) or not isinstance(v, Integral) or v < low:
            raise MLMInputError(f"{name} must be a whole number of at least {low}, got {v!r}.")
    if prior_beta is not None and not isinstance(prior_beta, NormalPrior):
        raise MLMInputError(f"prior_beta must be None (flat) or bayes.NormalPrior(mean, sd), got {prior_beta!r}.")
    model = build_model(formula, data, warn_few_groups=False)
    if len(model.blocks) != 1 or model.blocks[0].names != ["Intercept"]:
        raise MLMInputError(
            "gibbs_random_intercept fits a random-intercept model with one grouping factor, such as "
            f"'y ~ x + (1 | g)'; {formula!r} has a different random part."
        )
    block = model.blocks[0]
    y, X, g = model.y, model.X, block.codes
    n, p = X.shape
    J = block.n_levels
    n_j = np.bincount(g, minlength=J).astype(float)
    XtX = X.T @ X
    Xty = X.T @ y
    ZtX = np.stack([np.bincount(g, weights=X[:, k], minlength=J) for k in range(p)], axis=1)  # (J, p) group sums
    Zty = np.bincount(g, weights=y, minlength=J)

    sd_y = float(np.std(y, ddof=1))
    tau_step = _VarianceStep(HalfCauchy() if prior_tau00 is None else prior_tau00, sd_y, "tau00")
    sig_step = _VarianceStep(InverseGamma(0.0, 0.0) if prior_sigma2 is None else prior_sigma2, sd_y, "sigma2")
    prec0 = np.zeros((p, p)) if prior_beta is None else np.eye(p) / prior_beta.sd**2
    mean0 = np.zeros(p) if prior_beta is None else np.full(p, prior_beta.mean)

    # Starting values: OLS for beta, the variance of the group mean residuals for tau00.
    rng = np.random.default_rng(seed)
    beta = np.linalg.solve(XtX, Xty)
    resid = y - X @ beta
    sigma2 = float(resid @ resid / max(n - p, 1))
    tau00 = max(float(np.var(np.bincount(g, weights=resid, minlength=J) / n_j)), 0.01 * sigma2)

    total = burn_in + n_iter
    z_beta = rng.standard_normal((total, p))  # the standard normal draws of every iteration, in advance
    z_u = rng.standard_normal((total, J))
    out = np.empty((total, p + 2))
    u_out = np.empty((n_iter, J)) if keep_ranef else None
    for it in range(total):
        # 1a. beta | tau00, sigma2, y with u integrated out: V_j^-1 = (I - w_j 1 1') / sigma2.
        w = tau00 / (sigma2 + n_j * tau00)
        prec = (XtX - (ZtX * w[:, None]).T @ ZtX) / sigma2 + prec0
        rhs = (Xty - (ZtX * w[:, None]).T @ Zty) / sigma2 + prec0 @ mean0
        cov = np.linalg.inv(prec)
        beta = cov @ rhs + np.linalg.cholesky(cov) @ z_beta[it]
        # 1b. u_j | beta, tau00, sigma2, y: normal, the group's mean residual shrunk towards 0.
        group_resid = Zty - ZtX @ beta  # sum of y - x'beta in each group
        u_prec = n_j / sigma2 + 1.0 / tau00
        u = group_resid / sigma2 / u_prec + z_u[it] / np.sqrt(u_prec)
        # 2. sigma2 | beta, u, y and tau00 | u.
        e = y - X @ beta - u[g]
        sigma2 = sig_step.draw(rng, n, float(e @ e), sigma2)
        tau00 = tau_step.draw(rng, J, float(u @ u), tau00)
        out[it, :p] = beta
        out[it, p] = tau00
        out[it, p + 1] = sigma2
        if u_out is not None and it >= burn_in:
            u_out[it - burn_in] = u

    kept = out[burn_in:]
    draws = pd.DataFrame(kept, columns=[*model.x_names, "tau00", "sigma2"])
    draws["icc"] = draws["tau00"] / (draws["tau00"] + draws["sigma2"])
    if keep_ranef:
        names = [f"u[{lev}]" for lev in block.levels]
        draws = pd.concat([draws, pd.DataFrame(u_out, columns=names)], axis=1)
    draws.index.name = "iteration"
    draws.attrs.update({
        "formula": formula, "n_iter": int(n_iter), "burn_in": int(burn_in),
        "seed": seed if isinstance(seed, int | None) else "Generator",
        "prior_beta": "flat" if prior_beta is None else f"normal(mean={prior_beta.mean:g}, sd={prior_beta.sd:g})",
        "prior_tau00": tau_step.describe(), "prior_sigma2": sig_step.describe(),
    })
    return draws


def effective_sample_size(x: np.ndarray) -> float:
    """Effective sample size of one chain (Geyer's initial positive sequence).

    The number of independent draws that would estimate the mean as precisely
    as these correlated ones: ``n / (1 + 2 * sum of autocorrelations)``, the
    sum stopped where pairs of autocorrelations turn negative (Geyer 1992),
    and capped at ``n``.

    Parameters
    ----------
    x : array-like
        The draws of one quantity, in order.

    Returns
    -------
    float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> 800 < effective_sample_size(rng.normal(size=1000)) <= 1000
    True
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 4 or np.ptp(x) == 0:
        return float(n)
    xc = x - x.mean()
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(xc, size)
    acov = np.fft.irfft(f * np.conj(f), size)[:n] / n
    rho = acov / acov[0]
    pair_sums = rho[:-1:2] + rho[1::2]  # Gamma_k = rho_2k + rho_2k+1
    positive = np.flatnonzero(pair_sums <= 0)
    m = positive[0] if len(positive) else len(pair_sums)
    tau = -1.0 + 2.0 * float(np.sum(np.minimum.accumulate(pair_sums[:m]))) if m else 1.0
    return float(min(n / max(tau, 1e-12), n))


def summarise(draws: pd.DataFrame, level: float = 0.95, digits: int | None = None) -> pd.DataFrame:
    """Posterior summary: mean, SD, median, a central interval and the effective sample size.

    Parameters
    ----------
    draws : pandas.DataFrame
        From :func:`gibbs_random_intercept` (any DataFrame of draws works).
    level : float
        Probability of the central (equal-tailed) credible interval.
    digits : int, optional
        Round the table.

    Returns
    -------
    pandas.DataFrame
        One row per column of ``draws``: ``mean``, ``sd``, ``median``,
        ``lower``, ``upper`` and ``ess``.

    Examples
    --------
    >>> import pandas as pd
    >>> summarise(pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}))[["mean", "median"]]
       mean  median
    a   2.5     2.5
    """
    if not isinstance(draws, pd.DataFrame) or draws.empty:
        raise MLMInputError("draws must be a non-empty DataFrame of posterior draws (one column per quantity).")
    if not 0 < level < 1:
        raise MLMInputError(f"level is a probability and must lie between 0 and 1, got {level!r}.")
    tail = (1 - level) / 2
    table = pd.DataFrame({
        "mean": draws.mean(),
        "sd": draws.std(ddof=1),
        "median": draws.median(),
        "lower": draws.quantile(tail),
        "upper": draws.quantile(1 - tail),
        "ess": [effective_sample_size(draws[c].to_numpy()) for c in draws.columns],
    })
    return table.round(digits) if digits is not None else table
