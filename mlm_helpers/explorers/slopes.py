"""Explorer: random slopes, their correlation with the intercepts, and the variance between groups.

With a random intercept and a random slope of :math:`x`,
:math:`(u_{0j}, u_{1j}) \\sim N(0, G)`, :math:`G = \\begin{pmatrix}\\tau_{00} & \\tau_{01}\\\\
\\tau_{01} & \\tau_{11}\\end{pmatrix}`, the groups' lines
:math:`\\gamma_{00} + u_{0j} + (\\gamma_{10} + u_{1j})\\,x` fan out or in, and the
variance between groups at a given :math:`x` is

.. math:: \\operatorname{Var}(u_{0j} + u_{1j} x) = \\tau_{00} + 2\\tau_{01}x + \\tau_{11}x^2,

a parabola in :math:`x` with its minimum at :math:`x^* = -\\tau_{01}/\\tau_{11}`.
So the share of variance between groups, :math:`(\\tau_{00} + 2\\tau_{01}x +
\\tau_{11}x^2) / (\\tau_{00} + 2\\tau_{01}x + \\tau_{11}x^2 + \\sigma^2)`, changes
with :math:`x`: with random slopes there is no single ICC.

The fixed values are close to the HSB estimates of chapter 04
(``MathAch ~ SES_c + SES_gm + (SES_c | School)``): :math:`\\gamma_{00} = 12.7`,
:math:`\\gamma_{10} = 2.2`, :math:`\\tau_{00} = 2.7`, :math:`\\sigma^2 = 36.7`; the
sliders set the slope variance :math:`\\tau_{11}` and the correlation
:math:`\\rho_{01} = \\tau_{01}/\\sqrt{\\tau_{00}\\tau_{11}}`.

* :data:`PARAMS`: the sliders, name -> (min, max, step, default);
* :func:`compute`: the numbers (pure, deterministic given the seed);
* :func:`draw`: the figure;
* :func:`widget`: sliders, a "new draw" button and the figure.

Examples
--------
>>> from mlm_helpers import slopes_explorer as sx
>>> out = sx.compute(tau11=0.6, corr=-0.25, seed=1)
>>> round(out["tau01"], 3), round(out["x_min"], 3)
(-0.318, 0.53)
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from ..errors import MLMInputError
from ..plots.style import OKABE_ITO
from .widget import SliderExplorer

__all__ = ["PARAMS", "LABELS", "READOUTS", "GAMMA00", "GAMMA10", "TAU00", "SIGMA2", "X_RANGE", "N_LINES", "N_SIM", "DEFAULT_SEED",
           "between_variance", "compute", "draw", "describe", "widget"]

#: Sliders: name -> (min, max, step, default).
PARAMS: dict[str, tuple[float, float, float, float]] = {
    "tau11": (0.0, 1.6, 0.2, 0.6),  # variance of the random slopes
    "corr": (-1.0, 1.0, 0.25, -0.25),  # correlation of random intercepts and slopes
}
#: Fixed values (close to the HSB random-slope fit).
GAMMA00, GAMMA10, TAU00, SIGMA2 = 12.7, 2.2, 2.7, 36.7
#: Range of the predictor shown (SES centred within schools, standardised units).
X_RANGE = (-2.0, 2.0)
#: Lines drawn, and groups simulated for the empirical variances.
N_LINES, N_SIM = 30, 400
DEFAULT_SEED = 1
#: Values of x at which the empirical variance between the simulated lines is computed.
X_CHECK = np.linspace(-2.0, 2.0, 9)

_BLUE, _VERM, _GREEN = OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"]
#: Slider labels.
LABELS = {"tau11": "slope variance τ₁₁", "corr": "correlation of u₀ and u₁"}
#: The numbers the explorer can show: name -> (label in the book's notation, what it means).
READOUTS = {
    "tau01": ("covariance τ₀₁", "covariance of intercepts and slopes: correlation × √(τ₀₀ τ₁₁)"),
    "x_min": ("x at the smallest variance", "−τ₀₁ / τ₁₁ (kept inside the plotted range): where the groups' "
              "lines are closest together"),
    "var_min": ("smallest between-group variance", "τ₀₀ + 2τ₀₁x + τ₁₁x² at that x: how far apart the lines are "
                "there"),
}
#: The widget's right panel shows variances up to this, for every setting (the largest, at
#: tau11 = 1.6 and |corr| = 1, is 17.4 at x = -2 or 2; sample variances of the simulated groups stay
#: below 21 in 600 draws).
_VMAX_LIVE = 22.0


def _check(tau11: float, corr: float, seed: int) -> tuple[float, float, int]:
    try:
        t11, r = float(tau11), float(corr)
    except (TypeError, ValueError):
        raise MLMInputError(f"tau11 and corr must be numbers; got {tau11!r} and {corr!r}.") from None
    if not (np.isfinite(t11) and t11 >= 0):
        raise MLMInputError(f"tau11 is the variance of the random slopes and cannot be negative; got {tau11!r}.")
    if not (np.isfinite(r) and -1 <= r <= 1):
        raise MLMInputError(f"corr is a correlation and must lie between -1 and 1; got {corr!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise MLMInputError(f"seed must be a whole number; got {seed!r}.")
    return t11, r, int(seed)


def between_variance(x, tau00: float, tau01: float, tau11: float) -> np.ndarray:
    """Variance between groups at ``x``: ``tau00 + 2 tau01 x + tau11 x**2``.

    Examples
    --------
    >>> between_variance([-1, 0, 1], 2.0, 0.5, 1.0).tolist()
    [2.0, 2.0, 4.0]
    """
    x = np.asarray(x, dtype=float)
    return tau00 + 2 * tau01 * x + tau11 * x**2


def compute(tau11: float = 0.6, corr: float = -0.25, *, seed: int = DEFAULT_SEED) -> dict:
    """Draw the groups' random effects and compute the variance between groups along x.

    Parameters
    ----------
    tau11 : float
        Variance of the random slopes.
    corr : float
        Correlation of random intercepts and slopes (-1 to 1).
    seed : int
        Seed of the draw of the groups.

    Returns
    -------
    dict
        ``tau00``, ``tau01``, ``tau11``, ``corr``, ``sigma2``; ``x`` (a grid
        over :data:`X_RANGE`), ``var_between`` and ``vpc`` on it (exact);
        ``x_min`` and ``var_min`` (where the variance between groups is
        smallest, within the range shown, and its value); ``vpc_at``
        (a dict: the share of variance between groups at x = -2, 0, 2);
        ``intercepts`` and ``slopes`` of the :data:`N_LINES` lines drawn;
        ``x_check`` and ``var_check``: the sample variance of :data:`N_SIM`
        simulated groups' lines at a few x (which should follow the
        parabola).

    Examples
    --------
    >>> out = compute(tau11=0.0, corr=0.0)
    >>> bool(np.allclose(out["var_between"], 2.7))
    True
    """
    t11, r, seed = _check(tau11, corr, seed)
    tau01 = r * np.sqrt(TAU00 * t11)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((N_SIM, 2))
    u0 = np.sqrt(TAU00) * z[:, 0]
    u1 = np.sqrt(t11) * (r * z[:, 0] + np.sqrt(max(1 - r * r, 0.0)) * z[:, 1])
    x = np.linspace(*X_RANGE, 201)
    vb = between_variance(x, TAU00, tau01, t11)
    if t11 > 0:
        x_min = float(np.clip(-tau01 / t11, *X_RANGE)) + 0.0  # + 0.0 turns -0.0 into 0.0
    else:
        x_min = float(X_RANGE[0] if tau01 > 0 else (X_RANGE[1] if tau01 < 0 else 0.0))
    lines = u0[:, None] + u1[:, None] * X_CHECK[None, :]
    at = {float(v): float(between_variance(v, TAU00, tau01, t11)) for v in (-2.0, 0.0, 2.0)}
    return {
        "tau00": TAU00,
        "tau01": float(tau01),
        "tau11": t11,
        "corr": r,
        "sigma2": SIGMA2,
        "seed": seed,
        "x": x,
        "var_between": vb,
        "vpc": vb / (vb + SIGMA2),
        "x_min": x_min,
        "var_min": float(between_variance(x_min, TAU00, tau01, t11)),
        "vpc_at": {k: v / (v + SIGMA2) for k, v in at.items()},
        "intercepts": GAMMA00 + u0[:N_LINES],
        "slopes": GAMMA10 + u1[:N_LINES],
        "x_check": X_CHECK.copy(),
        "var_check": lines.var(axis=0, ddof=1),
    }


def _axes_pair(ax) -> tuple[Figure, np.ndarray]:
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.3))
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
    the numbers as HTML) and the right panel keeps one y range for every
    setting, so that only the data are redrawn; the fixed scale also shows
    how the variance grows as the sliders move.
    """

    def __init__(self, axes, live: bool = False) -> None:
        a1, a2 = axes
        self.axes = (a1, a2)
        self.live = live
        self.xs = np.array(X_RANGE)
        self.lines = LineCollection([], colors=_BLUE, linewidths=0.9, alpha=0.6)
        a1.add_collection(self.lines)
        (self.average,) = a1.plot(self.xs, GAMMA00 + GAMMA10 * self.xs, color=_VERM, linewidth=3,
                                  label="average line")
        self.closest = a1.axvline(0.0, color="0.4", linestyle=":", linewidth=1)
        a1.set_xlim(*X_RANGE)
        a1.set_ylim(GAMMA00 - 12, GAMMA00 + 12)
        a1.set_xlabel("x: SES centred within school (SES units)")
        a1.set_ylabel("expected math score (points)")
        a1.legend(loc="upper left", fontsize="medium", frameon=False)
        self.title1 = a1.set_title("", fontsize="medium")
        x = np.linspace(*X_RANGE, 201)
        (self.curve,) = a2.plot(x, x * 0, color=_GREEN, linewidth=2,
                                label=r"$\tau_{00} + 2\tau_{01}x + \tau_{11}x^2$")
        self.dots = a2.scatter(X_CHECK, X_CHECK * 0, s=20, color=_VERM, zorder=3,
                               label=f"variance of {N_SIM} simulated groups")
        a2.axhline(TAU00, color="0.6", linewidth=0.8, linestyle="--")
        a2.set_xlim(*X_RANGE)
        a2.set_xlabel("x: SES centred within school (SES units)")
        a2.set_ylabel(r"variance between groups (points$^2$)")
        a2.legend(loc="upper center", fontsize="medium", frameon=False)
        self.title2 = a2.set_title("", fontsize="medium")
        if live:
            a2.set_ylim(0, _VMAX_LIVE)
            self.title1.set_visible(False)
            self.title2.set_visible(False)

    def dynamic(self) -> list:
        """The artists that change with the sliders (for :class:`~mlm_helpers.plots.live_figure.LiveFigure`)."""
        return [self.lines, self.average, self.closest, self.curve, self.dots]  # the average line on top

    def update(self, out: dict) -> None:
        a1, a2 = self.axes
        xs = self.xs
        ys = out["intercepts"][:, None] + out["slopes"][:, None] * xs[None, :]
        self.lines.set_segments([np.column_stack([xs, y]) for y in ys])
        self.closest.set_xdata([out["x_min"]] * 2)
        self.closest.set_visible(bool(X_RANGE[0] < out["x_min"] < X_RANGE[1]))
        self.curve.set_ydata(out["var_between"])
        self.dots.set_offsets(np.column_stack([out["x_check"], out["var_check"]]))
        if self.live:
            return
        self.title1.set_text(rf"$\tau_{{11}}$ = {_r2(out['tau11']):.2f}, corr = {_r2(out['corr']):.2f} "
                             rf"($\tau_{{01}}$ = {_r2(out['tau01']):.2f}): lines closest at x = {_r2(out['x_min']):.2f}")
        a2.set_ylim(0, max(8.0, 1.15 * float(max(out["var_between"].max(), out["var_check"].max()))))
        v = out["vpc_at"]
        self.title2.set_text(f"share of variance between groups (VPC):\n{v[-2.0]:.3f} at x = -2, "
                             f"{v[0.0]:.3f} at 0, {v[2.0]:.3f} at 2")


