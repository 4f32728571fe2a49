"""Diagnostics for a fitted mixed model: residuals, QQ plots, group variances, influential groups.

Every function takes a :class:`~mlm_helpers.model.result.MixedResult` (from :func:`mlm_helpers.fit`).

* :func:`residual_table` -- level-1 (conditional) residuals :math:`y_{ij} - \\hat y_{ij}`, where the
  fitted value includes the group's conditional modes, with the fitted values and the group;
* :func:`residual_plot` -- those residuals against the fitted values, with a running mean;
* :func:`qq_plot` -- a normal QQ plot of the level-1 residuals or of one column of conditional modes;
* :func:`group_variance` and :func:`variance_test` -- the residual SD of every group, and the
  Brown-Forsythe (median-centred Levene) test that the level-1 variance is the same in all groups;
  :func:`group_sd_plot` draws the group SDs against group size or the group's mean fitted value;
* :func:`influence` -- leave-one-group-out refits with the fast engine: for every group, the change in
  each fixed effect (in units of its standard error, like DFBETAS), the relative change in each
  variance component, and a Cook's distance for the fixed part; :func:`influence_plot` draws one column.

Examples
--------
>>> import mlm_helpers as mh
>>> from mlm_helpers import diagnostics
>>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
>>> diagnostics.influence(res)["cooks_d"].idxmax()
'309'
"""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from ..errors import MLMInputError
from ..model.deviance import SuffStats, sufficient_stats
from ..model.engines.fast import fit_fast
from ..model.result import MixedResult
from ..plots.style import OKABE_ITO

__all__ = ["residual_table", "residual_plot", "qq_plot", "group_variance", "variance_test", "group_sd_plot",
           "influence", "influence_plot"]

BLUE, VERMILLION, GREEN, ORANGE, GREY = OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"], OKABE_ITO["orange"], "#777777"


def _check(result: object) -> MixedResult:
    if not isinstance(result, MixedResult):
        raise MLMInputError(f"Expected a fitted model from mh.fit(...), got {type(result).__name__}.")
    if len(result.model.blocks) != 1:
        raise MLMInputError("The diagnostics handle models with exactly one grouping factor; "
                            f"{result.formula!r} has {len(result.model.blocks)}.")
    return result


def _new_ax(ax: Axes | None, figsize: tuple[float, float] = (6.5, 4.2)) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.get_figure(), ax  # type: ignore[return-value]


def residual_table(result: MixedResult) -> pd.DataFrame:
    """Level-1 residuals, fitted values and group of every row used in the fit.

    Parameters
    ----------
    result : MixedResult
        A fit with one grouping factor.

    Returns
    -------
    pandas.DataFrame
        ``group`` (as a string), ``observed``, ``fitted`` (fixed part plus the group's conditional
        modes), ``residual`` (observed - fitted, the conditional residual), ``fitted_fixed`` (fixed part
        only) and ``std_residual`` (residual / sigma).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> tab = residual_table(res)
    >>> round(float(tab["residual"].std()), 1), list(tab.columns)[:3]
    (23.5, ['group', 'observed', 'fitted'])
    """
    result = _check(result)
    model = result.model
    block = model.blocks[0]
    fitted = result.predict(include_random=True)
    fixed = result.predict(include_random=False)
    resid = model.y - fitted
    return pd.DataFrame({
        "group": block.levels.astype(str)[block.codes],
        "observed": model.y,
        "fitted": fitted,
        "residual": resid,
        "fitted_fixed": fixed,
        "std_residual": resid / np.sqrt(result.sigma2),
    })


