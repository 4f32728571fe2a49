"""Reusable plots for multilevel models: caterpillar, shrinkage and spaghetti plots.

Every plotting function takes ``ax=None`` (draw on a new figure) or an existing
matplotlib ``Axes``, labels its axes and returns the ``Figure``. Colours are
the colour-blind-safe Okabe-Ito palette (:data:`OKABE_ITO`).

The numbers behind the caterpillar plot are available without a figure:
:func:`conditional_covariances` (the conditional covariance matrix of each
group's random effects given the data) and :func:`ranef_intervals` (the
conditional modes with approximate intervals).

Examples
--------
>>> import mlm_helpers as mh
>>> from mlm_helpers import plots
>>> res = mh.fit("MathAch ~ SES + (1 | School)", mh.load_dataset("hsb"))
>>> fig = plots.caterpillar_plot(res)
>>> fig.axes[0].get_ylabel()
'conditional mode of the school intercept'
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from ..errors import MLMInputError
from ..model.frame import _suggest
from ..model.result import MixedResult
from .style import OKABE_ITO

__all__ = [
    "OKABE_ITO",
    "conditional_covariances",
    "ranef_intervals",
    "caterpillar_plot",
    "shrinkage_plot",
    "spaghetti_plot",
]

_BLUE, _VERM, _GREY = OKABE_ITO["blue"], OKABE_ITO["vermillion"], "0.55"


# ---------------------------------------------------------------------------- helpers
def _new_ax(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    if not isinstance(ax, Axes):
        raise MLMInputError(f"ax must be a matplotlib Axes (or None for a new figure), got {type(ax).__name__}.")
    return ax.get_figure(), ax  # type: ignore[return-value]


def _check_result(result: object, what: str) -> MixedResult:
    if not isinstance(result, MixedResult):
        raise MLMInputError(f"{what} needs the result of mh.fit(...), got {type(result).__name__}.")
    blocks = result.model.blocks
    if len(blocks) != 1:
        raise MLMInputError(
            f"{what} handles models with one grouping factor; {result.formula!r} has {len(blocks)}. "
            "Fit one grouping factor at a time, e.g. 'y ~ x + (1 | g)'."
        )
    return result


def _check_level(level: float) -> float:
    try:
        lev = float(level)
    except (TypeError, ValueError):
        raise MLMInputError(f"level must be a number between 0 and 1, such as 0.95; got {level!r}.") from None
    if not 0 < lev < 1:
        raise MLMInputError(f"level must be between 0 and 1 (0.95 for 95% intervals); got {level!r}.")
    return lev


def _check_columns(data: object, columns: dict[str, str]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise MLMInputError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    for role, col in columns.items():
        if col not in data.columns:
            raise MLMInputError(f"The {role} column {col!r} is not in the data.{_suggest(str(col), list(map(str, data.columns)))}")
    return data


# ---------------------------------------------------------------------------- conditional variances
def conditional_covariances(result: MixedResult) -> np.ndarray:
    """Conditional covariance matrix of each group's random effects given the data.

    For group :math:`j` with random-effect design :math:`Z_j`, covariance
    matrix :math:`G` of the random effects and residual variance
    :math:`\\sigma^2`, the random effects and the data are jointly normal, and
    (with the parameters at their estimates)

    .. math:: \\operatorname{Var}(u_j \\mid y) = (G^{-1} + Z_j^\\top Z_j / \\sigma^2)^{-1}
              = G\\,(I + Z_j^\\top Z_j\\, G / \\sigma^2)^{-1},

    the second form also holding when :math:`G` is singular. For a random
    intercept it is :math:`\\tau_{00}(1 - \\lambda_j)` with the shrinkage
    factor :math:`\\lambda_j = \\tau_{00} / (\\tau_{00} + \\sigma^2 / n_j)`.
    These are lme4's ``ranef(fit, condVar = TRUE)`` variances: they treat the
    estimated parameters as known, so they do not include the uncertainty of
    the fixed effects or of :math:`G`.

    Parameters
    ----------
    result : MixedResult
        A fit with one grouping factor.

    Returns
    -------
    numpy.ndarray
        Shape ``(J, q, q)``: one ``q x q`` matrix per group, in the order of
        ``result.ranef``'s rows and columns.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> conditional_covariances(res).shape
    (18, 2, 2)
    >>> conditional_covariances(res)[0].round(2)
    array([[145.71, -21.44],
           [-21.44,   5.31]])
    """
    result = _check_result(result, "conditional_covariances()")
    return result.condvar()


def ranef_intervals(result: MixedResult, term: str = "Intercept", level: float = 0.95) -> pd.DataFrame:
    """Conditional modes of one random effect with approximate intervals.

    The interval is the conditional mode plus or minus ``z`` conditional
    standard deviations (``z = 1.96`` for 95%), the intervals of a
    caterpillar plot (lme4's ``dotplot(ranef(fit, condVar = TRUE))``).

    Parameters
    ----------
    result : MixedResult
        A fit with one grouping factor.
    term : str
        Which random effect: ``"Intercept"`` or the name of a random slope.
    level : float
        Coverage of the intervals, between 0 and 1.

    Returns
    -------
    pandas.DataFrame
        One row per group (index: the group labels, in the order of
        ``result.ranef``) with ``estimate`` (conditional mode), ``cond_sd``
        (conditional standard deviation), ``lower``, ``upper`` and ``n``
        (observations in the group).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("MathAch ~ SES + (1 | School)", mh.load_dataset("hsb"))
    >>> ranef_intervals(res).loc["1224"].round(3).tolist()
    [-1.634, 0.822, -3.245, -0.022, 47.0]
    """
    result = _check_result(result, "ranef_intervals()")
    lev = _check_level(level)
    ranef = result.ranef
    if isinstance(ranef, dict):
        raise MLMInputError("ranef_intervals() needs a model with one grouping factor; this one has several.")
    names = list(ranef.columns)
    if term not in names:
        raise MLMInputError(
            f"{term!r} is not a random effect of {result.formula!r}; its random effects are {names}."
        )
    k = names.index(term)
    cond_sd = np.sqrt(np.clip(conditional_covariances(result)[:, k, k], 0.0, None))
    est = result.ranef[term].to_numpy()
    z = float(stats.norm.ppf(0.5 + lev / 2))
    block = result.model.blocks[0]
    n = np.bincount(block.codes, minlength=block.n_levels)
    return pd.DataFrame(
        {"estimate": est, "cond_sd": cond_sd, "lower": est - z * cond_sd, "upper": est + z * cond_sd, "n": n},
        index=ranef.index,
    )


# ---------------------------------------------------------------------------- caterpillar plot
def caterpillar_plot(
    result: MixedResult,
    term: str = "Intercept",
    *,
    level: float = 0.95,
    add_fixed: bool = False,
    group_label: str | None = None,
    ylabel: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Caterpillar plot: every group's conditional mode with its interval, sorted.

    Groups are ranked from the lowest to the highest conditional mode along
    the x axis; each gets a dot and a vertical interval from
    :func:`ranef_intervals`. Intervals that exclude the reference value
    (0, or the fixed effect when ``add_fixed``) are drawn in vermillion,
    the others in blue, and the axes title counts them.

    Parameters
    ----------
    result : MixedResult
        A fit with one grouping factor.
    term : str
        The random effect to show (``"Intercept"`` or a random slope).
    level : float
        Coverage of the intervals.
    add_fixed : bool
        Show the group's coefficient (fixed effect + random effect, e.g. the
        school's own intercept) instead of its deviation from the average.
    group_label : str, optional
        Name of a group in the labels, e.g. ``"school"`` (default: the name
        of the grouping column, in lower case).
    ylabel : str, optional
        Label of the y axis (give units); a default names the effect.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> fig = caterpillar_plot(res, "Days", add_fixed=True)
    >>> fig.axes[0].get_ylabel()
    'Days slope of each subject'
    """
    res = _check_result(result, "caterpillar_plot()")
    tab = ranef_intervals(res, term, level).sort_values("estimate", kind="stable")
    label = (group_label or res.model.blocks[0].group).lower()
    ref = 0.0
    if add_fixed:
        if term not in res.fixed.index:
            raise MLMInputError(f"add_fixed=True needs a fixed effect named {term!r}; the fixed effects are "
                                f"{list(res.fixed.index)}.")
        ref = float(res.fixed.loc[term, "estimate"])
        tab[["estimate", "lower", "upper"]] += ref
    fig, ax = _new_ax(ax, (9, 4))
    pos = np.arange(1, len(tab) + 1)
    excl = ((tab["lower"] > ref) | (tab["upper"] < ref)).to_numpy()
    for mask, colour in ((~excl, _BLUE), (excl, _VERM)):
        if mask.any():
            ax.vlines(pos[mask], tab["lower"].to_numpy()[mask], tab["upper"].to_numpy()[mask],
                      color=colour, linewidth=1.2, alpha=0.8)
            ax.plot(pos[mask], tab["estimate"].to_numpy()[mask], "o", color=colour, markersize=3)
    ax.axhline(ref, color="0.3", linestyle="--", linewidth=1)
    what = "intercept" if term == "Intercept" else f"{term} slope"
    if add_fixed:
        ax.set_ylabel(f"{what.capitalize() if term == 'Intercept' else what} of each {label}")
    else:
        ax.set_ylabel(f"conditional mode of the {label} {what}")
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    ax.set_xlabel(f"{label}s, ranked by the estimate ({len(tab)} {label}s)")
    if len(tab) <= 40:
        ax.set_xticks(pos, tab.index, rotation=90, fontsize="small")
    else:
        ax.set_xticks([])
    ref_text = f"the average ({ref:.3g})" if add_fixed else "0"
    ax.set_title(f"{int(excl.sum())} of {len(tab)} {level:.0%} intervals exclude {ref_text}", fontsize="medium")
    ax.set_xlim(0, len(tab) + 1)
    return fig


# ---------------------------------------------------------------------------- shrinkage plot
def _as_frame(obj: object, name: str) -> pd.DataFrame:
    if isinstance(obj, pd.Series):
        return obj.to_frame(name=obj.name if obj.name is not None else "estimate")
    if isinstance(obj, pd.DataFrame):
        return obj
    raise MLMInputError(
        f"{name} must be a pandas Series or DataFrame indexed by group (one row per group), got {type(obj).__name__}."
    )


def shrinkage_plot(
    own: pd.Series | pd.DataFrame,
    model: pd.Series | pd.DataFrame,
    *,
    sizes: pd.Series | Sequence[float] | None = None,
    centre: float | Sequence[float] | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    own_label: str = "own estimate (no pooling)",
    model_label: str = "model estimate (partial pooling)",
    ax: Axes | None = None,
) -> Figure:
    """Each group's own estimate joined to the model's estimate by a segment.

    Three layouts, chosen by the input:

    * one column and ``sizes`` given: x is the group size, y the estimate;
      each group's own (hollow) and model (filled) estimates are joined by a
      vertical segment, so the pull towards ``centre`` can be read against
      the size of the group;
    * one column, no ``sizes``: the classic two-row shrinkage plot of
      Efron and Morris, own estimates on the upper row, model estimates on
      the lower, joined by segments;
    * two columns (e.g. intercept and slope): the plane of the two, with a
      segment from each group's own estimate to the model's, as in
      Alday, Kliegl and Bates's shrinkage plots.

    Parameters
    ----------
    own, model : pandas Series or DataFrame
        One row per group, with the same index (group labels) and the same
        columns: e.g. per-group OLS estimates and the model's coefficients.
    sizes : Series or sequence, optional
        Group sizes (aligned with the index) for the first layout.
    centre : float or pair of floats, optional
        The value the estimates are pulled towards (e.g. the fixed effects),
        drawn as a dashed line (one column) or a cross (two columns).
    xlabel, ylabel : str, optional
        Axis labels; give units. Defaults name the columns.
    own_label, model_label : str
        Legend entries.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> own = pd.Series([1.0, 3.0, 8.0], index=["a", "b", "c"], name="mean")
    >>> model = pd.Series([2.0, 3.2, 6.0], index=["a", "b", "c"], name="mean")
    >>> fig = shrinkage_plot(own, model, sizes=pd.Series([5, 40, 10], index=["a", "b", "c"]), centre=3.5)
    >>> len(fig.axes[0].collections[0].get_segments())
    3
    """
    own_f, model_f = _as_frame(own, "own"), _as_frame(model, "model")
    if own_f.shape[1] != model_f.shape[1] or own_f.shape[1] not in (1, 2):
        raise MLMInputError(
            "own and model must both have one column (a Series) or both two columns (e.g. intercept and "
            f"slope); got {own_f.shape[1]} and {model_f.shape[1]}."
        )
    missing = own_f.index.difference(model_f.index)
    if len(missing) or len(own_f) != len(model_f):
        raise MLMInputError(
            "own and model must have the same groups in their index; "
            f"{len(missing)} group(s) of own are not in model (e.g. {list(missing[:3])})."
        )
    model_f = model_f.loc[own_f.index]
    a, b = own_f.to_numpy(dtype=float), model_f.to_numpy(dtype=float)
    from matplotlib.collections import LineCollection

    if a.shape[1] == 2:
        fig, ax = _new_ax(ax, (6, 5))
        segs = np.stack([a, b], axis=1)
        ax.add_collection(LineCollection(list(segs), colors=_GREY, linewidths=0.9))
        ax.scatter(a[:, 0], a[:, 1], s=28, facecolors="none", edgecolors=_BLUE, label=own_label)
        ax.scatter(b[:, 0], b[:, 1], s=22, color=_VERM, label=model_label)
        if centre is not None:
            c = np.asarray(centre, dtype=float)
            if c.shape != (2,):
                raise MLMInputError(f"centre must be a pair of numbers for two columns, got {centre!r}.")
            ax.plot(c[0], c[1], "+", color="0.1", markersize=14, markeredgewidth=2, label="fixed effects")
        ax.set_xlabel(xlabel or str(own_f.columns[0]))
        ax.set_ylabel(ylabel or str(own_f.columns[1]))
        ax.autoscale_view()
        ax.legend(loc="best", fontsize="medium", frameon=False)
        return fig
    a, b = a[:, 0], b[:, 0]
    name = str(own_f.columns[0])
    if sizes is not None:
        n = pd.Series(sizes, index=own_f.index) if not isinstance(sizes, pd.Series) else sizes
        if len(n.index.difference(own_f.index)) or len(n) != len(own_f):
            raise MLMInputError("sizes must have one value per group, with the same index as own.")
        x = n.loc[own_f.index].to_numpy(dtype=float)
        fig, ax = _new_ax(ax, (8, 4.5))
        segs = np.stack([np.column_stack([x, a]), np.column_stack([x, b])], axis=1)
        ax.add_collection(LineCollection(list(segs), colors=_GREY, linewidths=0.9))
        ax.scatter(x, a, s=22, facecolors="none", edgecolors=_BLUE, label=own_label)
        ax.scatter(x, b, s=16, color=_VERM, label=model_label)
        if centre is not None:
            ax.axhline(float(centre), color="0.3", linestyle="--", linewidth=1, label="overall average")  # type: ignore[arg-type]
        ax.set_xlabel(xlabel or "group size (observations)")
        ax.set_ylabel(ylabel or name)
    else:
        fig, ax = _new_ax(ax, (8, 3))
        segs = np.stack([np.column_stack([a, np.ones_like(a)]), np.column_stack([b, np.zeros_like(b)])], axis=1)
        ax.add_collection(LineCollection(list(segs), colors=_GREY, linewidths=0.9))
        ax.scatter(a, np.ones_like(a), s=22, facecolors="none", edgecolors=_BLUE, label=own_label)
        ax.scatter(b, np.zeros_like(b), s=16, color=_VERM, label=model_label)
        if centre is not None:
            ax.axvline(float(centre), color="0.3", linestyle="--", linewidth=1, label="overall average")  # type: ignore[arg-type]
        ax.set_yticks([0, 1], ["model", "own"])
        ax.set_ylim(-0.3, 1.3)
        ax.set_xlabel(xlabel or name)
        if ylabel:
            ax.set_ylabel(ylabel)
    ax.autoscale_view()
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize="medium", frameon=False)
    return fig


