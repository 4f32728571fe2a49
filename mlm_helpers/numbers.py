"""Numbers shown to the digits the computation determines (the course's digits policy).

The policy is written out in ``CONTRIBUTING.md`` ("Numbers"). In short:

* estimates and standard errors are shown by significance, as R's ``format(x, digits)`` and
  lme4's print methods do (:func:`format_column`, :func:`signif`);
* two computations that agree are reported as agreeing "to within 1e-8"
  (:func:`agreement`), never as their raw difference, which is rounding noise;
* no signed zeros: ``-0.000`` is printed ``0.000``;
* a Monte Carlo result comes with its Monte Carlo standard error and is rounded to it
  (:func:`mc_mean`, :func:`mc_rate`).

Examples
--------
>>> from mlm_helpers.numbers import format_column, agreement, mc_rate
>>> format_column([612.0899, 35.0717, 654.941])
['612.09', '35.07', '654.94']
>>> agreement([1.0, 2.0], [1.0 + 7e-15, 2.0])
'agree to within 1e-12'
>>> mc_rate(448, 1000)
'45% (Monte Carlo SE 2%)'
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = ["signif", "format_column", "unsigned_zero", "agreement", "mc_mean", "mc_rate", "round_to_se"]


def unsigned_zero(text: str) -> str:
    """Drop the sign of a formatted zero: ``"-0.000"`` becomes ``"0.000"``.

    Examples
    --------
    >>> unsigned_zero("-0.000"), unsigned_zero("-0.001"), unsigned_zero("-0")
    ('0.000', '-0.001', '0')
    """
    try:
        is_zero = float(text) == 0.0
    except ValueError:
        return text
    return text.replace("-", "", 1) if is_zero else text


def _sig_decimals(x: float, digits: int) -> int:
    """Decimals needed to show ``x`` to ``digits`` significant digits, trailing zeros dropped (R's rule)."""
    if x == 0 or not math.isfinite(x):
        return 0
    e = math.floor(math.log10(abs(x)))
    dec = max(0, digits - 1 - e)
    text = f"{abs(x):.{dec}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return len(text.split(".")[1]) if "." in text else 0


def format_column(values: Iterable[float], digits: int = 4, *, max_decimals: int = 15) -> list[str]:
    """Format numbers to a common number of decimals chosen by significance, as R's ``format``.

    Each number needs enough decimals to show ``digits`` significant digits (trailing zeros
    dropped); the column uses the largest such count, so the entry with the fewest digits before
    the point gets ``digits`` significant digits. This is how lme4 prints variances and
    standard deviations. Very small or very large columns switch to scientific notation when it
    is shorter. NaN prints as an empty string.

    Parameters
    ----------
    values : iterable of float
    digits : int
        Significant digits for the smallest entry (lme4's summary uses 4).
    max_decimals : int
        Upper bound on the decimals.

    Returns
    -------
    list of str

    Examples
    --------
    >>> format_column([24.7405, 5.92213, 25.5918])
    ['24.741', '5.922', '25.592']
    >>> format_column([1.2e-7, 3.5])
    ['1.20e-07', '3.50e+00']
    """
    vals = [float(v) for v in values]
    finite = [v for v in vals if math.isfinite(v)]
    if not finite:
        return ["" if math.isnan(v) else str(v) for v in vals]
    dec = min(max_decimals, max(_sig_decimals(v, digits) for v in finite))
    fixed = [f"{v:.{dec}f}" if math.isfinite(v) else ("" if math.isnan(v) else str(v)) for v in vals]
    nonzero = [abs(v) for v in finite if v != 0]
    if nonzero and (min(nonzero) < 1e-4 or max(nonzero) >= 1e15):
        sci = [f"{v:.{digits - 1}e}" if math.isfinite(v) else ("" if math.isnan(v) else str(v)) for v in vals]
        if max(map(len, sci)) < max(map(len, fixed)):
            return [unsigned_zero(s) for s in sci]
    return [unsigned_zero(s) for s in fixed]


def signif(x: float, digits: int = 4) -> str:
    """One number to ``digits`` significant digits, trailing zeros dropped, no signed zero.

    Examples
    --------
    >>> signif(612.089944), signif(0.0655513, 2), signif(-1e-17, 3)
    ('612.1', '0.066', '-1e-17')
    >>> signif(-0.00001, 2)
    '-1e-05'
    """
    if not math.isfinite(x):
        return str(x)
    return unsigned_zero(f"{x:.{digits}g}")


def agreement(a, b, *, levels: tuple[float, ...] = (1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-3, 1e-2)) -> str:
    """State how closely two computations agree, rounded up to a level, instead of the raw difference.

    The largest absolute difference is noise at the level of rounding (and different noise on
    another machine), so it is reported as the smallest of ``levels`` that bounds it. The levels
    are two orders of magnitude apart at the top, so a difference at rounding level never sits on
    an edge.

    Examples
    --------
    >>> agreement(0.1 + 0.2, 0.3)
    'agree to within 1e-12'
    >>> agreement([1.0, 2.0], [1.0005, 2.0])
    'agree to within 1e-3'
    >>> agreement(1.0, 1.5)
    'differ by up to 0.5'
    """
    diff = float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))))
    for level in levels:
        if diff <= level:
            return f"agree to within {level:.0e}".replace("e-0", "e-")
    return f"differ by up to {signif(diff, 2)}"


def round_to_se(value: float, se: float) -> tuple[str, str]:
    """Round an estimate to the leading digit of its standard error; return both as strings.

    Examples
    --------
    >>> round_to_se(0.5412, 0.0157)
    ('0.54', '0.02')
    >>> round_to_se(12.3456, 0.0)
    ('12.3456', '0')
    """
    if not se > 0 or not math.isfinite(se):
        return unsigned_zero(f"{value:.6g}"), "0"
    e = math.floor(math.log10(se))
    rounded_se = round(se, -e)
    if rounded_se >= 10 ** (e + 1):  # 0.096 -> 0.1
        e += 1
    dec = max(0, -e)
    return unsigned_zero(f"{round(value, -e):.{dec}f}"), f"{round(se, -e):.{dec}f}"


def mc_mean(values, *, label: str = "Monte Carlo SE") -> str:
    """The mean of Monte Carlo replicates with its Monte Carlo standard error, rounded to it.

    Examples
    --------
    >>> import numpy as np
    >>> mc_mean(np.random.default_rng(1).normal(0.54, 0.3, 1000))
    '0.524 (Monte Carlo SE 0.009)'
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    est, se = round_to_se(float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x))))
    return f"{est} ({label} {se})"


def mc_rate(count: int, n: int, *, percent: bool = True, label: str = "Monte Carlo SE") -> str:
    """A Monte Carlo proportion with its binomial standard error, rounded to it.

    Examples
    --------
    >>> mc_rate(448, 1000), mc_rate(447, 1000)
    ('45% (Monte Carlo SE 2%)', '45% (Monte Carlo SE 2%)')
    >>> mc_rate(948, 1000)
    '94.8% (Monte Carlo SE 0.7%)'
    """
    p = count / n
    se = math.sqrt(max(p * (1 - p), 1.0 / n) / n)
    scale, unit = (100.0, "%") if percent else (1.0, "")
    est, s = round_to_se(p * scale, se * scale)
    return f"{est}{unit} ({label} {s}{unit})"
