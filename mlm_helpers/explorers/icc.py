"""Slider explorer for chapter 02: the ICC, the design effect and the standard error of a mean.

Simulated balanced data from the random-intercept model
:math:`y_{ij} = u_{0j} + e_{ij}` with :math:`u_{0j} \\sim N(0, \\tau_{00})` and
:math:`e_{ij} \\sim N(0, \\sigma^2)` (true mean 0), for ``n_groups`` groups of
``group_size`` units. Four sliders set :math:`\\tau_{00}`, :math:`\\sigma^2`, the
number of groups and the group size; a button draws new data. Each move refits
the model by REML and redraws:

* the data by group, with the group means;
* the true ICC :math:`\\tau_{00} / (\\tau_{00} + \\sigma^2)` and its REML estimate;
* the design effect :math:`1 + (m - 1)\\rho` (from the true ICC);
* the naive standard error of the mean, :math:`\\operatorname{sd}(y) / \\sqrt{N}`, and the
  mixed model's, :math:`\\sqrt{(\\hat\\tau_{00} + \\hat\\sigma^2/m) / J}` (the standard error
  of the intercept of ``y ~ 1 + (1 | group)``), as 95% intervals around the mean.

The pieces are plain functions: :data:`PARAMS` (the sliders), :func:`compute`
(the numbers), :func:`draw` (the figure) and :func:`widget` (the sliders).

Examples
--------
>>> from mlm_helpers import icc_explorer
>>> out = icc_explorer.compute(tau00=1.0, sigma2=4.0, n_groups=20, group_size=10, seed=0)
>>> out["true_icc"], out["design_effect"]
(0.2, 2.8)
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..companions.clustering import fit_ri_balanced
from ..errors import MLMInputError
from ..plots.live_figure import snap_limits
from ..plots.style import OKABE_ITO
from .widget import SliderExplorer

__all__ = ["PARAMS", "LABELS", "READOUTS", "DEFAULT_SEED", "simulate", "compute", "draw", "describe", "widget"]

#: Slider name -> (min, max, step, default).
PARAMS: dict[str, tuple[float, float, float, float]] = {
    "tau00": (0.0, 4.0, 0.5, 1.0),
    "sigma2": (1.0, 9.0, 1.0, 4.0),
    "n_groups": (5, 50, 5, 20),
    "group_size": (5, 50, 5, 10),
}

LABELS = {
    "tau00": "between-group variance τ₀₀",
    "sigma2": "within-group variance σ²",
    "n_groups": "number of groups J",
    "group_size": "group size m",
}
#: The numbers the explorer can show: name -> (label in the book's notation, what it means).
READOUTS = {
    "true_icc": ("true ICC ρ", "τ₀₀ / (τ₀₀ + σ²): the share of the variance between groups, set by the sliders"),
    "icc": ("estimated ICC ρ̂", "the same share estimated from this simulated data set (REML fit)"),
    "design_effect": ("design effect", "1 + (m − 1)ρ: how many times larger the variance of the mean is than "
                      "with independent observations"),
    "se_naive": ("naive SE", "standard error of the mean that ignores the groups (too small when ρ > 0)"),
    "se_mixed": ("mixed-model SE", "standard error of the mean from the random-intercept model"),
}

BLUE, VERMILLION, GREEN, GREY = OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"], "0.3"
_MAX_GROUPS = int(PARAMS["n_groups"][1])
_MAX_SIZE = int(PARAMS["group_size"][1])
_Z95 = 1.959963984540054
#: Seed of the first draw: a typical data set for the default sliders (estimated ICC near the true 0.2).
DEFAULT_SEED = 8


def _check(tau00: float, sigma2: float, n_groups: int, group_size: int) -> tuple[float, float, int, int]:
    try:
        tau00, sigma2 = float(tau00), float(sigma2)
    except (TypeError, ValueError):
        raise MLMInputError(f"tau00 and sigma2 must be numbers, got {tau00!r} and {sigma2!r}.") from None
    if not (np.isfinite(tau00) and tau00 >= 0):
        raise MLMInputError(f"tau00 is a variance: it must be 0 or more, got {tau00}.")
    if not (np.isfinite(sigma2) and sigma2 > 0):
        raise MLMInputError(f"sigma2 is a variance: it must be greater than 0, got {sigma2}.")
    for name, value, hi in (("n_groups", n_groups, _MAX_GROUPS), ("group_size", group_size, _MAX_SIZE)):
        if isinstance(value, bool) or not float(value).is_integer() or not 2 <= value <= hi:
            raise MLMInputError(f"{name} must be a whole number from 2 to {hi}, got {value!r}.")
    return tau00, sigma2, int(n_groups), int(group_size)


def _draws(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standard-normal draws for the largest design; smaller designs use a corner of them.

    So moving a slider rescales or adds groups and units but keeps the others:
    the picture changes smoothly, and only the button brings new data.
    """
    rng = np.random.default_rng(seed)
    z_u = rng.standard_normal(_MAX_GROUPS)
    z_e = rng.standard_normal((_MAX_GROUPS, _MAX_SIZE))
    jitter = rng.uniform(-0.28, 0.28, size=(_MAX_GROUPS, _MAX_SIZE))
    return z_u, z_e, jitter


