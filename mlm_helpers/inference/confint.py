"""Intervals for every parameter: ``mh.confint`` (profile likelihood, parametric bootstrap, Wald).

Rows follow lme4's ``confint(fit, oldNames = FALSE)`` with this package's names:
``sd_Intercept|Subject``, ``cor_Days.Intercept|Subject``, ``sd_Days|Subject``, ..., ``sigma``,
then the fixed effects as in ``result.fixed``.

**Order with several grouping factors.** One factor after another, in the formula's order (the
order of ``result.varcorr``); within a factor, lme4's order (column by column of the lower
triangle: each standard deviation followed by its correlations with the later terms). lme4
itself lists its factors by decreasing number of levels, so for ``(1 | batch) + (1 | sample)``
(10 and 30 levels) lme4 puts ``sd_Intercept|sample`` first; the names are the same.

Examples
--------
>>> import mlm_helpers as mh
>>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
>>> list(mh.confint(res, method="wald").index)
['sd_Intercept|Subject', 'cor_Days.Intercept|Subject', 'sd_Days|Subject', 'sigma', 'Intercept', 'Days']
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special

from ..errors import MLMInputError
from ..model.deviance import theta_index

if TYPE_CHECKING:
    from ..model.result import MixedResult

__all__ = ["confint", "parameter_names", "parameter_values"]

METHODS = ("profile", "bootstrap", "wald")


def _entries(res: MixedResult) -> list[tuple[int, int, int, str]]:
    """(block, i, j, name) of every random-effect sd and correlation, in lme4's order."""
    out = []
    for k, b in enumerate(res.model.blocks):
        for i, j in zip(*theta_index(b.pattern), strict=True):
            name = f"sd_{b.names[i]}|{b.group}" if i == j else f"cor_{b.names[i]}.{b.names[j]}|{b.group}"
            out.append((k, int(i), int(j), name))
    return out


def parameter_names(res: MixedResult) -> list[str]:
    """lme4's ``confint(oldNames = FALSE)`` row names, with this package's term names."""
    return [e[3] for e in _entries(res)] + ["sigma", *res.model.x_names]


def _values(res: MixedResult, covs: list[np.ndarray], sigma2: float, beta: np.ndarray) -> np.ndarray:
    vals = []
    for k, i, j, _ in _entries(res):
        c = np.asarray(covs[k], float)
        if i == j:
            vals.append(np.sqrt(max(c[i, i], 0.0)))
        else:
            d = np.sqrt(c[i, i] * c[j, j])
            vals.append(c[i, j] / d if d > 0 else np.nan)
    return np.array([*vals, np.sqrt(sigma2), *np.asarray(beta, float)])


def parameter_values(res: MixedResult) -> pd.Series:
    """The estimates in the rows of :func:`confint`."""
    return pd.Series(_values(res, res._raw.covs, res.sigma2, res._raw.beta), index=parameter_names(res))


