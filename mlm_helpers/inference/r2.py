r"""Variance explained: Nakagawa & Schielzeth's R² and Snijders & Bosker's level-wise reductions.

Examples
--------
>>> import mlm_helpers as mh
>>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
>>> mh.r2(res)[["marginal", "conditional"]].round(4).tolist()  # performance::r2_nakagawa
[0.2787, 0.7992]
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import MLMInputError

if TYPE_CHECKING:
    from ..model.result import MixedResult

__all__ = ["r2"]


def _random_variance(res: MixedResult) -> float:
    """Johnson's (2014) mean random-effect variance: the average over rows of z_i' T z_i, summed over factors."""
    total = 0.0
    for b, cov in zip(res.model.blocks, res._raw.covs, strict=True):
        Z = b.Z
        total += float(np.mean(np.einsum("na,ab,nb->n", Z, np.asarray(cov, float), Z)))
    return total


def r2(res: MixedResult, *, null: MixedResult | None = None) -> pd.Series:
    r"""Marginal and conditional R² (Nakagawa & Schielzeth 2013, Johnson 2014) and level-wise reductions.

    With :math:`\sigma^2_f` the variance of the fixed part's predictions :math:`X\hat\gamma`,
    :math:`\sigma^2_u` the random-effect variance averaged over the rows (Johnson's extension:
    the mean of :math:`z_i^\top \hat T z_i`, which for a random slope depends on where the data
    are) and :math:`\sigma^2` the residual variance,

    * ``marginal`` = :math:`\sigma^2_f / (\sigma^2_f + \sigma^2_u + \sigma^2)` (the fixed part),
    * ``conditional`` = :math:`(\sigma^2_f + \sigma^2_u) / (\sigma^2_f + \sigma^2_u + \sigma^2)`,

    as R's ``performance::r2_nakagawa``. Both lie in [0, 1].

    Snijders & Bosker's (2012, section 7.1) proportional reductions compare the model with a
    **null model**: by default ``y ~ 1 + (1 | g)`` on the same rows, with the same grouping
    factor and REML/ML setting (pass ``null`` to choose another). With :math:`\tau` the
    between-group variance (Johnson's average for random slopes) and :math:`\bar n` the mean
    group size,

    * ``level1`` = :math:`1 - (\sigma^2_M + \tau_M) / (\sigma^2_0 + \tau_0)`,
    * ``level2`` = :math:`1 - (\sigma^2_M/\bar n + \tau_M) / (\sigma^2_0/\bar n + \tau_0)`.

    These **can be negative**: adding a group-mean-centred level-1 predictor lowers
    :math:`\sigma^2` but can raise :math:`\tau` (the between-group variance is then estimated
    without the part the predictor used to explain), and a predictor with no effect can raise
    either estimate by chance; in small samples a reduction below 0 says "nothing explained",
    not "variance created". They are given for one grouping factor only (NaN otherwise).

    Parameters
    ----------
    res : MixedResult
        A fitted model with at least one random term.
    null : MixedResult, optional
        The null model for the level-wise reductions (default: ``y ~ 1 + (1 | g)``).

    Returns
    -------
    pandas.Series
        ``marginal``, ``conditional``, ``level1``, ``level2``; its ``attrs["null"]`` holds the
        null model's formula.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("MathAch ~ SES + (1 | School)", mh.load_dataset("hsb"))
    >>> out = mh.r2(res)
    >>> out.attrs["null"], bool(out["level1"] > 0)
    ('MathAch ~ 1 + (1 | School)', True)
    """
    from ..model.fitting import fit
    from ..model.result import MixedResult

    if not isinstance(res, MixedResult):
        raise MLMInputError(f"r2 needs a fitted model from mh.fit; got {type(res).__name__}.")
    if not res.model.blocks:
        raise MLMInputError("r2 needs a model with random effects; for a linear model use the ordinary R².")
    if null is not None and not isinstance(null, MixedResult):
        raise MLMInputError(f"null must be a fitted model from mh.fit; got {type(null).__name__}.")
    fixed_pred = res.model.X @ np.asarray(res._raw.beta, float)
    vf = float(np.var(fixed_pred, ddof=1))
    vu = _random_variance(res)
    s2 = res.sigma2
    total = vf + vu + s2
    out = {"marginal": vf / total, "conditional": (vf + vu) / total, "level1": np.nan, "level2": np.nan}
    null_formula = ""
    if len(res.model.blocks) == 1:
        b = res.model.blocks[0]
        if null is None:
            null_formula = f"{res.model.spec.response} ~ 1 + (1 | {b.group})"
            data = res.model.data.copy()
            data[res.model.spec.response] = res.model.y
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                null = fit(null_formula, data, reml=res.reml, ddf="normal")
        else:
            null_formula = null.formula
        if len(null.model.blocks) != 1 or null.nobs != res.nobs:
            raise MLMInputError("The null model must have one grouping factor and the same rows as the model.")
        nbar = res.nobs / b.n_levels
        t0 = _random_variance(null)
        out["level1"] = 1 - (s2 + vu) / (null.sigma2 + t0)
        out["level2"] = 1 - (s2 / nbar + vu) / (null.sigma2 / nbar + t0)
    series = pd.Series(out, name="r2")
    series.attrs["null"] = null_formula
    return series
