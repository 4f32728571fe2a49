"""Explorer: how group size and the variance ratio set the shrinkage of group means.

In a random-intercept model a group's estimate is its raw mean pulled towards
the overall mean,

.. math:: \\hat\\beta_{0j} = \\hat\\gamma_{00} + \\lambda_j(\\bar y_j - \\hat\\gamma_{00}),
          \\qquad \\lambda_j = \\frac{\\tau_{00}}{\\tau_{00} + \\sigma^2 / n_j},

with the reliability :math:`\\lambda_j` of the raw mean as the weight. The
explorer simulates groups of unequal size from that model (true mean 50,
:math:`\\sigma^2 = 100`, :math:`\\tau_{00}` = ``ratio`` :math:`\\times\\,\\sigma^2`),
fits it by REML with the fast engine and shows, for each group, the raw mean,
the model's (shrunken) estimate and the true mean, and :math:`\\lambda` as a
function of group size.

* :data:`PARAMS`: the sliders, name -> (min, max, step, default);
* :func:`compute`: the numbers (pure, deterministic given the seed);
* :func:`draw`: the figure;
* :func:`widget`: sliders, a "new draw" button and the figure.

Examples
--------
>>> from mlm_helpers import shrinkage_explorer as se
>>> out = se.compute(group_size=10, ratio=0.25, seed=1)
>>> int(out["sizes"].min()), int(out["sizes"].max()), round(out["n_half"], 1)
(2, 18, 4.0)
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..errors import MLMInputError
from ..model.deviance import sufficient_stats_arrays
from ..model.engines.fast import fit_fast
from ..plots.live_figure import snap_limits
from ..plots.style import OKABE_ITO
from .widget import SliderExplorer

__all__ = ["PARAMS", "LABELS", "READOUTS", "N_GROUPS", "GRAND_MEAN", "SIGMA2", "DEFAULT_SEED", "group_sizes", "compute", "draw", "describe",
           "widget"]

#: Sliders: name -> (min, max, step, default).
PARAMS: dict[str, tuple[float, float, float, float]] = {
    "group_size": (5, 50, 5, 10),  # average number of observations per group
    "ratio": (0.05, 0.5, 0.05, 0.15),  # tau00 / sigma2
}
#: Slider labels.
LABELS = {"group_size": "average group size", "ratio": "variance ratio τ₀₀ / σ²"}
#: The numbers the explorer can show: name -> (label in the book's notation, what it means).
READOUTS = {
    "mse_raw": ("MSE of raw means", "mean squared distance of the groups' raw means from their true means"),
    "mse_shrunk": ("MSE of shrunken estimates", "the same for the model's estimates (conditional modes); "
                   "smaller when shrinkage helps"),
    "tau00_hat": ("estimated τ₀₀", "between-group variance estimated from this data set (REML)"),
    "n_half": ("m at λ = 0.5", "σ² / τ₀₀: the group size at which a group's estimate sits halfway between "
               "its raw mean and the overall mean"),
}
#: Number of simulated groups.
N_GROUPS = 20
#: True overall mean and residual variance of the simulation.
GRAND_MEAN = 50.0
SIGMA2 = 100.0
#: Seed of the first draw (the "new draw" button moves on from it).
DEFAULT_SEED = 4

_BLUE, _VERM, _GREEN = OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"]
#: The widget's right panel shows group sizes up to this, for every setting (largest group: 1.8 x 50).
_NMAX_LIVE = 95.0


def _check(group_size: float, ratio: float, seed: int) -> tuple[int, float, int]:
    try:
        n = float(group_size)
        r = float(ratio)
    except (TypeError, ValueError):
        raise MLMInputError(f"group_size and ratio must be numbers; got {group_size!r} and {ratio!r}.") from None
    if not (np.isfinite(n) and n >= 1 and float(n).is_integer()):
        raise MLMInputError(f"group_size must be a whole number of at least 1 (observations per group); got {group_size!r}.")
    if not (np.isfinite(r) and r > 0):
        raise MLMInputError(
            f"ratio is tau00 / sigma2, a ratio of variances, and must be greater than 0; got {ratio!r}."
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise MLMInputError(f"seed must be a whole number; got {seed!r}.")
    return int(n), r, int(seed)


def group_sizes(group_size: int, n_groups: int = N_GROUPS) -> np.ndarray:
    """Unequal group sizes with average about ``group_size``: from 0.2 to 1.8 times it.

    Examples
    --------
    >>> group_sizes(10, 5).tolist()
    [2, 6, 10, 14, 18]
    """
    f = np.linspace(0.2, 1.8, n_groups)
    return np.maximum(1, np.round(group_size * f)).astype(int)


def compute(group_size: int = 10, ratio: float = 0.15, *, seed: int = DEFAULT_SEED) -> dict:
    """Simulate the groups, fit the model and return the numbers behind the figure.

    Parameters
    ----------
    group_size : int
        Average number of observations per group (sizes run from 0.2 to 1.8
        times it, see :func:`group_sizes`).
    ratio : float
        The variance ratio :math:`\\tau_{00} / \\sigma^2` of the simulation.
    seed : int
        Seed of the simulation.

    Returns
    -------
    dict
        ``sizes``, ``true_means``, ``raw_means``, ``shrunk`` (the model's
        estimates of the group means), ``lambda_true`` and ``lambda_hat``
        (per group, from the true and the estimated variances), ``tau00``,
        ``sigma2`` (true), ``tau00_hat``, ``sigma2_hat``, ``gamma00_hat``,
        ``n_half`` (the group size at which :math:`\\lambda = 0.5`:
        :math:`\\sigma^2/\\tau_{00}`), ``mse_raw`` and ``mse_shrunk`` (mean
        squared distance of the raw means and of the model's estimates from the
        true means) and ``singular`` (True when the estimated :math:`\\tau_{00}`
        is 0).

    Examples
    --------
    >>> out = compute(group_size=10, ratio=0.15, seed=1)
    >>> bool(out["mse_shrunk"] < out["mse_raw"])
    True
    >>> bool(np.allclose(out["shrunk"], out["gamma00_hat"]
    ...      + out["lambda_hat"] * (out["raw_means"] - out["gamma00_hat"])))
    True
    """
    n, r, seed = _check(group_size, ratio, seed)
    rng = np.random.default_rng(seed)
    sizes = group_sizes(n)
    tau00 = r * SIGMA2
    true_means = GRAND_MEAN + rng.normal(0.0, np.sqrt(tau00), N_GROUPS)
    codes = np.repeat(np.arange(N_GROUPS), sizes)
    y = true_means[codes] + rng.normal(0.0, np.sqrt(SIGMA2), codes.size)
    ones = np.ones((y.size, 1))
    ss = sufficient_stats_arrays(y, ones, ones, codes, N_GROUPS, np.ones((1, 1), dtype=bool))
    ff = fit_fast(ss, reml=True)
    sigma2_hat = float(ff.sigma2)
    tau00_hat = float(ff.theta[0] ** 2 * sigma2_hat)
    gamma00_hat = float(ff.beta[0])
    raw = np.bincount(codes, weights=y, minlength=N_GROUPS) / sizes
    shrunk = gamma00_hat + ff.ranef[:, 0]
    lam_hat = tau00_hat / (tau00_hat + sigma2_hat / sizes)
    lam_true = tau00 / (tau00 + SIGMA2 / sizes)
    return {
        "group_size": n,
        "ratio": r,
        "seed": seed,
        "sizes": sizes,
        "true_means": true_means,
        "raw_means": raw,
        "shrunk": shrunk,
        "lambda_true": lam_true,
        "lambda_hat": lam_hat,
        "tau00": tau00,
        "sigma2": SIGMA2,
        "tau00_hat": tau00_hat,
        "sigma2_hat": sigma2_hat,
        "gamma00_hat": gamma00_hat,
        "n_half": SIGMA2 / tau00,
        "mse_raw": float(np.mean((raw - true_means) ** 2)),
        "mse_shrunk": float(np.mean((shrunk - true_means) ** 2)),
        "singular": bool(tau00_hat <= 1e-8 * sigma2_hat),
    }


def _axes_pair(ax) -> tuple[Figure, np.ndarray]:
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), gridspec_kw={"width_ratios": [1.35, 1]})
        return fig, axes
    axes = np.atleast_1d(np.asarray(ax, dtype=object))
    if axes.size != 2:
        raise MLMInputError("ax must be None or a pair of matplotlib Axes (the explorer has two panels).")
    for a in axes:
        a.clear()
    return axes[0].figure, axes


class _View:
    """The figure's artists, built once and then updated in place (fast redraws for the widget).

    With ``live=True`` (the widget) the titles are left out (the widget shows
    the numbers as HTML) and the right panel keeps one x range for every
    setting, so that only the data and the left panel's axes are redrawn.
    """

    def __init__(self, axes, live: bool = False) -> None:
        a1, a2 = axes
        self.axes = (a1, a2)
        self.live = live
        pos = np.arange(N_GROUPS, dtype=float)
        zeros = np.zeros(N_GROUPS)
        self.arrows = a1.quiver(zeros, pos, zeros, zeros, angles="xy", scale_units="xy", scale=1, color="0.45",
                                width=0.003, headwidth=5, headlength=6, headaxislength=5, zorder=2)
        self.raw = a1.scatter(zeros, pos, s=36, facecolors="none", edgecolors=_BLUE, zorder=3, label="raw group mean")
        self.shrunk = a1.scatter(zeros, pos, s=30, color=_VERM, zorder=3, label="model estimate")
        self.true = a1.scatter(zeros, pos, s=60, marker="|", color="black", zorder=4, label="true mean")
        self.centre = a1.axvline(GRAND_MEAN, color="0.3", linestyle="--", linewidth=1)
        a1.set_ylim(-0.8, N_GROUPS - 0.2)
        # The widget labels every fifth group only: each tick label costs a millisecond or more to draw.
        self.label_rows = np.array([0, 5, 10, 15, N_GROUPS - 1]) if live else np.arange(N_GROUPS)
        a1.set_yticks(self.label_rows)
        if live:
            a1.xaxis.set_major_locator(MaxNLocator(nbins=6))
        a1.set_xlabel("group mean of y (points)")
        a1.set_ylabel(f"{N_GROUPS} simulated groups, by size")
        a1.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize="small", frameon=False)
        self.title1 = a1.set_title("", fontsize="medium", pad=22)
        (self.lam_true,) = a2.plot([], [], color=_GREEN, linewidth=2, label=r"true $\lambda$")
        (self.lam_hat,) = a2.plot([], [], color=_VERM, linestyle="--", linewidth=1.5,
                                  label=r"estimated $\hat\lambda$")
        self.dots = a2.scatter(zeros, zeros, s=18, color=_VERM, zorder=3)
        a2.axhline(0.5, color="0.6", linewidth=0.8)
        self.half = a2.axvline(1.0, color="0.6", linewidth=0.8, linestyle=":")
        a2.set_ylim(0, 1.02)
        a2.set_xlabel("group size $n_j$ (observations)")
        a2.set_ylabel(r"shrinkage factor $\lambda_j$ (weight on own mean)")
        a2.legend(loc="lower right", fontsize="medium", frameon=False)
        self.title2 = a2.set_title("", fontsize="medium")
        if live:
            a2.set_xlim(0, _NMAX_LIVE)
            self.title1.set_visible(False)
            self.title2.set_visible(False)

    def dynamic(self) -> list:
        """The artists that change with the sliders (for :class:`~mlm_helpers.plots.live_figure.LiveFigure`)."""
        a1 = self.axes[0]
        return [self.arrows, self.raw, self.shrunk, self.true, self.centre, a1.xaxis, a1.yaxis,
                self.lam_true, self.lam_hat, self.dots, self.half]

    def update(self, out: dict) -> None:
        a1, a2 = self.axes
        order = np.argsort(out["sizes"], kind="stable")
        pos = np.arange(N_GROUPS, dtype=float)
        raw, shr, tru = out["raw_means"][order], out["shrunk"][order], out["true_means"][order]
        self.arrows.set_offsets(np.column_stack([raw, pos]))
        self.arrows.set_UVC(shr - raw, np.zeros(N_GROUPS))
        self.raw.set_offsets(np.column_stack([raw, pos]))
        self.shrunk.set_offsets(np.column_stack([shr, pos]))
        self.true.set_offsets(np.column_stack([tru, pos]))
        self.centre.set_xdata([out["gamma00_hat"]] * 2)
        a1.set_yticklabels([f"n = {k}" for k in out["sizes"][order][self.label_rows]], fontsize="small")
        allv = np.concatenate([raw, shr, tru])
        pad = 0.06 * (allv.max() - allv.min() + 1e-9)
        limits = (allv.min() - pad, allv.max() + pad)
        # The widget snaps limits to round numbers: they repeat as sliders move, and then
        # the axis's rendering is reused instead of redrawn.
        a1.set_xlim(*(snap_limits(*limits, steps=10) if self.live else limits))
        nmax = _NMAX_LIVE if self.live else max(60.0, 1.05 * float(out["sizes"].max()))
        grid = np.linspace(1, nmax, 200)
        self.lam_true.set_data(grid, out["tau00"] / (out["tau00"] + SIGMA2 / grid))
        self.lam_hat.set_data(grid, out["tau00_hat"] / (out["tau00_hat"] + out["sigma2_hat"] / grid))
        self.dots.set_offsets(np.column_stack([out["sizes"], out["lambda_hat"]]))
        self.half.set_xdata([out["n_half"]] * 2)
        self.half.set_visible(bool(out["n_half"] <= nmax))
        if self.live:
            return
        a2.set_xlim(0, nmax)
        self.title1.set_text(f"mean squared error against the true means: raw means {out['mse_raw']:.1f}, "
                             f"model {out['mse_shrunk']:.1f}")
        tau_txt = f"{out['tau00_hat']:.1f}" + (" (singular fit)" if out["singular"] else "")
        self.title2.set_text(
            rf"$\tau_{{00}}/\sigma^2$ = {out['ratio']:.2f}: $\lambda$ = 0.5 at n = {out['n_half']:.1f}"
            "\n" + rf"estimates: $\hat\tau_{{00}}$ = {tau_txt}, $\hat\sigma^2$ = {out['sigma2_hat']:.1f}"
            rf" (true {out['tau00']:.1f}, {SIGMA2:.0f})")


def describe(out: dict) -> str:
    """The explorer's numbers as a short HTML paragraph (shown above the widget's picture).

    Examples
    --------
    >>> print(describe(compute(10, 0.15, seed=4)).split("<br>")[0])
    <b>τ₀₀/σ² = 0.15</b>: λ = 0.5 at n = 6.7; estimates τ̂₀₀ = 14.4, σ̂² = 103.7 (true 15.0, 100).
    """
    note = " (a singular fit: every group gets the overall mean)" if out["singular"] else ""
    return (f"<b>τ₀₀/σ² = {out['ratio']:.2f}</b>: λ = 0.5 at n = {out['n_half']:.1f}; "
            f"estimates τ̂₀₀ = {out['tau00_hat']:.1f}{note}, σ̂² = {out['sigma2_hat']:.1f} "
            f"(true {out['tau00']:.1f}, {SIGMA2:.0f}).<br>"
            f"Mean squared error against the true group means: raw means {out['mse_raw']:.1f}, "
            f"model estimates {out['mse_shrunk']:.1f}.")


def draw(group_size: int = 10, ratio: float = 0.15, *, seed: int = DEFAULT_SEED, ax=None) -> Figure:
    """Draw the explorer's figure for one setting of the sliders.

    Left: each group's raw mean (hollow circle), the model's estimate (filled)
    and an arrow from one to the other, the true mean (black bar) and the
    estimated overall mean (dashed); groups sorted by size. Right: the
    shrinkage factor :math:`\\lambda` against group size, from the true (line)
    and the estimated (dashed) variances, with the simulated groups as dots.
    Titles carry the key numbers.

    Parameters
    ----------
    group_size, ratio, seed
        As :func:`compute`.
    ax : pair of matplotlib Axes, optional
        Draw into these (they are cleared) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = draw(10, 0.15, seed=1)
    >>> fig.axes[1].get_xlabel()
    'group size $n_j$ (observations)'
    """
    return _draw(group_size, ratio, seed, ax)[0]


def _draw(group_size, ratio, seed, ax) -> tuple[Figure, _View]:
    out = compute(group_size, ratio, seed=seed)
    fig, axes = _axes_pair(ax)
    view = _View(axes)
    view.update(out)
    fig.tight_layout()
    return fig, view


def widget(seed: int = DEFAULT_SEED) -> Any:
    """Sliders for group size and variance ratio, a "new draw" button, the numbers and the figure.

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
        ``numbers``, ``html``, ``image``, ``figure``).

    Examples
    --------
    >>> ex = widget().explorer
    >>> ex.sliders["ratio"].value = 0.3
    >>> round(ex.numbers["n_half"], 2)
    3.33
    """
    figure = Figure(figsize=(10, 4.6), dpi=72)
    axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.35, 1]})
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.11, top=0.92, wspace=0.22)
    view = _View(axes, live=True)

    def refresh(values: dict, seed: int) -> dict:
        out = compute(values["group_size"], values["ratio"], seed=seed)
        view.update(out)
        return out

    explorer = SliderExplorer(params=PARAMS, labels=LABELS, figure=figure, dynamic=view.dynamic(), refresh=refresh,
                              describe=lambda out, _values: describe(out), seed=seed, integer=("group_size",))
    # The size labels depend on the group-size slider only: render them once for each of its values.
    a1 = axes[0]
    current = [t.get_text() for t in a1.get_yticklabels()]
    lo, hi, step, _ = PARAMS["group_size"]
    for n in np.arange(lo, hi + step / 2, step):
        a1.set_yticklabels([f"n = {k}" for k in group_sizes(int(n))[view.label_rows]], fontsize="small")
        explorer.live.remember(a1.yaxis)
    a1.set_yticklabels(current, fontsize="small")
    return explorer.box
