"""``mh.fit``: one call for lme4-style formulas, with a fast exact engine and a robust statsmodels path.

Examples
--------
>>> import mlm_helpers as mh
>>> res = mh.fit("MathAch ~ SES + (1 | School)", mh.load_dataset("hsb"))
>>> res.fixed["estimate"].round(3).tolist()
[12.657, 2.39]
>>> round(res.icc, 3)
0.114
"""

from __future__ import annotations

import pandas as pd

from .._threads import one_blas_thread
from ..errors import MLMInputError
from .ddf import check_ddf
from .engines import ENGINES, choose
from .frame import build_model
from .result import MixedResult

__all__ = ["fit", "ENGINES"]


def fit(formula: str, data: pd.DataFrame, *, reml: bool = True, engine: str = "auto",
        ddf: str = "satterthwaite") -> MixedResult:
    """Fit a linear mixed model written as an lme4 formula.

    Parameters
    ----------
    formula : str
        For example ``"MathAch ~ SES + (1 + SES | School)"``. Random terms:
        ``(1 | g)``, ``(1 + x | g)`` = ``(x | g)``, ``(0 + x | g)``,
        ``(x || g)`` (uncorrelated), crossed ``(1 | a) + (1 | b)``, nested
        ``(1 | a/b)``. ``I(age^2)`` is a power, as in R. A formula without random
        terms fits an ordinary linear model by ML/REML (useful as the reduced model
        of a likelihood-ratio test).
    data : pandas.DataFrame
        One row per observation. Rows with missing values in the model's
        columns are dropped with a warning.
    reml : bool
        REML (default, as lme4) or maximum likelihood.
    engine : {"auto", "fast", "statsmodels", "intercepts", "general"}
        ``"fast"``: the exact profiled-deviance engine, for every model (one
        grouping factor, or several, crossed or nested). ``"statsmodels"``:
        MixedLM with several optimisers, keeping the best likelihood; its optimum
        is checked with lme4's profiled deviance and re-optimised when
        statsmodels stopped short. ``"intercepts"`` and ``"general"``: former
        names, now aliases of ``"fast"``. ``"auto"`` (default): ``"fast"``.
    ddf : {"satterthwaite", "kenward-roger", "between-within", "normal"}
        Degrees of freedom of the t-tests in ``result.fixed`` and ``summary()``
        (see :mod:`mlm_helpers.model.ddf`): Satterthwaite (default, as
        lmerTest), Kenward-Roger (REML only, adjusted standard errors, as
        pbkrtest), the between-within (containment) rule, or ``"normal"``: Wald
        z, what statsmodels reports. They are computed when ``result.fixed`` is
        first read.

    Returns
    -------
    MixedResult

    Warns
    -----
    ConvergenceWarning
        When statsmodels' default optimiser stopped at a worse likelihood than
        another optimiser (the better fit is reported), when lme4's profiled
        deviance, re-optimised from statsmodels' estimates, finds a higher
        likelihood (the re-optimised fit is reported, and the warning says by
        how much), or an optimiser did not converge.
    InputWarning
        A random-effect column far from scale 1 (the fast engine rescales it
        internally), or whole numbers stored as text dummy-coded as a factor.
    SingularFitWarning
        When a variance is estimated as 0 (or a correlation as +-1).
    FewGroupsWarning, MissingDataWarning
        Fewer than 10 groups; rows dropped for missing values.

    Raises
    ------
    MLMInputError
        A ``ValueError`` whose message names the problem and the fix.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> res.varcorr.round(2)
          group       var1  var2    vcov  sdcor
    0   Subject  Intercept   NaN  612.09  24.74
    1   Subject       Days   NaN   35.07   5.92
    2   Subject  Intercept  Days    9.60   0.07
    3  Residual        NaN   NaN  654.94  25.59
    """
    if not isinstance(engine, str) or engine not in ENGINES:
        raise MLMInputError(f"engine must be one of {', '.join(map(repr, ENGINES))}; got {engine!r}.")
    if not isinstance(reml, bool) and type(reml).__name__ != "bool_":
        raise MLMInputError(f"reml must be True (REML) or False (ML); got {reml!r}.")
    ddf = check_ddf(ddf, bool(reml))
    model = build_model(formula, data)
    chosen = choose(model, engine)
    with one_blas_thread():
        raw = chosen.fit(model, bool(reml))
    result = MixedResult(model, raw, reml=bool(reml), engine=chosen.name, formula=formula, data=data, ddf=ddf)
    result.warn()
    return result