def _running_mean(x: np.ndarray, y: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of y within equal-count bins of x (a simple, assumption-free smoother)."""
    order = np.argsort(x, kind="stable")
    bins = np.array_split(order, n_bins)
    return np.array([x[b].mean() for b in bins]), np.array([y[b].mean() for b in bins])


def residual_plot(result: MixedResult, *, n_bins: int = 20, xlabel: str = "fitted value",
                  ylabel: str = "level-1 residual", ax: Axes | None = None) -> Figure:
    """Level-1 residuals against fitted values, with the mean residual in bins of the fitted value.

    A flat running mean at zero and an even vertical spread are what the model assumes. A curve says
    the fixed part misses a nonlinearity; a funnel says the residual variance grows with the mean.

    Parameters
    ----------
    result : MixedResult
    n_bins : int
        Number of equal-count bins of the fitted value for the running mean (the orange line).
    xlabel, ylabel : str
        Axis labels (add units).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> fig = residual_plot(res, n_bins=10)
    >>> len(fig.axes[0].lines[-1].get_ydata())
    10
    """
    tab = residual_table(result)
    if not (isinstance(n_bins, int | np.integer) and 2 <= n_bins <= len(tab)):
        raise MLMInputError(f"n_bins must be an integer from 2 to the number of rows ({len(tab)}), got {n_bins!r}.")
    fig, ax = _new_ax(ax)
    x, r = tab["fitted"].to_numpy(), tab["residual"].to_numpy()
    ax.scatter(x, r, s=8 if len(tab) > 1000 else 16, color=BLUE, alpha=0.35 if len(tab) > 1000 else 0.6,
               linewidths=0)
    ax.axhline(0.0, color="black", linewidth=1, linestyle="--")
    bx, by = _running_mean(x, r, int(n_bins))
    ax.plot(bx, by, color=ORANGE, linewidth=2.5, label="mean residual in bins")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"level-1 residuals, {len(tab)} rows: SD {r.std(ddof=1):.2f}")
    ax.legend(loc="upper right", frameon=False, fontsize="medium")
    fig.tight_layout()
    return fig


def qq_plot(result: MixedResult, which: str = "residual", *, term: str | None = None,
            ax: Axes | None = None, label_extremes: int = 0) -> Figure:
    """Normal QQ plot of the level-1 residuals or of one column of the conditional modes.

    Points are the sorted values against the normal quantiles (Blom plotting positions); the line
    passes through the first and third quartiles, so points along it look normal, an S shape means
    heavy or light tails, and a bend at one end means skewness.

    Parameters
    ----------
    result : MixedResult
    which : {"residual", "ranef"}
        Level-1 residuals (``residual_table``) or conditional modes (``result.ranef``).
    term : str, optional
        For ``which="ranef"``, the column of ``result.ranef`` (default: the first, usually the intercept).
    ax : matplotlib Axes, optional
    label_extremes : int
        For ``which="ranef"``, write the group labels of this many most extreme points.

    Returns
    -------
    matplotlib.figure.Figure
        The axes title gives the number of points and, for 3 to 5000 points, the Shapiro-Wilk p-value.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> fig = qq_plot(res, "ranef", term="Days")
    >>> len(fig.axes[0].collections[0].get_offsets())
    18
    """
    result = _check(result)
    if which == "residual":
        values = residual_table(result)["residual"]
        what, ylabel = "level-1 residuals", "level-1 residual"
    elif which == "ranef":
        modes = result.ranef
        if isinstance(modes, dict):
            raise MLMInputError("ranef plots need a model with one grouping factor; this one has several.")
        term = modes.columns[0] if term is None else term
        if term not in modes.columns:
            raise MLMInputError(f"term {term!r} is not a random effect of this model; choose one of "
                                f"{list(modes.columns)}.")
        values = modes[term]
        what, ylabel = f"conditional modes of {term}", f"conditional mode ({term})"
    else:
        raise MLMInputError(f"which must be 'residual' or 'ranef', got {which!r}.")
    values = values.sort_values(kind="stable")
    n = len(values)
    theo = stats.norm.ppf((np.arange(1, n + 1) - 0.375) / (n + 0.25))
    fig, ax = _new_ax(ax, (4.8, 4.2))
    ax.scatter(theo, values.to_numpy(), s=10 if n > 1000 else 22, color=BLUE, alpha=0.6 if n > 1000 else 0.9,
               linewidths=0)
    q1, q3 = np.quantile(values, [0.25, 0.75])
    z1, z3 = stats.norm.ppf([0.25, 0.75])
    slope = (q3 - q1) / (z3 - z1)
    grid = np.array([theo[0], theo[-1]])
    ax.plot(grid, q1 + slope * (grid - z1), color=VERMILLION, linewidth=1.5)
    if label_extremes and which == "ranef":
        dev = (values - values.median()).abs().sort_values(ascending=False)
        for name in dev.index[: int(label_extremes)]:
            pos = values.index.get_loc(name)
            ax.annotate(str(name), (theo[pos], values.iloc[pos]), textcoords="offset points", xytext=(4, -10),
                        fontsize="medium")
    title = f"{what}: {n} points"
    if 3 <= n <= 5000:  # scipy's Shapiro-Wilk p-value is exact up to 5000 points
        title += f", Shapiro-Wilk p = {stats.shapiro(values.to_numpy())[1]:.3f}"
    ax.set_xlabel("standard normal quantile")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize="medium")
    fig.tight_layout()
    return fig


def group_variance(result: MixedResult) -> pd.DataFrame:
    """Residual standard deviation, size and mean fitted value of every group.

    Parameters
    ----------
    result : MixedResult

    Returns
    -------
    pandas.DataFrame
        Index = group (string); columns ``n``, ``mean_fitted``, ``resid_sd`` (SD of the group's level-1
        residuals, ddof=1; NaN for a group of one row).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> gv = group_variance(res)
    >>> gv["resid_sd"].idxmax(), int(gv["n"].iloc[0])
    ('332', 10)
    """
    tab = residual_table(result)
    grouped = tab.groupby("group", sort=False)
    out = pd.DataFrame({"n": grouped.size(), "mean_fitted": grouped["fitted"].mean(),
                        "resid_sd": grouped["residual"].std(ddof=1)})
    out.index.name = result.model.blocks[0].group
    return out


def variance_test(result: MixedResult) -> dict[str, float]:
    """Brown-Forsythe test that the level-1 residual variance is equal in all groups.

    This is Levene's test with group medians: a one-way ANOVA of the absolute deviations of each
    group's residuals from its median. It is robust to non-normal residuals. With many groups it
    detects small differences; read it with :func:`group_sd_plot`, not alone.

    Parameters
    ----------
    result : MixedResult

    Returns
    -------
    dict
        ``statistic`` (F), ``df1``, ``df2``, ``p`` and ``sd_ratio`` (largest over smallest group SD).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> out = variance_test(res)
    >>> out["p"] < 0.05, int(out["df1"])
    (True, 17)
    """
    tab = residual_table(result)
    parts = [g["residual"].to_numpy() for _, g in tab.groupby("group", sort=False) if len(g) >= 2]
    if len(parts) < 2:
        raise MLMInputError("The variance test needs at least two groups with two or more rows each.")
    stat, p = stats.levene(*parts, center="median")
    sds = np.array([x.std(ddof=1) for x in parts])
    n = sum(len(x) for x in parts)
    return {"statistic": float(stat), "df1": float(len(parts) - 1), "df2": float(n - len(parts)), "p": float(p),
            "sd_ratio": float(sds.max() / sds.min()) if sds.min() > 0 else float("inf")}


def group_sd_plot(result: MixedResult, against: str = "n", *, xlabel: str | None = None,
                  ylabel: str = "residual SD in the group", ax: Axes | None = None) -> Figure:
    """Each group's level-1 residual SD against its size or its mean fitted value.

    Under the model all groups share one sigma: the points scatter around the dashed line at
    ``sqrt(result.sigma2)``, more widely for small groups (the dotted lines are the central 95% range of a
    sample SD from normal data of that size). A trend with the mean fitted value means the variance
    depends on the level of the outcome; a few points far above the band point at unusual groups.

    Parameters
    ----------
    result : MixedResult
    against : {"n", "mean_fitted"}
        Horizontal axis: group size or mean fitted value.
    xlabel, ylabel : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> fig = group_sd_plot(res, against="mean_fitted")
    >>> len(fig.axes[0].collections[0].get_offsets())
    18
    """
    if against not in ("n", "mean_fitted"):
        raise MLMInputError(f"against must be 'n' or 'mean_fitted', got {against!r}.")
    gv = group_variance(result).dropna()
    test = variance_test(result)
    sigma = float(np.sqrt(result.sigma2))
    fig, ax = _new_ax(ax)
    ax.scatter(gv[against], gv["resid_sd"], s=22, color=BLUE, alpha=0.75, linewidths=0)
    ax.axhline(sigma, color="black", linestyle="--", linewidth=1, label=f"model sigma = {sigma:.2f}")
    if against == "n":
        grid = np.arange(max(2, int(gv["n"].min())), int(gv["n"].max()) + 1)
        for qq in (0.025, 0.975):
            ax.plot(grid, sigma * np.sqrt(stats.chi2.ppf(qq, grid - 1) / (grid - 1)), color=GREY, linestyle=":",
                    linewidth=1.5)
    ax.set_xlabel(xlabel or ("rows in the group" if against == "n" else "mean fitted value of the group"))
    ax.set_ylabel(ylabel)
    ax.set_title(f"Brown-Forsythe test: F = {test['statistic']:.2f}, p = {test['p']:.3g}; "
                 f"largest / smallest SD = {test['sd_ratio']:.1f}", fontsize="medium")
    ax.legend(loc="upper right", frameon=False, fontsize="medium")
    fig.tight_layout()
    return fig


def _component_names(names: list[str]) -> list[tuple[int, int, str]]:
    out = []
    for j in range(len(names)):
        for i in range(j, len(names)):
            out.append((i, j, f"var({names[i]})" if i == j else f"cov({names[j]},{names[i]})"))
    return out


def _per_group_cross(X: np.ndarray, y: np.ndarray, codes: np.ndarray, n_groups: int):
    p = X.shape[1]
    XtX = np.zeros((n_groups, p, p))
    np.add.at(XtX, codes, X[:, :, None] * X[:, None, :])
    Xty = np.zeros((n_groups, p))
    np.add.at(Xty, codes, X * y[:, None])
    yty = np.bincount(codes, weights=y * y, minlength=n_groups)
    return XtX, Xty, yty


def influence(result: MixedResult) -> pd.DataFrame:
    """Leave-one-group-out refits: how much each group moves the estimates.

    For every group j the model is refitted without it (fast engine, same REML/ML criterion, started
    at the full fit's theta), from the full fit's sufficient statistics minus group j's share.

    Parameters
    ----------
    result : MixedResult
        A fit with one grouping factor.

    Returns
    -------
    pandas.DataFrame
        Index = group (string), sorted as ``result.ranef``. Columns: ``n``; for each fixed effect ``name``,
        ``dfbeta_<name>`` = (estimate without the group - full estimate) / full SE (DFBETAS-like: above
        about 2 / sqrt(number of groups) in absolute value deserves a look); for each variance component
        (``var(Intercept)``, ``cov(Intercept,x)``, ``var(x)``, ``sigma2``) ``rel_<component>`` =
        (value without the group - full value) / |full value| (NaN when the full value is 0);
        ``cooks_d`` = d' V^{-1} d / p with d the change in the fixed effects and V their full-fit covariance.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> infl = influence(res)
    >>> infl.shape, round(float(infl["dfbeta_Days"].abs().max()), 2)
    ((18, 8), 0.51)
    """
    result = _check(result)
    model = result.model
    block = model.blocks[0]
    ss = sufficient_stats(model)
    J = block.n_levels
    if J < 3:
        raise MLMInputError(f"Leaving one group out needs at least 3 groups; the model has {J}.")
    XtXj, Xtyj, ytyj = _per_group_cross(model.X, model.y, block.codes, J)
    beta_full = result.fixed["estimate"].to_numpy()
    se_full = result.fixed["se"].to_numpy()
    V_inv = np.linalg.inv(result.vcov_fixed.to_numpy())
    comps = _component_names(block.names)
    full_cov = np.asarray(result._raw.covs[0], dtype=float)
    full_vals = np.array([full_cov[i, j] for i, j, _ in comps] + [result.sigma2])
    rows = []
    theta0 = np.asarray(result.theta, dtype=float)
    for k in range(J):
        keep = np.arange(J) != k
        sub = SuffStats(ss.ZtZ[keep], ss.ZtX[keep], ss.Zty[keep], ss.XtX - XtXj[k], ss.Xty - Xtyj[k],
                        float(ss.yty - ytyj[k]), int(ss.n - ss.counts[k]), ss.pattern, ss.counts[keep])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ff = fit_fast(sub, reml=result.reml, theta0=theta0 if len(theta0) > 1 else None)
        d = ff.beta - beta_full
        cov = ff.sigma2 * ff.lam @ ff.lam.T
        vals = np.array([cov[i, j] for i, j, _ in comps] + [ff.sigma2])
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(np.abs(full_vals) > 1e-12, (vals - full_vals) / np.abs(full_vals), np.nan)
        rows.append([int(ss.counts[k]), *(d / se_full), *rel, float(d @ V_inv @ d) / len(d)])
    columns = (["n"] + [f"dfbeta_{name}" for name in result.fixed.index]
               + [f"rel_{name}" for *_, name in comps] + ["rel_sigma2", "cooks_d"])
    out = pd.DataFrame(rows, index=pd.Index(block.levels.astype(str), name=block.group), columns=columns)
    out["n"] = out["n"].astype(int)
    return out


def influence_plot(infl: pd.DataFrame, column: str = "cooks_d", *, n_label: int = 3, ylabel: str | None = None,
                   ax: Axes | None = None) -> Figure:
    """One column of :func:`influence` for every group, groups in their original order.

    Parameters
    ----------
    infl : pandas.DataFrame
        The output of :func:`influence`.
    column : str
        A column of ``infl``, e.g. ``"cooks_d"``, ``"dfbeta_SES"``, ``"rel_var(Intercept)"``.
    n_label : int
        Label this many groups with the largest absolute values (vermillion).
    ylabel : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> fig = influence_plot(influence(res), "dfbeta_Days", n_label=2)
    >>> len(fig.axes[0].texts)
    2
    """
    if not isinstance(infl, pd.DataFrame) or column not in infl.columns:
        choices = list(infl.columns) if isinstance(infl, pd.DataFrame) else []
        raise MLMInputError(f"column {column!r} is not in the influence table; choose one of {choices}.")
    values = infl[column].to_numpy(dtype=float)
    top = set(np.argsort(-np.nan_to_num(np.abs(values), nan=-1.0), kind="stable")[: int(n_label)])
    colours = [VERMILLION if k in top else BLUE for k in range(len(values))]
    fig, ax = _new_ax(ax, (7.0, 3.8))
    pos = np.arange(len(values))
    ax.vlines(pos, 0, values, color=colours, linewidth=1.5)
    ax.scatter(pos, values, color=colours, s=18, zorder=3)
    ax.axhline(0.0, color="black", linewidth=0.8)
    if column.startswith("dfbeta_"):
        cut = 2 / np.sqrt(len(values))
        for c in (-cut, cut):
            ax.axhline(c, color=GREY, linestyle=":", linewidth=1.2)
    for k in sorted(top):
        ax.annotate(str(infl.index[k]), (pos[k], values[k]), textcoords="offset points", xytext=(4, 2), fontsize="small")
    ax.set_xlabel(f"{infl.index.name or 'group'} (in data order)")
    ax.set_ylabel(ylabel or column)
    ax.set_xticks([])
    ax.set_title(f"leave one group out: {column}, largest |value| {np.nanmax(np.abs(values)):.2f}", fontsize="medium")
    fig.tight_layout()
    return fig
