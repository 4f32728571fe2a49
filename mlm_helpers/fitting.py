"""``mh.fit``: one call for lme4-style formulas, with a fast exact engine and a robust statsmodels path.

Examples
--------
>>> import mlm_helpers as mh
>>> res = mh.fit("MathAch ~ SES + (1 | School)", mh.load_dataset("hsb"))
>>> res.fixed["estimate"].round(3).tolist()
[12.657, 2.39]
>>> round(res.icc, 3)
0.114
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ._threads import one_blas_thread
from .design import build_model
from .engine_fast import (
    fit_fast,
    fit_general,
    profiled_deviance,
    profiled_deviance_general,
    sufficient_stats,
    theta_from_covs,
)
from .engine_statsmodels import fit_statsmodels
from .errors import ConvergenceWarning, MLMInputError, SingularFitWarning
from .optsummary import TOLERANCES
from .result import MixedResult, RawFit

__all__ = ["fit", "ENGINES", "SHORTFALL_TOL"]

ENGINES = ("auto", "fast", "statsmodels")

#: statsmodels' optimum is replaced by the re-optimised profiled deviance when that is higher by
#: more than this many log-likelihood units.
SHORTFALL_TOL = 1e-4


def _fit_fast_rescaled(ss, *, reml: bool):
    """The fast engine, with random-effect columns on a very different scale from 1 rescaled internally.

    With ``Z' = Z S^-1`` (S diagonal, each column's root mean square) the model is the same with
    ``Lambda = S^-1 Lambda'``: the optimiser works where theta is of order 1, and the estimates
    are reported on the user's scale. Columns already within [1e-3, 1e3] are left alone, so the
    numbers of ordinary fits do not change.
    """
    import dataclasses

    from .design import BAD_SCALE

    if ss.q == 0:
        return fit_fast(ss, reml=reml)
    ztz_diag = np.einsum("jkk->k", ss.ZtZ)
    rms = np.sqrt(ztz_diag / ss.n)
    bad = (rms > 0) & ((rms > BAD_SCALE) | (rms < 1.0 / BAD_SCALE))
    if not bad.any():
        return fit_fast(ss, reml=reml)
    scale = np.where(bad, rms, 1.0)
    inv = 1.0 / scale
    scaled = dataclasses.replace(ss, ZtZ=ss.ZtZ * inv[None, :, None] * inv[None, None, :],
                                 ZtX=ss.ZtX * inv[None, :, None], Zty=ss.Zty * inv[None, :])
    ff = fit_fast(scaled, reml=reml)
    lam = inv[:, None] * ff.lam
    rows, cols = np.nonzero(np.tril(ss.pattern))
    order = np.lexsort((rows, cols))  # column by column, as theta
    theta = lam[rows[order], cols[order]]
    if ff.optsummary is not None:
        ff.optsummary.restarts.append(
            "random-effect columns rescaled internally by " + ", ".join(f"{s:.3g}" for s in scale)
            + " (results on the original scale)")
        ff.optsummary.theta = theta.copy()
    return dataclasses.replace(ff, theta=theta, lam=lam, ranef=ff.ranef * inv[None, :])


def _singular_theta(model, theta: np.ndarray) -> bool:
    """lme4's isSingular rule on theta: a diagonal entry of a relative covariance factor below singular_tol."""
    from .engine_fast import _theta_index

    k, out = 0, False
    for b in model.blocks:
        rows, cols = _theta_index(b.pattern)
        t = np.asarray(theta[k : k + len(rows)], float)
        k += len(rows)
        out = out or bool(np.any(t[rows == cols] < TOLERANCES["singular_tol"]))
    return out