def _progress(done: int, total: int, stream) -> None:
    width = 30
    filled = int(width * done / total)
    stream.write(f"\rbootstrap [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        stream.write("\n")
    stream.flush()


def _bootstrap(res: MixedResult, level: float, nsim: int, seed, progress: bool) -> np.ndarray:
    names = list(res.model.x_names)
    Y = res.simulate(nsim, seed=seed)
    chunks = max(1, min(20, nsim // 10))
    parts = []
    stream = sys.stderr
    for c, idx in enumerate(np.array_split(np.arange(nsim), chunks)):
        parts.append(res.refit_many(Y[idx]))
        if progress:
            _progress(c + 1, chunks, stream)
    table = pd.concat(parts, ignore_index=True)
    # the variance components of refit_many come in result.varcorr's row order
    vc = res.varcorr
    draws = np.empty((len(table), len(parameter_names(res))))
    pos = {}
    row = 0
    for k, b in enumerate(res.model.blocks):
        for t in range(len(b.terms)):
            cols = [m for m in range(b.q) if b.term_of_column[m] == t]
            for m in cols:
                pos[(k, m, m)] = row
                row += 1
            for a_i, a in enumerate(cols):
                for c2 in cols[a_i + 1:]:
                    pos[(k, c2, a)] = row
                    row += 1
    assert row == len(vc) - 1
    for e, (k, i, j, _) in enumerate(_entries(res)):
        v = table[f"vcov_{pos[(k, i, j)]}"].to_numpy()
        if i == j:
            draws[:, e] = np.sqrt(np.clip(v, 0, None))
        else:
            vi = table[f"vcov_{pos[(k, i, i)]}"].to_numpy()
            vj = table[f"vcov_{pos[(k, j, j)]}"].to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                draws[:, e] = v / np.sqrt(vi * vj)
    ne = len(_entries(res))
    draws[:, ne] = np.sqrt(table["sigma2"].to_numpy())
    for m, nm in enumerate(names):
        draws[:, ne + 1 + m] = table[nm].to_numpy()
    alpha = (1 - level) / 2
    return np.column_stack([np.nanquantile(draws, alpha, axis=0), np.nanquantile(draws, 1 - alpha, axis=0)])


def confint(res: MixedResult, method: str = "profile", level: float = 0.95, *, nsim: int = 500,
            seed: int | np.random.Generator | None = None, progress: bool = True) -> pd.DataFrame:
    """Confidence intervals for every parameter of a fitted model, as lme4's ``confint``.

    Parameters
    ----------
    res : MixedResult
        A fitted model.
    method : {"profile", "bootstrap", "wald"}
        ``"wald"``: estimate +- z se for the fixed effects (NaN for the variance parameters, as
        lme4). ``"bootstrap"``: a seeded parametric bootstrap (``res.simulate`` then
        ``res.refit_many``), percentile intervals. ``"profile"``: likelihood-profile intervals
        as lme4's ``profile()`` (:mod:`mlm_helpers.inference.profile`; a REML fit is profiled
        through its ML refit, as lme4 does); an interval may end at the boundary (0 for a
        standard deviation, -1 or 1 for a correlation). Not for a fit that did not converge.
    level : float
        Confidence level, strictly between 0 and 1.
    nsim : int
        Bootstrap samples.
    seed : int or Generator, optional
        Seed of the bootstrap draws.
    progress : bool
        Show a simple text progress bar on stderr during the bootstrap.

    Returns
    -------
    pandas.DataFrame
        ``lower`` and ``upper``, rows as :func:`parameter_names`.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
    >>> ci = mh.confint(res, method="bootstrap", nsim=200, seed=1, progress=False)
    >>> list(ci.columns), bool(ci.loc["Days", "lower"] < 10.47 < ci.loc["Days", "upper"])
    (['lower', 'upper'], True)
    >>> mh.confint(res).round(2).loc[["sigma", "Days"]]  # profile intervals
               lower  upper
    parameter
    sigma      27.81  34.59
    Days        8.89  12.05
    """
    from ..model.result import MixedResult

    if not isinstance(res, MixedResult):
        raise MLMInputError(f"confint needs a fitted model from mh.fit; got {type(res).__name__}.")
    if not isinstance(method, str) or method not in METHODS:
        raise MLMInputError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}.")
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < float(level) < 1:
        raise MLMInputError(f"level must be a number strictly between 0 and 1, such as 0.95; got {level!r}.")
    level = float(level)
    names = parameter_names(res)
    if method == "wald":
        out = np.full((len(names), 2), np.nan)
        est = np.asarray(res._raw.beta, float)
        se = np.sqrt(np.diag(np.asarray(res._raw.vcov_beta, float)))
        crit = special.ndtri(0.5 + level / 2)
        p = len(est)
        out[-p:, 0] = est - crit * se
        out[-p:, 1] = est + crit * se
    elif method == "bootstrap":
        if not isinstance(nsim, int | np.integer) or isinstance(nsim, bool) or nsim < 10:
            raise MLMInputError(f"nsim must be a whole number of at least 10 (500 or more for a 95% interval); "
                                f"got {nsim!r}.")
        out = _bootstrap(res, level, int(nsim), seed, progress)
    else:
        from .profile import profile_intervals

        out = profile_intervals(res, level)
    return pd.DataFrame(out, index=pd.Index(names, name="parameter"), columns=["lower", "upper"])
