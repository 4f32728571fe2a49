"""Likelihood-ratio tests between nested mixed models, with the boundary correction.

When the null hypothesis puts a variance on the edge of its parameter space
(``tau = 0``), the likelihood-ratio statistic no longer follows chi2(df): for
one variance it follows the 50:50 mixture of chi2(0) (a point mass at 0) and
chi2(1) (Self & Liang 1987; Stram & Lee 1994). The naive chi2(df) p-value is
then too large (conservative).

Examples
--------
>>> import mlm_helpers as mh
>>> d = mh.load_dataset("sleepstudy")
>>> ri = mh.fit("Reaction ~ Days + (1 | Subject)", d)
>>> rs = mh.fit("Reaction ~ Days + (Days | Subject)", d)
>>> t = mh.lrt(ri, rs)
>>> round(t.statistic, 2), t.df, t.mixture
(42.84, 2, '0.5 chi2(1) + 0.5 chi2(2)')
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ConvergenceWarning, MLMInputError, warn_at_caller
from .result import MixedResult

__all__ = ["lrt", "LRTResult", "chibar_pvalue"]


def chibar_pvalue(statistic: float, weights: dict[int, float]) -> float:
    """Upper-tail probability of a chi-bar-square mixture.

    Parameters
    ----------
    statistic : float
        The likelihood-ratio statistic.
    weights : dict
        ``{df: weight}``; ``df = 0`` is a point mass at zero.

    Examples
    --------
    >>> round(chibar_pvalue(2.71, {0: 0.5, 1: 0.5}), 3)
    0.05
    """
    p = 0.0
    for df, w in weights.items():
        if df == 0:
            p += w * float(statistic <= 0)
        else:
            p += w * float(stats.chi2.sf(statistic, df))
    return p


def _mixture_text(weights: dict[int, float]) -> str:
    return " + ".join(f"{w:g} chi2({df})" for df, w in sorted(weights.items()))


@dataclass
class LRTResult:
    """Outcome of :func:`lrt`."""

    statistic: float
    df: int
    p_naive: float
    p_mixture: float | None
    mixture: str | None
    criterion: str
    loglik_reduced: float
    loglik_full: float
    refitted: bool
    note: str

    @property
    def p(self) -> float:
        """The p-value to report: the mixture one where it applies, else the naive one."""
        return self.p_mixture if self.p_mixture is not None else self.p_naive

    def to_frame(self) -> pd.DataFrame:
        """A one-row table."""
        return pd.DataFrame([{
            "criterion": self.criterion, "loglik_reduced": self.loglik_reduced,
            "loglik_full": self.loglik_full, "statistic": self.statistic, "df": self.df,
            "p_naive": self.p_naive, "p_mixture": self.p_mixture, "mixture": self.mixture,
        }])

    def __str__(self) -> str:
        lines = [f"Likelihood-ratio test ({self.criterion} fits)",
                 f"  log-likelihoods: reduced {self.loglik_reduced:.3f}, full {self.loglik_full:.3f}",
                 f"  statistic {self.statistic:.3f} on {self.df} df",
                 f"  naive p (chi2({self.df})): {self.p_naive:.4g}"]
        if self.p_mixture is not None:
            lines.append(f"  boundary-corrected p ({self.mixture}): {self.p_mixture:.4g}")
        if self.note:
            lines.append("  " + self.note)
        return "\n".join(lines)


def _blocks(res: MixedResult) -> dict[str, tuple[list[str], np.ndarray]]:
    return {b.group: (list(b.names), b.pattern) for b in res.model.blocks}


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def _check_same_data(reduced: MixedResult, full: MixedResult) -> None:
    """Both fits must use the same rows and the same outcome, compared by value."""
    yr, yf = reduced.model.y, full.model.y
    if len(yr) != len(yf):
        raise MLMInputError(
            f"The two fits use different rows ({len(yr)} and {len(yf)} observations), e.g. because of missing "
            "values in a column only one model uses. Drop those rows first, then refit both."
        )
    rr, rf = reduced.model.spec.response, full.model.spec.response
    if not np.array_equal(yr, yf):
        if rr != rf:
            raise MLMInputError(
                f"The two models have different outcomes ({rr!r} and {rf!r}); a likelihood-ratio test compares "
                "two models of the same outcome."
            )
        k = int(np.flatnonzero(yr != yf)[0])
        raise MLMInputError(
            f"The two fits have the same number of rows ({len(yr)}) but not the same data: the outcome {rr!r} is "
            f"{yr[k]:g} in row {k} of the first fit and {yf[k]:g} in the second (different rows, a different "
            "order, or a changed column). Fit both models to the same DataFrame, then test."
        )
    # Same outcome values: the predictors both models share must match by value too (row labels may
    # differ, e.g. after reset_index, without the data differing).
    xr, xf = reduced.model, full.model
    for name in [n for n in xr.x_names if n in xf.x_names]:
        a, b = xr.X[:, xr.x_names.index(name)], xf.X[:, xf.x_names.index(name)]
        if not np.allclose(a, b, rtol=1e-12, atol=0.0):
            k = int(np.flatnonzero(~np.isclose(a, b, rtol=1e-12, atol=0.0))[0])
            raise MLMInputError(
                f"The two fits have the same outcome values but not the same rows: the predictor {name!r} is "
                f"{a[k]:g} in row {k} of the first fit and {b[k]:g} in the second. Fit both models to the same "
                "DataFrame, then test."
            )


def _random_parts(res: MixedResult) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    return {b.group: (list(b.names), b.pattern, b.codes) for b in res.model.blocks}


def _contains(big: MixedResult, small: MixedResult) -> bool:
    """True when ``small`` is a special case of ``big``: its fixed and random effects are all in ``big``."""
    if not set(small.fixed.index) <= set(big.fixed.index):
        return False
    parts_big = _random_parts(big)
    for g, (names, pattern, codes) in _random_parts(small).items():
        match = parts_big.get(g)
        if match is None:  # the same factor written differently (sample vs batch:cask)
            match = next((v for v in parts_big.values() if _same_partition(codes, v[2])), None)
        if match is None:
            return False
        names_b, pattern_b, _ = match
        if not set(names) <= set(names_b):
            return False
        idx = [names_b.index(n) for n in names]
        if np.any(pattern & ~pattern_b[np.ix_(idx, idx)]):
            return False
    return True


def _why_not_nested(a: MixedResult, b: MixedResult) -> str:
    fa, fb = set(a.fixed.index), set(b.fixed.index)
    if not (fa <= fb or fb <= fa):
        return (f"fixed effects {sorted(fb - fa)} are only in the first and {sorted(fa - fb)} only in the second")
    return "their random parts differ in both directions"


def _boundary_weights(reduced: MixedResult, full: MixedResult) -> tuple[dict[int, float] | None, str]:
    """Mixture weights when the full model only adds variance components."""
    red, ful = _blocks(reduced), _blocks(full)
    # A factor may be written differently in the two models (e.g. 'sample' and 'batch:cask' for the
    # same casks): match grouping factors by the partition of the rows they define.
    full_blocks = {b.group: b for b in full.model.blocks}
    for b in reduced.model.blocks:
        if b.group in ful:
            continue
        for g, fb in full_blocks.items():
            if g not in red and _same_partition(b.codes, fb.codes):
                red[g] = red.pop(b.group)
                break
    scalar_added = 0
    grown: list[int] = []
    covariance_only: list[str] = []
    for g, (names_f, pat_f) in ful.items():
        if g not in red:
            # A new grouping factor: fine if it only brings independent scalar variances.
            if np.any(np.tril(pat_f, -1)):
                return None, f"the new factor {g!r} brings correlated effects"
            scalar_added += len(names_f)
            continue
        names_r, pat_r = red[g]
        if not set(names_r) <= set(names_f):
            return None, f"the random effects for {g!r} are not nested"
        new = [n for n in names_f if n not in names_r]
        if not new:
            if pat_f.sum() != pat_r.sum():
                idx = [names_f.index(n) for n in names_r]
                pr = np.zeros_like(pat_f)
                pr[np.ix_(idx, idx)] = pat_r
                added = pat_f & ~pr
                if np.any(np.diag(added)) or np.any(pr & ~pat_f):
                    return None, f"the covariance structure for {g!r} differs"
                covariance_only.append(g)
            continue
        idx_new = [names_f.index(n) for n in new]
        idx_old = [names_f.index(n) for n in names_r]
        corr_with_old = any(pat_f[max(i, j), min(i, j)] for i in idx_new for j in idx_old)
        if len(new) == 1 and corr_with_old:
            # Pattern check: the old block must be a full correlated block in both models.
            grown.append(len(names_r))
        elif not corr_with_old and not np.any(np.tril(pat_f[np.ix_(idx_new, idx_new)], -1)):
            scalar_added += len(new)
        else:
            return None, f"several correlated effects are added for {g!r}"
    for g in red:
        if g not in ful:
            return None, f"the factor {g!r} is in the reduced model only"
    if covariance_only and not grown and not scalar_added:
        return None, "covariance only"
    if covariance_only:
        return None, "variances and covariances are tested at once"
    if grown and (len(grown) > 1 or scalar_added):
        return None, "several kinds of variance parameters are tested at once"
    if grown:
        q = grown[0]
        return {q: 0.5, q + 1: 0.5}, ""
    if scalar_added:
        m = scalar_added
        return {k: comb(m, k) / 2**m for k in range(m + 1)}, ""
    return None, "no variance component is tested"


def lrt(reduced: MixedResult, full: MixedResult) -> LRTResult:
    """Likelihood-ratio test of a reduced model against a fuller one.

    * Fixed effects differ: both are refitted by ML (REML likelihoods of
      models with different fixed effects are not comparable) and the test
      says so.
    * Only the random part differs: REML fits are compared as they are
      (refitting an ML fit by REML if the two differ).
    * When the full model adds variance components, the chi-bar-square
      mixture p-value is reported too: ``0.5 chi2(0) + 0.5 chi2(1)`` for one
      variance, ``0.5 chi2(q) + 0.5 chi2(q+1)`` for adding a correlated random
      slope to q random effects (Self & Liang 1987; Stram & Lee 1994).

    Parameters
    ----------
    reduced, full : MixedResult
        Fits of nested models to the same rows (``full`` has more parameters).

    Returns
    -------
    LRTResult
        ``statistic``, ``df``, ``p_naive``, ``p_mixture`` (or None), ``mixture``,
        ``criterion``, ``refitted`` and a ``note``.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> d = mh.load_dataset("hsb")
    >>> t = mh.lrt(mh.fit("MathAch ~ 1 + (1 | School)", d), mh.fit("MathAch ~ SES + (1 | School)", d))
    >>> t.criterion, t.df, t.p_mixture is None
    ('ML', 1, True)
    """
    for name, r in (("reduced", reduced), ("full", full)):
        if not isinstance(r, MixedResult):
            raise MLMInputError(f"{name} must be a result of mh.fit(), got {type(r).__name__}.")
    _check_same_data(reduced, full)
    red_in_full, full_in_red = _contains(full, reduced), _contains(reduced, full)
    if not red_in_full:
        if full_in_red:
            raise MLMInputError(
                f"The models are passed in reverse: the first ({reduced.formula!r}, {reduced.n_params} parameters) "
                f"contains the second ({full.formula!r}, {full.n_params}). Pass the smaller model first: "
                "lrt(reduced, full)."
            )
        raise MLMInputError(
            f"The models {reduced.formula!r} and {full.formula!r} are not nested: neither is a special case of the "
            f"other ({_why_not_nested(full, reduced)}), so a likelihood-ratio test does not apply. Compare them "
            "with AIC or BIC instead (result.aic, result.bic)."
        )
    fixed_same = list(reduced.fixed.index) == list(full.fixed.index) or \
        set(reduced.fixed.index) == set(full.fixed.index)
    notes = []
    refitted = False
    if not fixed_same:
        if reduced.reml or full.reml:
            reduced, full = reduced.refit(reml=False, warn=False), full.refit(reml=False, warn=False)
            refitted = True
            notes.append("Refitted both models by ML: their fixed effects differ, and REML likelihoods of "
                         "models with different fixed effects are not comparable.")
        criterion = "ML"
    else:
        if reduced.reml != full.reml:
            reduced, full = reduced.refit(reml=True, warn=False), full.refit(reml=True, warn=False)
            refitted = True
            notes.append("Refitted both models by REML, as they differ only in their random part.")
        criterion = "REML" if full.reml else "ML"
    if refitted:
        failed = [f"the {name} model ({r.formula!r}: {r.convergence_message})"
                  for name, r in (("reduced", reduced), ("full", full)) if not r.converged]
        if failed:
            msg = (f"The {criterion} refit of {' and of '.join(failed)} did not converge, so the statistic may be "
                   "wrong; check result.refit(reml=...).optsummary before trusting the p-value.")
            notes.append(msg)
            warn_at_caller(msg, ConvergenceWarning)
    df = full.n_params - reduced.n_params
    if df <= 0:
        raise MLMInputError(
            f"The 'full' model has {full.n_params} parameters and the 'reduced' one {reduced.n_params}, yet the "
            "reduced model is a special case of the full one: the two models are the same model, and there is "
            "nothing to test."
        )
    stat = 2.0 * (full.loglik - reduced.loglik)
    if stat < 0:
        if stat < -1e-4:
            notes.append(f"The statistic was negative ({stat:.3g}): the fuller model fits worse, which points to "
                         "a convergence problem; it is set to 0.")
        stat = 0.0
    p_naive = float(stats.chi2.sf(stat, df))
    p_mix, mixture = None, None
    if fixed_same:
        weights, why = _boundary_weights(reduced, full)
        if weights is not None:
            p_mix = chibar_pvalue(stat, weights)
            mixture = _mixture_text(weights)
            notes.append("The null hypothesis puts a variance on its boundary (0): use the mixture p-value; "
                         "the naive chi2 p-value is too large.")
        elif why == "covariance only":
            notes.append("Only covariances are tested, and a covariance of 0 is inside its parameter space: "
                         "the chi2(df) p-value applies, no boundary correction is needed.")
        elif why and why != "no variance component is tested":
            notes.append(f"No standard boundary correction ({why}); consider a parametric bootstrap.")
    return LRTResult(stat, int(df), p_naive, p_mix, mixture, criterion, reduced.loglik, full.loglik, refitted,
                     " ".join(notes))