def _check_against_profiled_deviance(model, raw: RawFit, *, reml: bool) -> RawFit:
    """Check statsmodels' optimum with lme4's profiled deviance; re-optimise theta if it stopped short.

    theta comes from statsmodels' covariances (Cholesky factors of cov / sigma^2). One grouping
    factor: the fast engine's deviance and optimiser; several: :func:`profiled_deviance_general`
    and :func:`fit_general` started at statsmodels' point. When the optimum is higher by more
    than ``SHORTFALL_TOL`` log-likelihood units, the re-optimised estimates replace statsmodels'
    and a :class:`ConvergenceWarning` says by how much.
    """
    theta_sm = theta_from_covs(model, raw.covs, raw.sigma2)
    crit = "REML" if reml else "ML"
    if len(model.blocks) == 1:
        ss = sufficient_stats(model)
        dev_sm = profiled_deviance(theta_sm, ss, reml)
        ff = fit_fast(ss, reml=reml)
        opt = {"theta": ff.theta, "deviance": ff.deviance, "beta": ff.beta, "vcov": ff.vcov_beta,
               "sigma2": ff.sigma2, "covs": [ff.sigma2 * ff.lam @ ff.lam.T], "ranef": [ff.ranef],
               "scaled_gradient": ff.optsummary.scaled_gradient, "gradient": ff.optsummary.gradient,
               "how": "the fast engine (one grouping factor)"}
    else:
        dev_sm = profiled_deviance_general(model, theta_sm, reml)
        gf = fit_general(model, reml=reml, theta0=theta_sm)
        opt = {"theta": gf.theta, "deviance": gf.deviance, "beta": gf.beta, "vcov": gf.vcov_beta,
               "sigma2": gf.sigma2, "covs": gf.covs, "ranef": gf.ranef, "scaled_gradient": gf.scaled_gradient,
               "gradient": gf.gradient, "how": "profiled_deviance_general, L-BFGS-B from statsmodels' point"}
    ll_sm, ll_opt = -0.5 * dev_sm, -0.5 * opt["deviance"]
    shortfall = ll_opt - ll_sm
    summary = raw.optsummary
    check = (f"checked with lme4's profiled {crit} deviance: {dev_sm:.4f} at statsmodels' theta, "
             f"{opt['deviance']:.4f} at its optimum ({opt['how']})")
    if summary is not None:
        summary.restarts.append(check)
        summary.theta_start = theta_sm
    knife_edge = (_singular_theta(model, theta_sm) != _singular_theta(model, opt["theta"])
                  and opt["deviance"] <= dev_sm + 1e-6)
    if not shortfall > SHORTFALL_TOL and not knife_edge:
        raw.theta = theta_sm
        if summary is not None:
            summary.theta = theta_sm
        return raw
    if not shortfall > SHORTFALL_TOL:
        # Same likelihood, but statsmodels stopped on the other side of the singular rule (a flat
        # deviance near the boundary): report the optimum computed to the stated tolerance, so
        # that every engine flags singular fits by one rule.
        raw.notes.append(
            f"statsmodels stopped where the profiled deviance is flat, {'off' if _singular_theta(model, opt['theta']) else 'on'} "
            f"the boundary (its theta {np.round(theta_sm, 6).tolist()}); the estimates shown are the optimum of lme4's "
            f"profiled deviance (theta {np.round(opt['theta'], 6).tolist()}), no worse, so that the singular rule "
            "is the same on every engine.")
        if summary is not None:
            summary.restarts.append("statsmodels' estimates replaced by the profiled-deviance optimum (knife edge)")
            summary.theta = np.asarray(opt["theta"], float)
            summary.objective = float(opt["deviance"])
        return RawFit(opt["beta"], opt["vcov"], opt["sigma2"], -0.5 * opt["deviance"], opt["covs"], opt["ranef"],
                      raw.converged, raw.message, theta=np.asarray(opt["theta"], float), notes=raw.notes,
                      optsummary=summary)
    warnings.warn(
        f"statsmodels stopped short of the optimum: its estimates give a {crit} log-likelihood of {ll_sm:.4f} "
        f"on lme4's profiled deviance, and re-optimising theta from there reaches {ll_opt:.4f} "
        f"({shortfall:.3g} higher). mh.fit reports the re-optimised estimates (result.optsummary says what ran).",
        ConvergenceWarning,
        stacklevel=3,
    )
    converged = bool(np.isfinite(opt["gradient"]) and not (opt["scaled_gradient"] >= TOLERANCES["grad_tol"]))
    if summary is not None:
        summary.method += ", then re-optimised on lme4's profiled deviance"
        summary.objective = float(opt["deviance"])
        summary.gradient = float(opt["gradient"])
        summary.scaled_gradient = float(opt["scaled_gradient"])
        summary.theta = np.asarray(opt["theta"], float)
        summary.restarts.append(f"statsmodels stopped {shortfall:.4g} log-likelihood units short; re-optimised")
        summary.converged = converged
        summary.message = "ok" if converged else "the re-optimised fit did not meet the gradient criterion"
    notes = list(raw.notes) + [f"statsmodels stopped {shortfall:.3g} log-likelihood units short of the optimum of "
                               "lme4's profiled deviance; the estimates shown are re-optimised."]
    return RawFit(opt["beta"], opt["vcov"], opt["sigma2"], ll_opt, opt["covs"], opt["ranef"], converged,
                  summary.message if summary is not None else "re-optimised", theta=np.asarray(opt["theta"], float),
                  notes=notes, optsummary=summary)


