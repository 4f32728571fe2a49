"""A fitted model's objective, evaluated where you ask: the public face of ``deviance.py``.

``mh.fit`` minimises lme4's profiled deviance (Bates, Mächler, Bolker & Walker 2015, *J. Stat.
Softw.* 67(1), section 3), a function of the relative covariance parameters :math:`\\theta`
only. These two functions evaluate that same function, through the one implementation in
:mod:`mlm_helpers.model.deviance`, for the model of a fitted result:

* :func:`profiled_deviance` at one :math:`\\theta` or a grid of them (to draw the profile,
  check that a fit sits at its minimum, or find the minimum on a grid);
* :func:`deviance_parts` at one :math:`\\theta`, with lme4's intermediate pieces (the
  per-group Cholesky factors :math:`L_j`, :math:`R_{ZX,j}`, :math:`c_{u,j}`, then :math:`R_X`,
  :math:`c_\\beta` and the penalised residual sum of squares :math:`r^2`), for a model with
  one grouping factor.

Chapter 05 and its appendix "Under the hood" use them; they need nothing but a result of
``mh.fit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import MLMInputError
from .deviance import deviance_pieces, profiled_deviance_general, sufficient_stats

__all__ = ["profiled_deviance", "deviance_parts", "DevianceParts"]


def _n_theta(result) -> int:
    return int(np.asarray(result.theta, dtype=float).size)


def _criterion(result, reml: bool | None) -> bool:
    if reml is None:
        return bool(result.reml)
    if not isinstance(reml, bool | np.bool_):
        raise MLMInputError(f"reml must be True, False or None (the fit's own criterion), not {reml!r}.")
    return bool(reml)


def _theta_rows(result, theta) -> tuple[np.ndarray, bool]:
    """``theta`` as rows (K, n_theta), and whether one point (not a grid) was given."""
    k = _n_theta(result)
    try:
        th = np.asarray(theta, dtype=float)
    except (TypeError, ValueError):
        raise MLMInputError(f"theta must be numbers (an array of length {k}, or a grid of rows), "
                            f"not {theta!r}.") from None
    if th.ndim == 0 and k == 1 or th.ndim == 1 and th.size == k:
        single, rows = True, th.reshape(1, k)
    elif th.ndim == 1 and k == 1:
        single, rows = False, th.reshape(-1, 1)
    elif th.ndim == 2 and th.shape[1] == k:
        single, rows = False, th
    else:
        raise MLMInputError(
            f"theta has shape {th.shape}; this model ({result.formula}) has {k} theta parameter(s) "
            f"(result.theta = {np.round(np.asarray(result.theta, dtype=float), 4).tolist()}). Pass an array of "
            f"length {k} for one point, or an array of shape (K, {k}) for K points"
            + (" (for one parameter, a 1-D array is a grid)." if k == 1 else ".")
        )
    if not np.all(np.isfinite(rows)):
        raise MLMInputError(f"theta must be finite; got {th.tolist()}.")
    return rows, single


def profiled_deviance(result, theta, *, reml: bool | None = None) -> float | np.ndarray:
    """The profiled deviance of a fitted model's formula and data at ``theta``: -2 x the log-likelihood.

    The fixed effects and the residual variance are replaced by their best values given
    ``theta`` ("profiled out"), so the deviance is a function of ``theta`` alone; ``mh.fit``
    minimises it, and at the fit's own ``result.theta`` it equals ``-2 * result.loglik``.

    Parameters
    ----------
    result : MixedResult
        A fit from ``mh.fit`` (any engine; the model of its formula and data is used).
    theta : float or array-like
        The relative covariance parameters, as in ``result.theta``. One point: an array of
        length ``len(result.theta)`` (or a number, for a model with one parameter). Several:
        an array of shape ``(K, len(result.theta))``, or, for a model with one parameter such
        as a random intercept (:math:`\\theta = \\sqrt{\\tau_{00}}/\\sigma`), a 1-D grid.
    reml : bool, optional
        The REML criterion (True) or the ML deviance (False); default the fit's own.

    Returns
    -------
    float or numpy.ndarray
        One value for one point (a number, or an array of length ``len(result.theta)``), an
        array of K values for K points; ``inf`` where the deviance is not defined.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> fit = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
    >>> bool(abs(mh.profiled_deviance(fit, fit.theta) + 2 * fit.loglik) < 1e-6)
    True
    >>> mh.profiled_deviance(fit, [0.5, 1.0, 1.5]).shape  # a grid of one parameter
    (3,)
    """
    rows, single = _theta_rows(result, theta)
    crit = _criterion(result, reml)
    model = result.model
    if len(model.blocks) == 1:
        values = deviance_pieces(rows, sufficient_stats(model), reml=crit).deviance
    else:
        values = np.array([profiled_deviance_general(model, row, reml=crit) for row in rows])
    values = np.asarray(values, dtype=float)
    return float(values[0]) if single else values


@dataclass(frozen=True)
class DevianceParts:
    """lme4's pieces of the profiled deviance at one ``theta`` (one grouping factor, J groups,
    q random effects per group, p fixed effects); see :func:`deviance_parts`.

    Attributes
    ----------
    theta : numpy.ndarray
    L : numpy.ndarray
        (J, q, q): the Cholesky factor of :math:`\\Lambda^\\top Z_j^\\top Z_j\\Lambda + I` per group.
    RZX : numpy.ndarray
        (J, q, p): :math:`R_{ZX,j}`, solving :math:`L_j R_{ZX,j} = \\Lambda^\\top Z_j^\\top X_j`.
    cu : numpy.ndarray
        (J, q): :math:`c_{u,j}`, solving :math:`L_j c_{u,j} = \\Lambda^\\top Z_j^\\top y_j`.
    RX : numpy.ndarray
        (p, p), lower triangular: :math:`R_X R_X^\\top = X^\\top X - \\sum_j R_{ZX,j}^\\top R_{ZX,j}`.
    cbeta : numpy.ndarray
        (p,): :math:`c_\\beta`, solving :math:`R_X c_\\beta = X^\\top y - \\sum_j R_{ZX,j}^\\top c_{u,j}`.
    r2 : float
        The penalised residual sum of squares :math:`r^2(\\theta)`.
    fixed : numpy.ndarray
        (p,): the fixed effects given ``theta``, solving :math:`R_X^\\top \\hat\\gamma = c_\\beta`.
    sigma2 : float
        The residual variance given ``theta``: :math:`r^2/(n-p)` (REML) or :math:`r^2/n` (ML).
    deviance : float
        The profiled deviance (``reml``) at ``theta``.
    n, p : int
        Observations and fixed effects.
    reml : bool
    """

    theta: np.ndarray
    L: np.ndarray
    RZX: np.ndarray
    cu: np.ndarray
    RX: np.ndarray
    cbeta: np.ndarray
    r2: float
    fixed: np.ndarray
    sigma2: float
    deviance: float
    n: int
    p: int
    reml: bool


def deviance_parts(result, theta, *, reml: bool | None = None) -> DevianceParts:
    """The profiled deviance at one ``theta`` with lme4's intermediate pieces (one grouping factor).

    Parameters
    ----------
    result : MixedResult
        A fit from ``mh.fit`` whose random effects belong to one grouping factor.
    theta : float or array-like
        One point, as in ``result.theta``.
    reml : bool, optional
        REML (True) or ML (False); default the fit's own.

    Returns
    -------
    DevianceParts

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> fit = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
    >>> parts = mh.deviance_parts(fit, fit.theta)
    >>> parts.L.shape, parts.RX.shape
    ((18, 1, 1), (2, 2))
    >>> bool(abs(parts.sigma2 - fit.sigma2) < 1e-6 * fit.sigma2)
    True
    """
    model = result.model
    if len(model.blocks) != 1:
        raise MLMInputError(
            f"deviance_parts needs a model with one grouping factor; {result.formula!r} has "
            f"{len(model.blocks)}. Use mh.profiled_deviance(result, theta) for the deviance alone."
        )
    rows, single = _theta_rows(result, theta)
    if not single and len(rows) != 1:
        raise MLMInputError(f"deviance_parts takes one theta (length {_n_theta(result)}), not {len(rows)} of them; "
                            "use mh.profiled_deviance for a grid.")
    crit = _criterion(result, reml)
    ss = sufficient_stats(model)
    pc = deviance_pieces(rows[0], ss, reml=crit)
    RX = np.asarray(pc.RX)
    cbeta = np.asarray(pc.cbeta)
    r2 = float(pc.r2)
    fixed = np.linalg.solve(RX.T, cbeta) if ss.p else np.zeros(0)
    return DevianceParts(
        theta=rows[0].copy(), L=np.asarray(pc.L), RZX=np.asarray(pc.RZX), cu=np.asarray(pc.cu), RX=RX,
        cbeta=cbeta, r2=r2, fixed=fixed, sigma2=r2 / (ss.n - ss.p if crit else ss.n),
        deviance=float(pc.deviance), n=int(ss.n), p=int(ss.p), reml=crit,
    )