def _simulate_array(tau00: float, sigma2: float, n_groups: int, group_size: int, seed: int) -> np.ndarray:
    z_u, z_e, _ = _draws(seed)
    return np.sqrt(tau00) * z_u[:n_groups, None] + np.sqrt(sigma2) * z_e[:n_groups, :group_size]


def simulate(tau00: float = 1.0, sigma2: float = 4.0, n_groups: int = 20, group_size: int = 10,
             seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """The simulated data behind the explorer, as a DataFrame.

    Parameters
    ----------
    tau00, sigma2 : float
        Between- and within-group variance.
    n_groups, group_size : int
        Number of groups (2-50) and units per group (2-50).
    seed : int
        Seed of the draw.

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (``g01``, ...) and ``y``; true mean 0.

    Examples
    --------
    >>> simulate(n_groups=3, group_size=2, seed=1).shape
    (6, 2)
    """
    tau00, sigma2, n_groups, group_size = _check(tau00, sigma2, n_groups, group_size)
    y = _simulate_array(tau00, sigma2, n_groups, group_size, seed)
    labels = np.repeat([f"g{k + 1:02d}" for k in range(n_groups)], group_size)
    return pd.DataFrame({"group": labels, "y": y.ravel()})


def _numbers(y: np.ndarray, tau00: float, sigma2: float) -> dict[str, Any]:
    J, m = y.shape
    N = J * m
    fits = fit_ri_balanced(y)
    tau_hat, sigma2_hat = float(fits.tau00[0]), float(fits.sigma2[0])
    true_icc = tau00 / (tau00 + sigma2)
    icc_hat = tau_hat / (tau_hat + sigma2_hat)
    return {
        "true_icc": float(round(true_icc, 12)),
        "icc": icc_hat,
        "tau00_hat": tau_hat,
        "sigma2_hat": sigma2_hat,
        "singular": tau_hat == 0.0,
        "design_effect": float(round(1 + (m - 1) * true_icc, 12)),
        "design_effect_hat": 1 + (m - 1) * icc_hat,
        "mean": float(fits.beta[0, 0]),
        "se_naive": float(y.std(ddof=1) / np.sqrt(N)),
        "se_mixed": float(fits.se[0, 0]),
        "se_true": float(np.sqrt((tau00 + sigma2 / m) / J)),
        "n_obs": N,
    }


def compute(tau00: float = 1.0, sigma2: float = 4.0, n_groups: int = 20, group_size: int = 10,
            seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The explorer's numbers for one setting of the sliders.

    Parameters
    ----------
    tau00, sigma2 : float
        True between- and within-group variance.
    n_groups, group_size : int
        Number of groups ``J`` and units per group ``m``.
    seed : int
        Seed of the simulated data.

    Returns
    -------
    dict
        ``true_icc``, ``icc`` (REML estimate), ``tau00_hat``, ``sigma2_hat``,
        ``singular`` (``tau00_hat == 0``), ``design_effect`` (``1 + (m - 1)``
        times the true ICC), ``design_effect_hat`` (with the estimated ICC),
        ``mean`` (estimate of the overall mean), ``se_naive``
        (``sd(y) / sqrt(N)``), ``se_mixed`` (the mixed model's standard error
        of the mean), ``se_true`` (``sqrt((tau00 + sigma2 / m) / J)``) and
        ``n_obs``.

    Examples
    --------
    >>> out = compute(tau00=2.0, sigma2=2.0, n_groups=30, group_size=20, seed=1)
    >>> round((out["se_true"] / (4.0 / 600) ** 0.5) ** 2, 2)  # the design effect 1 + 19 * 0.5
    10.5
    """
    tau00, sigma2, n_groups, group_size = _check(tau00, sigma2, n_groups, group_size)
    y = _simulate_array(tau00, sigma2, n_groups, group_size, seed)
    return _numbers(y, tau00, sigma2)


def draw(tau00: float = 1.0, sigma2: float = 4.0, n_groups: int = 20, group_size: int = 10,
         seed: int = DEFAULT_SEED, ax: plt.Axes | None = None, ax_ci: plt.Axes | None = None) -> Figure:
    """Draw the explorer's figure for one setting of the sliders.

    Left: every unit (dots) by group, groups sorted by their mean (bars), the
    overall mean (dashed). Right: the estimated mean with the naive and the
    mixed-model 95% intervals, and the true mean 0. The title gives the true
    and estimated ICC, the design effect and both standard errors.

    Parameters
    ----------
    tau00, sigma2, n_groups, group_size, seed
        As :func:`compute`.
    ax : matplotlib Axes, optional
        Axes for the data. Default: a new figure with both panels.
    ax_ci : matplotlib Axes, optional
        Axes for the intervals; when ``ax`` is given and ``ax_ci`` is not,
        the interval panel is left out (the standard errors stay in the title).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = draw(tau00=1.0, sigma2=4.0, n_groups=20, group_size=10, seed=8)
    >>> fig.axes[0].get_title(loc="left").splitlines()[0]
    'true ICC 0.20, REML estimate 0.22, design effect 2.80'
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    tau00, sigma2, n_groups, group_size = _check(tau00, sigma2, n_groups, group_size)
    y = _simulate_array(tau00, sigma2, n_groups, group_size, seed)
    out = _numbers(y, tau00, sigma2)
    new_figure = ax is None
    if ax is None:
        fig, (ax, ax_ci) = plt.subplots(1, 2, figsize=(10, 4.6), width_ratios=[5, 1.3])
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    _Panels(ax, ax_ci).update(y, out, _draws(seed)[2])
    if new_figure:
        fig.tight_layout()
    return fig


class _Panels:
    """The figure's artists, made once and then updated in place (fast redraws for the sliders).

    With ``live=True`` (the widget) the title and the counts in the x label are
    left out: the widget shows the numbers as HTML above the picture.
    """

    def __init__(self, ax: plt.Axes, ax_ci: plt.Axes | None, live: bool = False):
        self.ax, self.ax_ci, self.live = ax, ax_ci, live
        self.points = ax.scatter([], [], s=9, color=BLUE, alpha=0.5, linewidths=0, label="one unit")
        self.bars = LineCollection([], colors=VERMILLION, linewidths=2.2, label="group mean")
        ax.add_collection(self.bars)
        self.grand = ax.axhline(0.0, color=GREY, linestyle="--", linewidth=1, label="overall mean")
        ax.set_xticks([])
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))  # few tick labels: text is slow to render
        ax.set_ylabel("outcome y (simulated units)")
        ax.set_xlabel("groups, sorted by their mean")
        ax.legend(loc="upper left", fontsize="small", frameon=False, ncol=3)
        self.title = ax.set_title("", fontsize="medium", loc="left")
        self.title.set_visible(not live)
        self.whiskers: list[Any] = []
        self.centres: list[Any] = []
        if ax_ci is None:
            return
        for k, color in enumerate((VERMILLION, BLUE)):
            (w,) = ax_ci.plot([k, k], [0, 0], color=color, linewidth=2, marker="_", markersize=14, mew=2)
            (c,) = ax_ci.plot([k], [0], "o", color=color)
            self.whiskers.append(w)
            self.centres.append(c)
        self.true_line = ax_ci.axhline(0.0, color=GREEN, linewidth=1.5, label="true mean")
        ax_ci.set_xticks([0, 1], ["naive", "mixed\nmodel"])
        ax_ci.set_xlim(-0.6, 1.6)
        ax_ci.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax_ci.set_ylabel("95% interval for the mean (simulated units)")
        ax_ci.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize="small", frameon=False)

    def dynamic(self) -> list[Any]:
        """The artists that change with the sliders (for :class:`~mlm_helpers.plots.live_figure.LiveFigure`)."""
        out = [self.points, self.bars, self.grand, self.ax.yaxis]
        if self.ax_ci is not None:
            out += [*self.whiskers, *self.centres, self.ax_ci.yaxis]
        return out

    def update(self, y: np.ndarray, out: dict[str, Any], jitter: np.ndarray) -> None:
        """Show data ``y`` (J x m) and the numbers ``out`` of :func:`compute`."""
        n_groups, group_size = y.shape
        means = y.mean(axis=1)
        pos = np.empty(n_groups)
        pos[np.argsort(means, kind="stable")] = np.arange(n_groups)  # groups sorted by their mean
        xs = pos[:, None] + jitter[:n_groups, :group_size]
        self.points.set_offsets(np.column_stack([xs.ravel(), y.ravel()]))
        self.bars.set_segments([[(p - 0.4, mu), (p + 0.4, mu)] for p, mu in zip(pos, means, strict=True)])
        self.grand.set_ydata([out["mean"], out["mean"]])
        ax = self.ax
        ax.set_xlim(-1, n_groups)
        lo, hi = float(y.min()), float(y.max())
        pad = 0.15 * (hi - lo)
        limits = (lo - pad, hi + 2 * pad)  # room for the legend
        # The widget snaps limits to round numbers: they repeat as sliders move, and then
        # the axis's rendering is reused instead of redrawn.
        ax.set_ylim(*(snap_limits(*limits, steps=10) if self.live else limits))
        if not self.live:
            ax.set_xlabel(f"{n_groups} groups of {group_size} units, sorted by group mean")
            note = " (singular fit: τ₀₀ estimated as 0)" if out["singular"] else ""
            self.title.set_text(
                f"true ICC {out['true_icc']:.2f}, REML estimate {out['icc']:.2f}, "
                f"design effect {out['design_effect']:.2f}\n"
                f"SE of the mean: naive {out['se_naive']:.3f}, mixed model {out['se_mixed']:.3f}{note}"
            )
        if self.ax_ci is None:
            return
        for k, se in enumerate((out["se_naive"], out["se_mixed"])):
            self.whiskers[k].set_ydata([out["mean"] - _Z95 * se, out["mean"] + _Z95 * se])
            self.centres[k].set_ydata([out["mean"]])
        half = 1.15 * (_Z95 * max(out["se_naive"], out["se_mixed"]) + abs(out["mean"]))
        self.ax_ci.set_ylim(*(snap_limits(-half, half, steps=8) if self.live else (-half, half)))