def fit(formula: str, data: pd.DataFrame, *, reml: bool = True, engine: str = "auto") -> MixedResult:
    """Fit a linear mixed model written as an lme4 formula.

    Parameters
    ----------
    formula : str
        For example ``"MathAch ~ SES + (1 + SES | School)"``. Random terms:
        ``(1 | g)``, ``(1 + x | g)`` = ``(x | g)``, ``(0 + x | g)``,
        ``(x || g)`` (uncorrelated), crossed ``(1 | a) + (1 | b)``, nested
        ``(1 | a/b)``. ``I(age^2)`` is a power, as in R. A formula without random
        terms fits an ordinary linear model by ML/REML (useful as the reduced model
        of a likelihood-ratio test).
    data : pandas.DataFrame
        One row per observation. Rows with missing values in the model's
        columns are dropped with a warning.
    reml : bool
        REML (default, as lme4) or maximum likelihood.
    engine : {"auto", "fast", "statsmodels"}
        ``"fast"``: the exact profiled-deviance engine for models with one
        grouping factor (milliseconds). ``"statsmodels"``: MixedLM with several
        optimisers, keeping the best likelihood, for every supported model; its
        optimum is checked with lme4's profiled deviance and re-optimised when
        statsmodels stopped short.
        ``"auto"``: ``fast`` where it applies.

    Returns
    -------
    MixedResult

    Warns
    -----
    ConvergenceWarning
        When statsmodels' default optimiser stopped at a worse likelihood than
        another optimiser (the better fit is reported), when lme4's profiled
        deviance, re-optimised from statsmodels' estimates, finds a higher
        likelihood (the re-optimised fit is reported, and the warning says by
        how much), or an optimiser did not converge.
    InputWarning
        A random-effect column far from scale 1 (the fast engine rescales it
        internally), or whole numbers stored as text dummy-coded as a factor.
    SingularFitWarning
        When a variance is estimated as 0 (or a correlation as +-1).
    FewGroupsWarning, MissingDataWarning
        Fewer than 10 groups; rows dropped for missing values.

    Raises
    ------
    MLMInputError
        A ``ValueError`` whose message names the problem and the fix.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> res.varcorr.round(2)
          group       var1  var2    vcov  sdcor
    0   Subject  Intercept   NaN  612.09  24.74
    1   Subject       Days   NaN   35.07   5.92
    2   Subject  Intercept  Days    9.60   0.07
    3  Residual        NaN   NaN  654.94  25.59
    """
    if engine not in ENGINES:
        raise MLMInputError(f"engine must be one of {', '.join(map(repr, ENGINES))}; got {engine!r}.")
    if not isinstance(reml, bool | np.bool_):
        raise MLMInputError(f"reml must be True (REML) or False (ML); got {reml!r}.")
    model = build_model(formula, data)
    n_factors = len(model.blocks)
    chosen = engine
    if engine == "auto":
        chosen = "fast" if n_factors <= 1 else "statsmodels"
    if chosen == "fast" and n_factors > 1:
        raise MLMInputError(
            f"engine='fast' handles one grouping factor; this model has {n_factors} "
            f"({', '.join(b.group for b in model.blocks)}). Use engine='statsmodels' (or 'auto')."
        )
    if chosen == "statsmodels" and n_factors == 0:
        raise MLMInputError("engine='statsmodels' needs at least one random term such as (1 | g).")

    with one_blas_thread():
        if chosen == "fast":
            ff = _fit_fast_rescaled(sufficient_stats(model), reml=bool(reml))
            covs = [ff.sigma2 * ff.lam @ ff.lam.T] if n_factors else []
            ranef = [ff.ranef] if n_factors else []
            raw = RawFit(ff.beta, ff.vcov_beta, ff.sigma2, -0.5 * ff.deviance, covs, ranef, ff.converged,
                         ff.message, theta=ff.theta, optsummary=ff.optsummary)
        else:
            sf = fit_statsmodels(model, reml=bool(reml))
            notes = ["statsmodels optimisers tried (log-likelihood): "
                     + ", ".join(f"{k} {v:.4f}" for k, v in sf.tried.items()) + f"; kept {sf.best_method}."]
            raw = RawFit(sf.beta, sf.vcov_beta, sf.sigma2, sf.loglik, sf.covs, sf.ranef, sf.converged, sf.message,
                         notes=notes, optsummary=sf.optsummary)
            raw = _check_against_profiled_deviance(model, raw, reml=bool(reml))
            reoptimised = raw.loglik > sf.loglik + SHORTFALL_TOL  # that warning says it all
            if not reoptimised and np.isfinite(sf.default_loglik) and sf.default_loglik < sf.loglik - 1e-4:
                warnings.warn(
                    f"statsmodels' default optimiser stopped at log-likelihood {sf.default_loglik:.4f}, below "
                    f"the {sf.loglik:.4f} that '{sf.best_method}' reached: its estimates were not the optimum, "
                    "although it may have reported convergence. mh.fit reports the better fit.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
            elif not np.isfinite(sf.default_loglik):
                raw.notes.append("statsmodels' default optimiser failed (non-finite likelihood); another was used.")
    result = MixedResult(model, raw, reml=bool(reml), engine=chosen, formula=formula, data=data)
    if not result.converged:
        warnings.warn(f"The optimiser may not have converged ({raw.message}); check the model and the scaling "
                      "of the predictors.", ConvergenceWarning, stacklevel=2)
    if n_factors and result.is_singular:
        warnings.warn(
            "Boundary (singular) fit: a random-effect variance is estimated as 0 (or a correlation as "
            "+-1). The data do not support that part of the model; see result.varcorr.",
            SingularFitWarning,
            stacklevel=2,
        )
    return result
