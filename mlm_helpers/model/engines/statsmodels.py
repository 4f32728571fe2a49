"""Fit any supported model with statsmodels' MixedLM, robustly.

statsmodels' ``MixedLM.fit()`` can stop short of the optimum and still report
convergence (on the HSB data its default optimiser returns a REML
log-likelihood of -23322.596 instead of -23322.585, and a school variance of
4.67 instead of 4.77). This path therefore fits with several optimisers,
keeps the highest likelihood, and says so when the default one was worse.

Crossed and nested models are expressed the way statsmodels needs them:

* one grouping factor: ``groups=g``, correlated effects in ``exog_re``,
  further uncorrelated terms as variance components;
* nested factors (every other factor's levels sit inside one level of a top
  factor): ``groups=top``, the other factors as variance components;
* crossed factors: one all-encompassing group and every factor a variance
  component.

Examples
--------
>>> import mlm_helpers as mh
>>> res = mh.fit("diameter ~ 1 + (1 | plate) + (1 | sample)",
...              mh.load_dataset("penicillin"), engine="statsmodels")  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ...errors import ConvergenceWarning, FitFailedError, MLMInputError
from ..deviance import (
    profiled_deviance,
    profiled_deviance_general,
    sufficient_stats,
    theta_from_covs,
    theta_index,
)
from ..frame import Block, ModelFrame
from ..optsummary import TOLERANCES, OptSummary
from . import EngineFit
from .fast import _fit_fast_rescaled, fit_general

__all__ = ["fit_statsmodels", "fit_model", "SMFit", "OPTIMISERS", "vcov_beta"]

#: Optimisers tried, in order; ``None`` is statsmodels' default ``fit()``.
OPTIMISERS: tuple[str | None, ...] = (None, "lbfgs", "powell", "nm")


@dataclass
class SMFit:
    beta: np.ndarray
    vcov_beta: np.ndarray
    sigma2: float
    loglik: float
    covs: list[np.ndarray]
    ranef: list[np.ndarray]
    converged: bool
    message: str
    tried: dict = field(default_factory=dict)
    default_loglik: float = np.nan
    best_method: str = "default"
    optsummary: OptSummary | None = None


def _nested_in(inner: Block, outer: Block) -> bool:
    """True when every level of ``inner`` occurs within a single level of ``outer``."""
    pairs = pd.DataFrame({"i": inner.codes, "o": outer.codes}).drop_duplicates()
    return bool(pairs["i"].is_unique)


def _layout(model: ModelFrame) -> tuple[Block | None, list[Block]]:
    """Pick the top grouping factor (None: one all-encompassing group)."""
    blocks = model.blocks
    if len(blocks) == 1:
        return blocks[0], []
    for cand in sorted(blocks, key=lambda b: b.n_levels):
        if all(b is cand or _nested_in(b, cand) for b in blocks):
            return cand, [b for b in blocks if b is not cand]
    return None, list(blocks)


def _check_supported(top: Block | None, others: list[Block]) -> None:
    if top is not None:
        sizes = np.bincount(top.term_of_column)
        if np.sum(sizes > 1) > 1 or (len(sizes) > 1 and sizes[0] == 1 and np.any(sizes[1:] > 1)):
            raise MLMInputError(
                f"engine='statsmodels' can fit one correlated block per grouping factor, written first, "
                f"e.g. (1 + x | {top.group}); split the other terms into scalar ones with || ."
            )
    for b in others:
        if np.any(np.bincount(b.term_of_column) > 1):
            raise MLMInputError(
                f"engine='statsmodels' cannot fit correlated random effects on the crossed or nested "
                f"factor {b.group!r}; use uncorrelated terms (x || {b.group}) or a single grouping factor."
            )


def vcov_beta(model: ModelFrame, covs: list[np.ndarray], sigma2: float) -> np.ndarray:
    """lme4's covariance of the fixed effects, sigma^2 (X'X - X'Z F (F'Z'Z F + I)^-1 F'Z'X)^-1.

    ``F`` is any factor with F F' = G / sigma^2 (block diagonal over grouping
    factors and levels); this is (X' V^-1 X)^-1 without forming the n x n V.
    statsmodels' own ``cov_params()`` for REML fits comes from the Hessian of
    all parameters and differs from this by a few percent.
    """
    n = model.nobs
    cols = []
    for b, cov in zip(model.blocks, covs, strict=True):
        w, v = np.linalg.eigh(cov / sigma2)
        F = v * np.sqrt(np.clip(w, 0.0, None))
        ZF = b.Z @ F  # n x q, each row's effects scaled
        for k in range(b.q):
            M = np.zeros((n, b.n_levels))
            M[np.arange(n), b.codes] = ZF[:, k]
            cols.append(M)
    X = model.X
    if not cols:
        return sigma2 * np.linalg.inv(X.T @ X)
    ZL = np.hstack(cols)
    A = ZL.T @ ZL + np.eye(ZL.shape[1])
    ZX = ZL.T @ X
    XtXa = X.T @ X - ZX.T @ np.linalg.solve(A, ZX)
    return sigma2 * np.linalg.inv(XtXa)


def _fit_once(model_sm, method, reml, start=None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            kw = {"reml": reml}
            if method is not None:
                kw["method"] = method
            if start is not None:
                kw["start_params"] = start
            res = model_sm.fit(**kw)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
            return None, [f"{type(exc).__name__}: {exc}"]
    return res, [str(w.message) for w in caught]


def fit_statsmodels(model: ModelFrame, reml: bool = True, methods=OPTIMISERS) -> SMFit:
    """Fit with statsmodels' MixedLM using several optimisers; keep the best likelihood.

    Parameters
    ----------
    model : ModelFrame
        From :func:`mlm_helpers.model.frame.build_model`.
    reml : bool
        REML (default) or ML.
    methods : sequence
        Optimisers to try (``None`` = statsmodels' default).

    Returns
    -------
    SMFit
        Estimates in the layout the result object needs, with ``tried`` (the
        log-likelihood each optimiser reached) and ``default_loglik``.
    """
    n = model.nobs
    top, others = _layout(model)
    _check_supported(top, others)
    if top is None:
        groups = np.zeros(n, dtype=int)
        exog_re = np.zeros((n, 0))
        vc_terms: list[tuple[Block, int]] = [(b, k) for b in others for k in range(b.q)]
    else:
        groups = top.codes
        sizes = np.bincount(top.term_of_column)
        first = int(sizes[0]) if sizes[0] > 1 or len(sizes) == 1 else 1
        exog_re = top.Z[:, :first]
        vc_terms = [(top, k) for k in range(first, top.q)] + [(b, k) for b in others for k in range(b.q)]

    # Variance components: one indicator (or slope) column per level present in a group.
    exog_vc: dict[str, dict] = {}
    vc_index: dict[str, dict] = {}
    gvals = np.unique(groups)
    rows_of = {g: np.flatnonzero(groups == g) for g in gvals}
    for b, k in vc_terms:
        name = f"{b.group}|{b.names[k]}"
        exog_vc[name] = {}
        vc_index[name] = {}
        for g, rows in rows_of.items():
            if b is top:
                mat = b.Z[rows, k][:, None]
                levs = np.array([g])
            else:
                levs = np.unique(b.codes[rows])
                ind = (b.codes[rows][:, None] == levs[None, :]).astype(float)
                mat = ind * b.Z[rows, k][:, None]
            exog_vc[name][g] = mat
            vc_index[name][g] = levs
    vc_names: list[str] = []  # set from the model below: statsmodels sorts the names
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model_sm = sm.MixedLM(model.y, model.X, groups, exog_re=exog_re, exog_vc=exog_vc if exog_vc else None,
                              use_sqrt=True)
    if exog_vc:
        # statsmodels sorts the variance components by name: read vcomp in *its* order.
        vc_names = list(model_sm.exog_vc.names)

    tried: dict[str, float] = {}
    best = None
    best_method = None
    default_ll = np.nan
    for method in methods:
        res, msgs = _fit_once(model_sm, method, reml)
        label = "default" if method is None else method
        ll = float(res.llf) if res is not None else -np.inf
        if not np.isfinite(ll):
            ll = -np.inf
        tried[label] = ll
        if method is None:
            default_ll = ll
        if res is not None and np.isfinite(ll) and (best is None or ll > best.llf + 1e-9):
            best, best_method = res, label
    if best is None:
        raise FitFailedError("Every statsmodels optimiser failed on this model; try engine='fast'.")
    # Polish from the best point with a gradient method.
    res, _ = _fit_once(model_sm, "bfgs", reml, start=best.params_object)
    if res is not None and np.isfinite(res.llf) and res.llf > best.llf + 1e-9:
        tried[f"{best_method}+bfgs"] = float(res.llf)
        best, best_method = res, f"{best_method}+bfgs"

    beta = np.asarray(best.fe_params, dtype=float)
    sigma2 = float(best.scale)
    covs: list[np.ndarray] = []
    ranef: list[np.ndarray] = []
    vcomp = dict(zip(vc_names, np.asarray(best.vcomp, dtype=float), strict=False))
    re_dict = best.random_effects
    for b in model.blocks:
        cov = np.zeros((b.q, b.q))
        rmat = np.zeros((b.n_levels, b.q))
        for k in range(b.q):
            name = f"{b.group}|{b.names[k]}"
            if name in vcomp:
                cov[k, k] = vcomp[name]
        if b is top:
            first = exog_re.shape[1]
            cov[:first, :first] = np.asarray(best.cov_re, dtype=float)
            for g, eff in re_dict.items():
                vals = np.asarray(eff, dtype=float)
                rmat[int(g), :first] = vals[:first]
                for k in range(first, b.q):
                    pos = list(eff.index).index(f"{b.group}|{b.names[k]}[0]") if \
                        f"{b.group}|{b.names[k]}[0]" in eff.index else None
                    if pos is not None:
                        rmat[int(g), k] = vals[pos]
        else:
            for k in range(b.q):
                name = f"{b.group}|{b.names[k]}"
                for g, eff in re_dict.items():
                    levs = vc_index[name][g]
                    for j, lev in enumerate(levs):
                        key = f"{name}[{j}]"
                        if key in eff.index:
                            rmat[int(lev), k] = float(eff[key])
        covs.append(cov)
        ranef.append(rmat)
    vcov = vcov_beta(model, covs, sigma2)
    message = f"best of {', '.join(tried)}: {best_method}"
    try:  # the score of the log-likelihood in statsmodels' own parametrisation of the covariances
        grad = float(np.max(np.abs(model_sm.score(best.params_object, profile_fe=True))))
    except Exception:  # pragma: no cover - statsmodels internals
        grad = np.nan
    summary = OptSummary(
        engine="statsmodels", method=f"statsmodels MixedLM ({best_method})", criterion="REML" if reml else "ML",
        n_evals=None, objective=-2.0 * float(best.llf), gradient=grad,
        restarts=[f"{k}: log-likelihood {v:.4f}" for k, v in tried.items()],
        tolerances={"optimisers": "statsmodels' defaults"},
        converged=bool(best.converged), message="statsmodels reported convergence" if best.converged
        else "statsmodels did not report convergence",
    )
    return SMFit(beta, vcov, sigma2, float(best.llf), covs, ranef, bool(best.converged), message, tried,
                 default_ll, str(best_method), summary)


#: statsmodels' optimum is replaced by the re-optimised profiled deviance when that is higher by
#: more than this many log-likelihood units.
SHORTFALL_TOL = 1e-4


def _singular_theta(model, theta: np.ndarray) -> bool:
    """lme4's isSingular rule on theta: a diagonal entry of a relative covariance factor below singular_tol."""
    k, out = 0, False
    for b in model.blocks:
        rows, cols = theta_index(b.pattern)
        t = np.asarray(theta[k : k + len(rows)], float)
        k += len(rows)
        out = out or bool(np.any(t[rows == cols] < TOLERANCES["singular_tol"]))
    return out


def _check_against_profiled_deviance(model: ModelFrame, raw: EngineFit, *, reml: bool) -> EngineFit:
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
        ff = _fit_fast_rescaled(ss, reml=reml)
        assert ff.optsummary is not None
        opt: dict[str, Any] = {"theta": ff.theta, "deviance": ff.deviance, "beta": ff.beta, "vcov": ff.vcov_beta,
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
        return EngineFit(opt["beta"], opt["vcov"], opt["sigma2"], -0.5 * opt["deviance"], opt["covs"], opt["ranef"],
                      raw.converged, raw.message, theta=np.asarray(opt["theta"], float), notes=raw.notes,
                      optsummary=summary)
    warn = (ConvergenceWarning,
            f"statsmodels stopped short of the optimum: its estimates give a {crit} log-likelihood of {ll_sm:.4f} "
            f"on lme4's profiled deviance, and re-optimising theta from there reaches {ll_opt:.4f} "
            f"({shortfall:.3g} higher). mh.fit reports the re-optimised estimates (result.optsummary says what ran).")
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
    return EngineFit(opt["beta"], opt["vcov"], opt["sigma2"], ll_opt, opt["covs"], opt["ranef"], converged,
                  summary.message if summary is not None else "re-optimised", theta=np.asarray(opt["theta"], float),
                  notes=notes, optsummary=summary, warnings=[warn])


def fit_model(model: ModelFrame, reml: bool) -> EngineFit:
    """The engine contract: statsmodels' MixedLM with several optimisers, the best likelihood kept.

    A ``ConvergenceWarning`` is passed on (to be raised at the user's line) when statsmodels'
    default optimiser stopped at a worse likelihood than another.
    """
    sf = fit_statsmodels(model, reml=bool(reml))
    notes = ["statsmodels optimisers tried (log-likelihood): "
             + ", ".join(f"{k} {v:.4f}" for k, v in sf.tried.items()) + f"; kept {sf.best_method}."]
    fit = EngineFit(sf.beta, sf.vcov_beta, sf.sigma2, sf.loglik, sf.covs, sf.ranef, sf.converged, sf.message,
                    notes=notes, optsummary=sf.optsummary)
    fit = _check_against_profiled_deviance(model, fit, reml=bool(reml))
    reoptimised = fit.loglik > sf.loglik + SHORTFALL_TOL  # that warning says it all
    if not reoptimised and np.isfinite(sf.default_loglik) and sf.default_loglik < sf.loglik - 1e-4:
        fit.warnings.append((ConvergenceWarning,
                             f"statsmodels' default optimiser stopped at log-likelihood {sf.default_loglik:.4f}, below "
                             f"the {sf.loglik:.4f} that '{sf.best_method}' reached: its estimates were not the optimum, "
                             "although it may have reported convergence. mh.fit reports the better fit."))
    elif not np.isfinite(sf.default_loglik):
        fit.notes.append("statsmodels' default optimiser failed (non-finite likelihood); another was used.")
    return fit
