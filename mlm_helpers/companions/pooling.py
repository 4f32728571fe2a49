"""Complete, no and partial pooling of group means (chapter 01).

Three ways to estimate the mean of group :math:`j`:

* **complete pooling**: ignore the groups; every group gets the grand mean
  :math:`\\bar y` of all observations;
* **no pooling**: every group gets its own raw mean :math:`\\bar y_j`, whatever
  the other groups say;
* **partial pooling**: the random-intercept model's estimate
  :math:`\\hat\\gamma_{00} + \\hat u_{0j} = \\hat\\gamma_{00} + \\lambda_j (\\bar y_j - \\hat\\gamma_{00})`,
  with the shrinkage factor (reliability)
  :math:`\\lambda_j = \\hat\\tau_{00} / (\\hat\\tau_{00} + \\hat\\sigma^2 / n_j)`.

Examples
--------
>>> import mlm_helpers as mh
>>> from mlm_helpers.companions.pooling import pooling_estimates
>>> est = pooling_estimates(mh.load_dataset("hsb"), "MathAch", "School")
>>> est.loc["1224"].round(3)
n                   47.000
no_pooling           9.715
complete_pooling    12.748
partial_pooling      9.973
shrinkage            0.912
Name: 1224, dtype: float64
"""

from __future__ import annotations

import difflib
import warnings

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from ..errors import FewGroupsWarning, MissingDataWarning, MLMInputError
from ..model.fitting import fit
from ..plots.style import OKABE_ITO

__all__ = ["pooling_estimates", "plot_pooling"]

BLUE, VERMILLION, GREY = OKABE_ITO["blue"], OKABE_ITO["vermillion"], "0.35"


def _check_column(data: pd.DataFrame, name: str, role: str) -> None:
    if not isinstance(name, str):
        raise MLMInputError(f"{role} must be a column name (a string), got {name!r}.")
    if name not in data.columns:
        columns = [str(c) for c in data.columns]
        close = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise MLMInputError(
            f"Column {name!r} ({role}) is not in the data.{hint} "
            f"The data have: {', '.join(map(repr, columns))}."
        )


