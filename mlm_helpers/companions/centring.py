"""Centring a level-1 predictor: at the grand mean, or within groups (at each group's mean).

Group-mean centring splits a level-1 predictor :math:`x_{ij}` into two columns,

.. math:: x_{ij} = \\underbrace{\\bar x_j}_{\\texttt{<col>\\_gm}}
                 + \\underbrace{(x_{ij} - \\bar x_j)}_{\\texttt{<col>\\_c}},

the group mean (a level-2 variable) and the deviation from it (a purely
within-group variable). In ``y ~ x_c + x_gm + (1 | g)`` the coefficient of
``x_c`` is the *within-group* effect and that of ``x_gm`` the *between-group*
effect; their difference is the *contextual* effect (Raudenbush & Bryk 2002,
ch. 5; Enders & Tofighi 2007). :func:`within_between_effects` computes all
three, with standard errors, from either parametrisation.

Grand-mean centring, :math:`x_{ij} - \\bar x`, only moves the zero of ``x``:
the fit and the slopes do not change, but the intercept (and, with a random
slope, the intercept variance) then refers to an average value of ``x``.

Examples
--------
>>> import mlm_helpers as mh
>>> from mlm_helpers.companions.centring import centre_within
>>> hsb = centre_within(mh.load_dataset("hsb"), "SES", "School")
>>> hsb[["SES", "SES_gm", "SES_c"]].head(2).round(3)
     SES  SES_gm  SES_c
0 -1.528  -0.434 -1.094
1 -0.588  -0.434 -0.154
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import MLMInputError
from ..model.frame import _suggest
from ..model.result import MixedResult

__all__ = ["centre_within", "centre_grand", "within_between_effects"]


def _check(data: object, column: str, group: str | None = None) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise MLMInputError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    cols = list(map(str, data.columns))
    if column not in data.columns:
        raise MLMInputError(f"The column {column!r} to centre is not in the data.{_suggest(str(column), cols)}")
    s = data[column]
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        raise MLMInputError(
            f"The column {column!r} must be numeric to be centred; it has dtype {s.dtype}. A label such as "
            "a school id or a sector cannot be centred (use it as a factor instead)."
        )
    if s.notna().sum() == 0:
        raise MLMInputError(f"The column {column!r} has no non-missing values to centre.")
    if group is not None and group not in data.columns:
        raise MLMInputError(f"The grouping column {group!r} is not in the data.{_suggest(str(group), cols)}")
    return data


def centre_within(
    data: pd.DataFrame, column: str, group: str, *, suffixes: tuple[str, str] = ("_gm", "_c")
) -> pd.DataFrame:
    """Add the group mean of a column and the deviation from it (group-mean centring).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per level-1 unit. It is not modified.
    column : str
        The numeric level-1 predictor, e.g. ``"SES"``.
    group : str
        The grouping column, e.g. ``"School"``.
    suffixes : pair of str
        Suffixes of the two new columns: ``<column>_gm``, the mean of
        ``column`` over the rows of the group that are present (missing values
        ignored), and ``<column>_c = column - <column>_gm``, the deviation
        (missing where ``column`` is missing).

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with the two columns added (replaced if present).

    Notes
    -----
    The group mean is taken over the rows in ``data``. A data set may also
    ship a group mean computed from a larger sample (HSB's ``MEANSES``); it
    then differs slightly, and ``<column>_c`` no longer averages exactly 0 in
    each group, so the within/between split is no longer exact.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1.0, 3.0, 10.0, 14.0]})
    >>> centre_within(df, "x", "g")
       g     x  x_gm  x_c
    0  a   1.0   2.0 -1.0
    1  a   3.0   2.0  1.0
    2  b  10.0  12.0 -2.0
    3  b  14.0  12.0  2.0
    """
    _check(data, column, group)
    if (not isinstance(suffixes, tuple | list) or len(suffixes) != 2 or suffixes[0] == suffixes[1]
            or not all(isinstance(s, str) and s for s in suffixes)):
        raise MLMInputError(f"suffixes must be two different non-empty strings such as ('_gm', '_c'); got {suffixes!r}.")
    if data[group].isna().any():
        raise MLMInputError(
            f"The grouping column {group!r} has {int(data[group].isna().sum())} missing value(s): a row "
            "without a group has no group mean. Drop those rows first."
        )
    out = data.copy()
    gm = out.groupby(group, sort=False)[column].transform("mean")
    out[column + suffixes[0]] = gm
    out[column + suffixes[1]] = out[column] - gm
    return out


def centre_grand(data: pd.DataFrame, column: str, *, suffix: str = "_cgm") -> pd.DataFrame:
    """Add the column centred at its grand mean (the mean over all rows).

    Parameters
    ----------
    data : pandas.DataFrame
        It is not modified.
    column : str
        The numeric predictor.
    suffix : str
        Suffix of the new column ``<column>_cgm = column - mean(column)``
        ("centred at the grand mean"); the mean ignores missing values.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with the column added (replaced if present).

    Examples
    --------
    >>> import pandas as pd
    >>> centre_grand(pd.DataFrame({"x": [1.0, 2.0, 6.0]}), "x")["x_cgm"].tolist()
    [-2.0, -1.0, 3.0]
    """
    _check(data, column)
    if not isinstance(suffix, str) or not suffix:
        raise MLMInputError(f"suffix must be a non-empty string such as '_cgm'; got {suffix!r}.")
    out = data.copy()
    out[column + suffix] = out[column] - out[column].mean()
    return out


def within_between_effects(
    result: MixedResult, x: str, group_mean: str, *, x_is_centred: bool = True, level: float = 0.95
) -> pd.DataFrame:
    """Within-group, between-group and contextual effects of a level-1 predictor.

    Two equivalent models carry them (``x_gm`` the group mean of ``x``):

    * ``y ~ x_c + x_gm`` with the group-mean-centred ``x_c`` (``x_is_centred=True``):
      within = :math:`b_{x_c}`, between = :math:`b_{x_{gm}}`,
      contextual = between - within;
    * ``y ~ x + x_gm`` with the raw ``x`` (``x_is_centred=False``):
      within = :math:`b_x`, contextual = :math:`b_{x_{gm}}`,
      between = within + contextual.

    Standard errors of the sums and differences use the covariance of the
    fixed-effect estimates (``result.vcov_fixed``); intervals are Wald.

    Parameters
    ----------
    result : MixedResult
        A fit whose fixed part contains ``x`` and ``group_mean``.
    x : str
        Name of the level-1 predictor's fixed effect (centred or raw).
    group_mean : str
        Name of the group-mean fixed effect.
    x_is_centred : bool
        Whether ``x`` is centred at the group means (see above).
    level : float
        Coverage of the intervals.

    Returns
    -------
    pandas.DataFrame
        Rows ``within``, ``between``, ``contextual``; columns ``estimate``,
        ``se``, ``ci_lower``, ``ci_upper``.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> hsb = centre_within(mh.load_dataset("hsb"), "SES", "School")
    >>> res = mh.fit("MathAch ~ SES_c + SES_gm + (1 | School)", hsb)
    >>> within_between_effects(res, "SES_c", "SES_gm")["estimate"].round(3).tolist()
    [2.191, 5.866, 3.675]
    """
    if not isinstance(result, MixedResult):
        raise MLMInputError(f"within_between_effects() needs the result of mh.fit(...), got {type(result).__name__}.")
    names = list(result.fixed.index)
    for role, name in (("x", x), ("group_mean", group_mean)):
        if name not in names:
            raise MLMInputError(f"{role}={name!r} is not a fixed effect of {result.formula!r}; the fixed effects "
                                f"are {names}.")
    if not 0 < float(level) < 1:
        raise MLMInputError(f"level must be between 0 and 1, e.g. 0.95; got {level!r}.")
    b = result.fixed["estimate"]
    V = result.vcov_fixed
    # each effect as a linear combination (weight on x, weight on group_mean)
    if x_is_centred:
        combos = {"within": (1.0, 0.0), "between": (0.0, 1.0), "contextual": (-1.0, 1.0)}
    else:
        combos = {"within": (1.0, 0.0), "between": (1.0, 1.0), "contextual": (0.0, 1.0)}
    z = float(stats.norm.ppf(0.5 + float(level) / 2))
    rows = {}
    for key, (wx, wg) in combos.items():
        w = np.array([wx, wg])
        est = float(w @ b[[x, group_mean]].to_numpy())
        var = float(w @ V.loc[[x, group_mean], [x, group_mean]].to_numpy() @ w)
        se = float(np.sqrt(var))
        rows[key] = (est, se, est - z * se, est + z * se)
    return pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "se", "ci_lower", "ci_upper"])
