"""The intercepts engine: crossed or nested random intercepts, ``y ~ x + (1 | a) + (1 | b) + ...``.

It minimises the profiled deviance of :func:`mlm_helpers.model.deviance.intercept_deviance_pieces`
(dense in every factor but the largest) by L-BFGS-B over the relative standard deviations, then
the Newton polish and convergence rule of the fast engine. Exact (it agrees with lme4), and fast
for designs with up to a few hundred levels in the smaller factors: the engine for simulation
loops over crossed and three-level designs. Request it with ``mh.fit(..., engine="intercepts")``.

Examples
--------
>>> import mlm_helpers as mh
>>> res = mh.fit("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"),
...              engine="intercepts")  # doctest: +SKIP
>>> round(res.loglik, 2)  # doctest: +SKIP
-165.43
"""

from __future__ import annotations

import numpy as np

from .._numerics import minimise_theta, stop_converged
from ..deviance import intercept_deviance_pieces, intercept_modes, intercept_stats
from ..frame import ModelFrame
from ..optsummary import TOLERANCES, OptSummary
from . import EngineFit

__all__ = ["fit_model"]


def fit_model(model: ModelFrame, reml: bool) -> EngineFit:
    """The engine contract: fit a model whose random terms are all intercepts."""
    sizes = [b.n_levels for b in model.blocks]
    st = intercept_stats(model.X, model.y, [b.codes for b in model.blocks], sizes)
    k = len(sizes)
    n_evals = 0

    def f(t: np.ndarray) -> float:
        nonlocal n_evals
        n_evals += 1
        return intercept_deviance_pieces(t, st, reml).deviance

    def fmany(ts: np.ndarray) -> np.ndarray:
        return np.array([f(t) for t in np.atleast_2d(ts)])

    lb = np.zeros(k)
    start = np.ones(k)
    restarts: list[str] = []
    theta, stop = minimise_theta(f, fmany, lb, np.ones(k, bool), np.arange(k), start, restarts,
                                 fallback_scales=(0.3, 3.0))
    converged = stop_converged(stop)
    pc = intercept_deviance_pieces(theta, st, reml)
    RXinv = np.linalg.inv(pc.RX)
    beta = RXinv.T @ pc.cbeta
    sigma2 = pc.r2 / (st.n - st.p if reml else st.n)
    vcov = sigma2 * (RXinv.T @ RXinv)
    modes = intercept_modes(theta, pc, st, beta, sizes)
    message = "ok" if converged else f"scaled gradient {stop.scaled_gradient:.1e} at the stop"
    summary = OptSummary(
        engine="intercepts", method="L-BFGS-B, then Newton polish", criterion="REML" if reml else "ML",
        n_evals=n_evals, objective=pc.deviance, gradient=stop.gradient, scaled_gradient=stop.scaled_gradient,
        newton_decrement=stop.decrement, theta_start=start, theta=theta.copy(),
        restarts=[*restarts, f"Newton polish: {stop.iterations} iteration(s)"],
        tolerances={key: TOLERANCES[key] for key in ("grad_tol", "xtol_rel", "fd_step", "boundary_tol")},
        converged=converged, message=message,
    )
    return EngineFit(beta, vcov, float(sigma2), -0.5 * pc.deviance,
                     [np.array([[sigma2 * t * t]]) for t in theta], [m[:, None] for m in modes],
                     converged, message, theta=theta, optsummary=summary)
