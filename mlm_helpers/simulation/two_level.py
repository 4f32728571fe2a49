"""Simulate two-level data with known generating values.

The model (group :math:`j`, observation :math:`i`) is

.. math::

    y_{ij} = \\beta_0 + \\beta_1 x_{ij} + \\gamma_w w_j + \\gamma_{xw} x_{ij} w_j
             + \\textstyle\\sum_k \\beta_{k} x_{k,ij} + u_{0j} + u_{1j} x_{ij} + e_{ij},

with :math:`(u_{0j}, u_{1j}) \\sim N(0, T)`, :math:`T = [[\\tau_{00}, \\tau_{01}],
[\\tau_{01}, \\tau_{11}]]` and :math:`e_{ij} \\sim N(0, \\sigma^2)`.

Examples
--------
>>> from mlm_helpers import simulate_two_level
>>> df = simulate_two_level(30, 20, beta0=50, tau00=4, sigma2=16, seed=1)
>>> df.shape[0], df["group"].nunique()
(600, 30)
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd

from ..errors import MLMInputError

__all__ = ["simulate_two_level"]


def _check_int(name: str, value: object, minimum: int, why: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral | np.integer):
        if isinstance(value, Real | np.floating) and float(value).is_integer():
            value = int(float(value))
        else:
            raise MLMInputError(f"{name} must be a whole number, got {value!r}.")
    if value < minimum:
        raise MLMInputError(f"{name} must be at least {minimum} ({why}), got {value}.")
    return int(value)


def _check_real(name: str, value: object, *, nonneg: bool = False, positive: bool = False) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise MLMInputError(f"{name} must be a number, got {value!r}.") from None
    if not np.isfinite(v):
        raise MLMInputError(f"{name} must be a finite number, got {value!r}.")
    if positive and v <= 0:
        raise MLMInputError(f"{name} is a variance and must be greater than 0, got {v}.")
    if nonneg and v < 0:
        raise MLMInputError(
            f"{name} is a variance (or a standard deviation) and cannot be negative, got {v}. "
            "Use 0 to switch that component off."
        )
    return v


def simulate_two_level(
    n_groups: int,
    group_size: int | Sequence[int],
    *,
    beta0: float = 0.0,
    beta1: float = 0.0,
    tau00: float = 1.0,
    tau11: float = 0.0,
    tau01: float = 0.0,
    sigma2: float = 1.0,
    x_sd: float = 1.0,
    x_between_sd: float = 0.0,
    w_effect: float = 0.0,
    xw_effect: float = 0.0,
    extra_slopes: Sequence[float] = (),
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw a data set from a two-level linear model with known parameters.

    Parameters
    ----------
    n_groups : int
        Number of groups (at least 2).
    group_size : int or sequence of int
        Observations per group: one int for balanced data, or one int per
        group (length ``n_groups``) for unbalanced data. Each at least 1.
    beta0, beta1 : float
        Fixed intercept and fixed slope of ``x``.
    tau00, tau11 : float
        Variances of the random intercepts ``u0`` and random slopes ``u1``.
    tau01 : float
        Covariance of ``u0`` and ``u1``; needs ``tau01**2 <= tau00 * tau11``.
    sigma2 : float
        Residual (within-group) variance, greater than 0.
    x_sd : float
        Standard deviation of ``x`` within a group.
    x_between_sd : float
        Standard deviation of the group means of ``x`` (0: ``x`` has no
        between-group part). Use it to teach within- versus between-group
        effects.
    w_effect : float
        Effect of the level-2 predictor ``w`` (standard normal, one value per
        group).
    xw_effect : float
        Cross-level interaction: effect of ``x * w``.
    extra_slopes : sequence of float
        Slopes of further level-1 predictors ``x2, x3, ...`` (standard normal,
        no random slopes).
    seed : int, numpy Generator or None
        Same seed, same data.

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (string ids ``g001``, ...), ``x``, ``w``, then
        ``x2, ...`` if asked, ``y``, and the true ``u0``, ``u1``. The
        generating values are in ``df.attrs["truth"]`` (including ``icc``,
        ``tau00 / (tau00 + sigma2)``, the ICC at ``x = 0``).

    Raises
    ------
    MLMInputError
        (a ``ValueError``) naming the argument and the reason.

    Examples
    --------
    >>> df = simulate_two_level(50, [5, 10] * 25, tau00=2, sigma2=8, seed=42)
    >>> df.attrs["truth"]["icc"]
    0.2
    """
    n_groups = _check_int("n_groups", n_groups, 2, "a multilevel model needs at least two groups")
    if isinstance(group_size, Sequence | np.ndarray) and not isinstance(group_size, str):
        sizes = list(group_size)
        if len(sizes) != n_groups:
            raise MLMInputError(
                f"group_size has {len(sizes)} entries but n_groups is {n_groups}: "
                "give one size per group, or a single int for equal sizes."
            )
        sizes = [_check_int(f"group_size[{k}]", s, 1, "every group needs an observation") for k, s in enumerate(sizes)]
    else:
        size = _check_int("group_size", group_size, 1, "every group needs an observation")
        sizes = [size] * n_groups
    beta0 = _check_real("beta0", beta0)
    beta1 = _check_real("beta1", beta1)
    tau00 = _check_real("tau00", tau00, nonneg=True)
    tau11 = _check_real("tau11", tau11, nonneg=True)
    tau01 = _check_real("tau01", tau01)
    sigma2 = _check_real("sigma2", sigma2, positive=True)
    x_sd = _check_real("x_sd", x_sd, nonneg=True)
    x_between_sd = _check_real("x_between_sd", x_between_sd, nonneg=True)
    w_effect = _check_real("w_effect", w_effect)
    xw_effect = _check_real("xw_effect", xw_effect)
    extra = [_check_real(f"extra_slopes[{k}]", b) for k, b in enumerate(extra_slopes)]
    if tau01**2 > tau00 * tau11 * (1 + 1e-12) + 1e-15:
        bound = float(np.sqrt(tau00 * tau11))
        raise MLMInputError(
            f"tau01 = {tau01} makes the random-effects covariance matrix invalid (not positive "
            f"semi-definite): a covariance must satisfy |tau01| <= sqrt(tau00 * tau11) = {bound:.4g}. "
            "Lower |tau01| or raise tau00/tau11 (the implied correlation "
            "tau01 / sqrt(tau00 * tau11) must lie between -1 and 1)."
        )

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = int(sum(sizes))
    gidx = np.repeat(np.arange(n_groups), sizes)
    width = max(3, len(str(n_groups)))
    labels = np.array([f"g{k + 1:0{width}d}" for k in range(n_groups)])

    # Fixed draw order: same seed -> same data, whichever options are used.
    cov = np.array([[tau00, tau01], [tau01, tau11]])
    z = rng.standard_normal((n_groups, 2))
    # Cholesky-like factor that also works for singular (PSD) matrices.
    evals, evecs = np.linalg.eigh(cov)
    factor = evecs * np.sqrt(np.clip(evals, 0.0, None))
    u = z @ factor.T
    w = rng.standard_normal(n_groups)
    x_mean = x_between_sd * rng.standard_normal(n_groups)
    x = x_mean[gidx] + x_sd * rng.standard_normal(n)
    e = np.sqrt(sigma2) * rng.standard_normal(n)
    extras = rng.standard_normal((n, len(extra)))

    u0 = u[gidx, 0]
    u1 = u[gidx, 1]
    wi = w[gidx]
    y = beta0 + beta1 * x + w_effect * wi + xw_effect * x * wi + u0 + u1 * x + e
    data: dict[str, np.ndarray] = {"group": labels[gidx], "x": x, "w": wi}
    for k, b in enumerate(extra):
        data[f"x{k + 2}"] = extras[:, k]
        y = y + b * extras[:, k]
    data["y"] = y
    data["u0"] = u0
    data["u1"] = u1
    df = pd.DataFrame(data)
    df["group"] = df["group"].astype(str)
    df.attrs["truth"] = {
        "n_groups": n_groups,
        "group_size": sizes[0] if len(set(sizes)) == 1 else list(sizes),
        "beta0": beta0,
        "beta1": beta1,
        "tau00": tau00,
        "tau11": tau11,
        "tau01": tau01,
        "sigma2": sigma2,
        "x_sd": x_sd,
        "x_between_sd": x_between_sd,
        "w_effect": w_effect,
        "xw_effect": xw_effect,
        "extra_slopes": list(extra),
        "icc": tau00 / (tau00 + sigma2),
    }
    return df