# ---------------------------------------------------------------------------- spaghetti plot
def _select_groups(labels: pd.Series, groups: Sequence | None, n_groups: int | None, seed: int | None) -> list[str]:
    levels = sorted(labels.unique())
    if groups is not None:
        wanted = [str(g) for g in groups]
        unknown = [g for g in wanted if g not in set(levels)]
        if unknown:
            raise MLMInputError(f"groups {unknown[:5]} are not in the data (the group column has values such as "
                                f"{levels[:5]}).")
        return wanted
    if n_groups is None:
        return levels
    if isinstance(n_groups, bool) or not isinstance(n_groups, int | np.integer) or n_groups < 1:
        raise MLMInputError(f"n_groups must be a whole number of at least 1, got {n_groups!r}.")
    rng = np.random.default_rng(seed)
    k = min(int(n_groups), len(levels))
    return sorted(rng.choice(np.array(levels, dtype=object), size=k, replace=False).tolist())


def _newdata_for(rows: pd.DataFrame, x: str, grid: np.ndarray) -> pd.DataFrame:
    """Rows for predicting a group's line: x on a grid, other columns at the group's mean or first value."""
    out = {}
    for col in rows.columns:
        if col == x:
            continue
        s = rows[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            out[col] = np.full(len(grid), float(s.mean()))
        else:
            out[col] = np.array([s.iloc[0]] * len(grid), dtype=object)
    out[x] = grid
    return pd.DataFrame(out)


def spaghetti_plot(
    data: pd.DataFrame,
    x: str,
    y: str,
    group: str,
    *,
    result: MixedResult | None = None,
    groups: Sequence | None = None,
    n_groups: int | None = None,
    seed: int | None = 0,
    points: bool = False,
    average: bool = True,
    xlabel: str | None = None,
    ylabel: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """One regression line per group: the groups' own OLS lines, or the model's lines.

    Without ``result``, each group's line is the ordinary least-squares fit of
    ``y`` on ``x`` to that group's rows alone (no pooling), and the thick line
    is the OLS fit to all rows (complete pooling). With ``result``, each line
    is the model's prediction for that group (fixed effects plus the group's
    conditional modes, ``result.predict(include_random=True)``) and the thick
    line is the population-average line (random effects 0). Other predictors
    of the model are held at the group's mean (numeric columns) or first value
    (labels) for a group's line, and at the mean over all rows for the
    average line. Lines span each group's observed range of ``x``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation.
    x, y, group : str
        Column names: predictor, outcome and grouping column.
    result : MixedResult, optional
        A fit to ``data`` whose lines to draw.
    groups : sequence, optional
        Which groups to draw (labels).
    n_groups : int, optional
        Draw this many groups chosen at random (``seed``); default all.
    seed : int or None
        Seed of the random choice of groups.
    points : bool
        Also plot the observations of the groups drawn (in grey).
    average : bool
        Draw the thick average line.
    xlabel, ylabel : str, optional
        Axis labels (give units); default the column names.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Its axes carry one thin line per group drawn (a group whose ``x``
        does not vary has no line and is reported in a warning), then the
        average line.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> sleep = mh.load_dataset("sleepstudy")
    >>> fig = spaghetti_plot(sleep, "Days", "Reaction", "Subject", average=False)
    >>> len(fig.axes[0].lines)
    18
    """
    data = _check_columns(data, {"x": x, "y": y, "group": group})
    for role, col in (("x", x), ("y", y)):
        if not pd.api.types.is_numeric_dtype(data[col]) or pd.api.types.is_bool_dtype(data[col]):
            raise MLMInputError(f"The {role} column {col!r} must be numeric, it has dtype {data[col].dtype}.")
    if result is not None and not isinstance(result, MixedResult):
        raise MLMInputError(f"result must be the result of mh.fit(...) or None, got {type(result).__name__}.")
    d = data.dropna(subset=[x, y, group])
    labels = d[group].astype(str)
    chosen = _select_groups(labels, groups, n_groups, seed)
    fig, ax = _new_ax(ax, (7, 4.5))
    sub = d[labels.isin(chosen)]
    if points:
        ax.scatter(sub[x], sub[y], s=6, color="0.6", alpha=0.5, linewidths=0)
    skipped = []
    lw, alpha = (1.1, 0.75) if len(chosen) <= 30 else (0.8, 0.5)
    for g in chosen:
        rows = d[labels == g]
        xv = rows[x].to_numpy(dtype=float)
        if np.ptp(xv) == 0:
            skipped.append(g)
            continue
        grid = np.linspace(xv.min(), xv.max(), 2)
        if result is None:
            slope, intercept = np.polyfit(xv, rows[y].to_numpy(dtype=float), 1)
            line = intercept + slope * grid
        else:
            line = result.predict(_newdata_for(rows, x, grid), include_random=True)
        ax.plot(grid, line, color=_BLUE, linewidth=lw, alpha=alpha)
    if skipped:
        warnings.warn(f"{len(skipped)} group(s) have a single value of {x!r} and no line: {skipped[:5]}.",
                      UserWarning, stacklevel=2)
    if average:
        xv = d[x].to_numpy(dtype=float)
        grid = np.linspace(xv.min(), xv.max(), 2)
        if result is None:
            slope, intercept = np.polyfit(xv, d[y].to_numpy(dtype=float), 1)
            line, lab = intercept + slope * grid, "one OLS line for all (complete pooling)"
        else:
            line = result.predict(_newdata_for(d, x, grid), include_random=False)
            lab = "average line (fixed effects)"
        ax.plot(grid, line, color=_VERM, linewidth=3, label=lab)
        ax.legend(loc="upper left", fontsize="medium", frameon=False)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    return fig
