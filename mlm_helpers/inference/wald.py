"""Multi-df Wald tests of fixed effects: ``mh.wald_test``, with the fit's df method.

The df come from :mod:`mlm_helpers.model.ddf` (Satterthwaite as lmerTest's ``contest``,
Kenward-Roger as pbkrtest's ``KRmodcomp``, between-within, or a chi-squared test for "normal").

Examples
--------
>>> import mlm_helpers as mh
>>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
>>> print(mh.wald_test(res, ["Intercept", "Days"]).round(1).to_string())
            statistic  num_df  den_df    p
test
F (Satt.)       750.0     2.0    17.0  0.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import MLMInputError
from ..model.ddf import contrast_df

if TYPE_CHECKING:
    from ..model.result import MixedResult

__all__ = ["wald_test"]


def wald_test(res: MixedResult, terms: list[str] | str) -> pd.DataFrame:
    """Joint Wald test that several fixed effects are all 0, with the fit's df method.

    An F test with ``num_df`` = number of terms and the denominator df of ``result.ddf``
    (Satterthwaite as lmerTest's ``contest``, Kenward-Roger as pbkrtest's ``KRmodcomp``,
    between-within: the smallest df among the terms), or a chi-squared test when
    ``ddf="normal"``. Use it for a factor with several levels or a Mundlak test.

    Parameters
    ----------
    res : MixedResult
        A fitted model.
    terms : list of str
        Names of fixed effects as in ``res.fixed.index`` (one name may be given as a string).

    Returns
    -------
    pandas.DataFrame
        One row (indexed by the test's name) with ``statistic``, ``num_df``, ``den_df``, ``p``.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"), ddf="normal")
    >>> mh.wald_test(res, ["Days"])[["num_df", "den_df"]].to_string()
    '               num_df  den_df\\ntest                         \\nchi2 (Wald)     1.0     inf'
    """
    from ..model.result import MixedResult

    if not isinstance(res, MixedResult):
        raise MLMInputError(f"wald_test needs a fitted model from mh.fit; got {type(res).__name__}.")
    names = list(res.model.x_names)
    if isinstance(terms, str):
        terms = [terms]
    if not isinstance(terms, list | tuple) or not terms or not all(isinstance(t, str) for t in terms):
        raise MLMInputError(f"terms must be a non-empty list of fixed-effect names; got {terms!r}. "
                            f"Available: {', '.join(names)}.")
    unknown = [t for t in terms if t not in names]
    if unknown:
        raise MLMInputError(f"Unknown fixed-effect term(s) {', '.join(map(repr, unknown))}. "
                            f"Available: {', '.join(names)}.")
    if len(set(terms)) != len(terms):
        raise MLMInputError(f"terms lists a name twice: {terms!r}.")
    L = np.zeros((len(terms), len(names)))
    for i, t in enumerate(terms):
        L[i, names.index(t)] = 1.0
    out = contrast_df(res, L)
    return pd.DataFrame({k: [out[k]] for k in ("statistic", "num_df", "den_df", "p")},
                        index=pd.Index([out["name"]], name="test"))