def describe(out: dict[str, Any], n_groups: int, group_size: int) -> str:
    """The explorer's numbers as a short HTML paragraph (shown above the widget's picture).

    Examples
    --------
    >>> out = compute(seed=8)
    >>> describe(out, 20, 10).startswith("<b>20 groups of 10 units.</b> True ICC 0.20, REML estimate 0.22")
    True
    """
    note = " (a singular fit: τ₀₀ estimated as 0)" if out["singular"] else ""
    return (f"<b>{n_groups} groups of {group_size} units.</b> True ICC {out['true_icc']:.2f}, "
            f"REML estimate {out['icc']:.2f}{note}; design effect {out['design_effect']:.2f}.<br>"
            f"Standard error of the mean: naive {out['se_naive']:.3f}, mixed model {out['se_mixed']:.3f} "
            f"(true {out['se_true']:.3f}).")


def widget(seed: int = DEFAULT_SEED) -> Any:
    """The interactive explorer: four sliders, a new-draw button, the numbers and the figure.

    A slider move refits and redraws only what changed (see
    :class:`~mlm_helpers.plots.live_figure.LiveFigure`), well within a tenth of a
    second.

    Parameters
    ----------
    seed : int
        Seed of the first draw; the button moves to the next one.

    Returns
    -------
    ipywidgets.VBox
        Display it in a notebook. Its ``explorer`` attribute is the
        :class:`~mlm_helpers.explorers.widget.SliderExplorer` (``sliders``,
        ``update()``, ``numbers``, ``html``, ``image``, ``figure``).

    Examples
    --------
    >>> box = widget(seed=0)
    >>> box.explorer.sliders["tau00"].value = 0.0
    >>> box.explorer.numbers["true_icc"]
    0.0
    """
    figure = Figure(figsize=(10, 4.6), dpi=72)
    ax, ax_ci = figure.subplots(1, 2, width_ratios=[5, 1.3])
    figure.subplots_adjust(left=0.09, right=0.98, bottom=0.1, top=0.9, wspace=0.38)
    panels = _Panels(ax, ax_ci, live=True)

    def refresh(values: dict[str, Any], seed: int) -> dict[str, Any]:
        tau00, sigma2, n_groups, group_size = _check(**values)
        y = _simulate_array(tau00, sigma2, n_groups, group_size, seed)
        out = _numbers(y, tau00, sigma2)
        panels.update(y, out, _draws(seed)[2])
        return out

    def describe_values(out: dict[str, Any], values: dict[str, Any]) -> str:
        return describe(out, int(values["n_groups"]), int(values["group_size"]))

    return SliderExplorer(params=PARAMS, labels=LABELS, figure=figure, dynamic=panels.dynamic(), refresh=refresh,
                          describe=describe_values, seed=seed, integer=("n_groups", "group_size")).box