def _r2(v: float) -> float:
    """``v`` rounded to two decimals without a signed zero (-0.001 and -0.0 print as 0.00)."""
    return round(float(v), 2) + 0.0


def describe(out: dict) -> str:
    """The explorer's numbers as a short HTML paragraph (shown above the widget's picture).

    Examples
    --------
    >>> print(describe(compute(0.6, -0.25)).split("<br>")[0])
    <b>τ₁₁ = 0.60, corr = -0.25</b> (τ₀₁ = -0.32): the lines are closest at x = 0.53.
    """
    v = out["vpc_at"]
    return (f"<b>τ₁₁ = {_r2(out['tau11']):.2f}, corr = {_r2(out['corr']):.2f}</b> "
            f"(τ₀₁ = {_r2(out['tau01']):.2f}): the lines are closest at x = {_r2(out['x_min']):.2f}.<br>"
            f"Share of the variance between groups (VPC): {v[-2.0]:.3f} at x = -2, {v[0.0]:.3f} at x = 0, "
            f"{v[2.0]:.3f} at x = 2.")


def draw(tau11: float = 0.6, corr: float = -0.25, *, seed: int = DEFAULT_SEED, ax=None) -> Figure:
    """Draw the explorer's figure for one setting of the sliders.

    Left: :data:`N_LINES` simulated group lines and the average line, with a
    dotted line where the group lines are closest. Right: the variance between
    groups against x (the parabola), the sample variance of :data:`N_SIM`
    simulated groups at a few x (dots), and the share of variance between
    groups at x = -2, 0 and 2 in the title.

    Parameters
    ----------
    tau11, corr, seed
        As :func:`compute`.
    ax : pair of matplotlib Axes, optional
        Draw into these (they are cleared) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = draw(0.6, -0.25)
    >>> print(fig.axes[0].get_title())
    $\\tau_{11}$ = 0.60, corr = -0.25 ($\\tau_{01}$ = -0.32): lines closest at x = 0.53
    """
    return _draw(tau11, corr, seed, ax)[0]


def _draw(tau11, corr, seed, ax) -> tuple[Figure, _View]:
    out = compute(tau11, corr, seed=seed)
    fig, axes = _axes_pair(ax)
    view = _View(axes)
    view.update(out)
    fig.tight_layout()
    return fig, view


def widget(seed: int = DEFAULT_SEED) -> Any:
    """Sliders for the slope variance and the correlation, a "new draw" button, the numbers and the figure.

    A slider move redraws only what changed (see
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
    >>> ex.sliders["corr"].value = 0.0
    >>> round(ex.numbers["x_min"], 2)
    0.0
    """
    figure = Figure(figsize=(10, 4.3), dpi=72)
    axes = figure.subplots(1, 2)
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.97, wspace=0.22)
    view = _View(axes, live=True)

    def refresh(values: dict, seed: int) -> dict:
        out = compute(values["tau11"], values["corr"], seed=seed)
        view.update(out)
        return out

    return SliderExplorer(params=PARAMS, labels=LABELS, figure=figure, dynamic=view.dynamic(), refresh=refresh,
                          describe=lambda out, _values: describe(out), seed=seed).box