def pooling_estimates(data: pd.DataFrame, y: str, group: str, *, reml: bool = True) -> pd.DataFrame:
    """Complete-, no- and partial-pooling estimates of every group's mean.

    The partial-pooling estimates come from a random-intercept model
    ``y ~ 1 + (1 | group)`` fitted with :func:`mlm_helpers.fit` (REML by
    default): each is the estimated overall mean plus the group's conditional
    mode (BLUP).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation.
    y : str
        Numeric outcome column.
    group : str
        Grouping column (school, hospital, person...).
    reml : bool
        REML (default) or ML for the variance components.

    Returns
    -------
    pandas.DataFrame
        One row per group (indexed by the group, sorted as ``groupby``), with

        * ``n``: the group's number of observations;
        * ``no_pooling``: the group's raw mean;
        * ``complete_pooling``: the grand mean of all observations (the same
          for every group);
        * ``partial_pooling``: the model's estimate of the group's mean;
        * ``shrinkage``: :math:`\\lambda_j = \\hat\\tau_{00} / (\\hat\\tau_{00} + \\hat\\sigma^2/n_j)`,
          the weight of the group's own mean (1: no pooling, 0: complete
          pooling towards :math:`\\hat\\gamma_{00}`).

        ``attrs`` holds the fit's ``gamma00``, ``tau00``, ``sigma2`` and ``icc``.

    Raises
    ------
    MLMInputError
        A column is missing, the outcome is not numeric, or there are fewer
        than two groups.

    Warns
    -----
    MissingDataWarning
        Rows with a missing ``y`` or ``group`` are dropped.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> est = pooling_estimates(mh.load_dataset("hsb"), "MathAch", "School")
    >>> est.shape, round(est.attrs["tau00"], 3)
    ((160, 5), 8.614)
    >>> est["shrinkage"].agg(["min", "max"]).round(3).tolist()
    [0.755, 0.936]
    """
    if not isinstance(data, pd.DataFrame):
        raise MLMInputError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    _check_column(data, y, "the outcome")
    _check_column(data, group, "the grouping column")
    if y == group:
        raise MLMInputError(f"The outcome and the grouping column are the same column, {y!r}.")
    if not pd.api.types.is_numeric_dtype(data[y]) or pd.api.types.is_bool_dtype(data[y]):
        raise MLMInputError(
            f"The outcome {y!r} must be numeric (dtype is {data[y].dtype}); convert it with pd.to_numeric."
        )
    d = data[[y, group]]
    missing = d.isna().any(axis=1)
    if missing.any():
        warnings.warn(f"Dropped {int(missing.sum())} rows with a missing {y!r} or {group!r}.",
                      MissingDataWarning, stacklevel=2)
        d = d.loc[~missing]
    groups = d.groupby(group, observed=True, sort=True)[y]
    n = groups.size()
    if len(n) < 2:
        raise MLMInputError(f"{group!r} has {len(n)} group(s): pooling needs at least two groups.")
    labels = n.index.astype(str)
    if labels.duplicated().any():
        raise MLMInputError(
            f"Two different values of {group!r} print the same; make the group labels distinct."
        )

    frame = pd.DataFrame({"y": d[y].to_numpy(dtype=float), "group": d[group].astype(str).to_numpy()})
    with warnings.catch_warnings():
        # Few groups is worth a warning here too, but name the user's column, not the internal one.
        warnings.simplefilter("ignore", FewGroupsWarning)
        res = fit("y ~ 1 + (1 | group)", frame, reml=reml)
    if len(n) < 10:
        warnings.warn(f"{group!r} has only {len(n)} groups: the between-group variance, and so the amount of "
                      "pooling, is poorly estimated.", FewGroupsWarning, stacklevel=2)
    gamma00 = float(res.fixed.loc["Intercept", "estimate"])
    tau00 = float(res.varcorr["vcov"].iloc[0])
    sigma2 = float(res.sigma2)
    u = res.ranef["Intercept"].reindex(labels).to_numpy()
    out = pd.DataFrame(
        {
            "n": n.to_numpy(),
            "no_pooling": groups.mean().to_numpy(),
            "complete_pooling": float(d[y].mean()),
            "partial_pooling": gamma00 + u,
            "shrinkage": tau00 / (tau00 + sigma2 / n.to_numpy()),
        },
        index=n.index,
    )
    out.attrs = {"gamma00": gamma00, "tau00": tau00, "sigma2": sigma2, "icc": tau00 / (tau00 + sigma2)}
    return out


def plot_pooling(estimates: pd.DataFrame, *, ax: plt.Axes | None = None, units: str = "points") -> Figure:
    """Plot no- and partial-pooling estimates against group size, with the complete-pooling line.

    Each group is a vertical segment from its raw mean (open circle) to the
    model's estimate (filled dot): the length of the segment is how far
    partial pooling moves it.

    Parameters
    ----------
    estimates : pandas.DataFrame
        The output of :func:`pooling_estimates`.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    units : str
        Units of the outcome, for the axis label.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> fig = plot_pooling(pooling_estimates(mh.load_dataset("hsb"), "MathAch", "School"))
    >>> fig.axes[0].get_xlabel()
    'group size (number of observations)'
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    needed = ["n", "no_pooling", "complete_pooling", "partial_pooling"]
    if not isinstance(estimates, pd.DataFrame) or any(c not in estimates.columns for c in needed):
        raise MLMInputError("estimates must be the DataFrame returned by pooling_estimates().")
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.5))
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    n = estimates["n"].to_numpy(dtype=float)
    raw = estimates["no_pooling"].to_numpy()
    part = estimates["partial_pooling"].to_numpy()
    ax.vlines(n, raw, part, color=GREY, linewidth=0.8, alpha=0.7)
    ax.scatter(n, raw, s=22, facecolors="none", edgecolors=VERMILLION, linewidths=1.0,
               label="no pooling (raw mean)")
    ax.scatter(n, part, s=14, color=BLUE, label="partial pooling (model)", zorder=3)
    ax.axhline(float(estimates["complete_pooling"].iloc[0]), color="0.2", linestyle="--", linewidth=1.2,
               label="complete pooling (grand mean)")
    ax.set_xlabel("group size (number of observations)")
    ax.set_ylabel(f"estimated group mean ({units})")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=9, frameon=False)
    return fig
