"""The general engine: lme4's profiled deviance for any model, with a sparse Z.

:func:`~mlm_helpers.model.deviance.profiled_deviance_general` evaluates the objective for any number
of grouping factors, crossed or nested, with any random terms (dense Cholesky up to
``DENSE_MAX_Q`` random effects, SuperLU above). This engine minimises it with the search every
engine shares (:func:`~mlm_helpers.model._numerics.minimise_theta`). It is exact but not yet fast
for large crossed designs; the statsmodels engine uses it to check, and if needed re-optimise,
what statsmodels reports. Request it with ``mh.fit(..., engine="general")``.

Examples
--------
>>> import mlm_helpers as mh
>>> from mlm_helpers.model.frame import build_model
>>> m = build_model("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"),
...                 warn_few_groups=False)
>>> round(-fit_general(m).deviance / 2, 3)  # lme4: -165.430
-165.43
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import FitFailedError
from .._numerics import minimise_theta, stop_converged
from ..deviance import general_pieces, general_setup, lower_bounds, theta_index, theta_to_lambda
from ..frame import ModelFrame
from ..optsummary import TOLERANCES, OptSummary
from . import EngineFit

__all__ = ["GeneralFit", "fit_general", "fit_model"]


@dataclass
class GeneralFit:
    """Estimates at the optimum of :func:`~mlm_helpers.model.deviance.profiled_deviance_general`."""

    theta: np.ndarray
    deviance: float
    beta: np.ndarray
    vcov_beta: np.ndarray
    sigma2: float
    covs: list[np.ndarray]
    ranef: list[np.ndarray]
    n_evals: int
    scaled_gradient: float
    gradient: float
    optsummary: OptSummary


def fit_general(model: ModelFrame, reml: bool = True, theta0: np.ndarray | None = None) -> GeneralFit:
    """Minimise the general profiled deviance over theta.

    Parameters
    ----------
    model : ModelFrame
    reml : bool
    theta0 : array, optional
        Starting point (default: lme4's, 1 on the diagonals and 0 elsewhere), factors in the
        order of ``model.blocks``.
    """
    setup = general_setup(model)
    n_evals = 0

    def fmany(ts: np.ndarray) -> np.ndarray:
        nonlocal n_evals
        n_evals += len(np.atleast_2d(ts))
        out = []
        for t in np.atleast_2d(ts):
            pc = general_pieces(setup, t, reml)
            out.append(np.inf if pc is None else pc["deviance"])
        return np.array(out)

    def f(t: np.ndarray) -> float:
        return float(fmany(np.asarray(t, float)[None])[0])

    lb = np.concatenate([lower_bounds(p) for p in setup.patterns]) if setup.patterns else np.zeros(0)
    index = [theta_index(p) for p in setup.patterns]
    diag = np.concatenate([r == c for r, c in index]) if index else np.zeros(0, bool)
    offsets = np.cumsum([0] + [int(p.shape[0]) for p in setup.patterns])
    cols = np.concatenate([c + off for (_, c), off in zip(index, offsets, strict=False)]) if index else np.zeros(0, int)
    start = np.where(diag, 1.0, 0.0) if theta0 is None else np.maximum(np.asarray(theta0, float), lb)
    restarts: list[str] = []
    theta, stop = minimise_theta(f, fmany, lb, diag, cols, start, restarts,
                                 fallback_scales=(1.0, 0.3, 3.0) if theta0 is not None else (0.3, 3.0))
    pc = general_pieces(setup, theta, reml)
    if pc is None:  # pragma: no cover - pathological data
        raise FitFailedError("The deviance is not defined at the optimum: the fixed-effects design is singular.")
    p = setup.X.shape[1]
    RXinv = np.linalg.inv(pc["RX"])
    covs, ranef, k, pos = [], [], 0, 0
    for b in model.blocks:
        m = int(b.pattern.sum())
        lam = theta_to_lambda(theta[k : k + m], b.pattern)
        k += m
        covs.append(pc["sigma2"] * lam @ lam.T)
        ranef.append(np.asarray(pc["b"][pos : pos + b.n_levels * b.q]).reshape(b.n_levels, b.q))
        pos += b.n_levels * b.q
    converged = stop_converged(stop)
    summary = OptSummary(
        engine="general", method="L-BFGS-B, then Newton polish", criterion="REML" if reml else "ML",
        n_evals=n_evals, objective=float(pc["deviance"]), gradient=stop.gradient,
        scaled_gradient=stop.scaled_gradient, newton_decrement=stop.decrement, theta_start=start,
        theta=theta.copy(), restarts=[*restarts, f"Newton polish: {stop.iterations} iteration(s)"],
        tolerances={key: TOLERANCES[key] for key in ("grad_tol", "xtol_rel", "fd_step", "boundary_tol")},
        converged=converged, message="ok" if converged else f"scaled gradient {stop.scaled_gradient:.1e} at the stop",
    )
    del p
    return GeneralFit(theta, float(pc["deviance"]), pc["beta"], pc["sigma2"] * (RXinv.T @ RXinv),
                      float(pc["sigma2"]), covs, ranef, n_evals, stop.scaled_gradient, stop.gradient, summary)


def fit_model(model: ModelFrame, reml: bool) -> EngineFit:
    """The engine contract: fit any model by minimising the general profiled deviance."""
    gf = fit_general(model, reml=bool(reml))
    s = gf.optsummary
    return EngineFit(gf.beta, gf.vcov_beta, gf.sigma2, -0.5 * gf.deviance, gf.covs, gf.ranef, s.converged,
                     s.message, theta=gf.theta, optsummary=s)
