"""The fast engine: minimise the profiled deviance of :mod:`mlm_helpers.model.deviance`.

It fits every model the formula language accepts. With at most one grouping factor it works on
per-group sufficient statistics (:class:`~mlm_helpers.model.deviance.SuffStats`); with several
(crossed or nested, any random terms) on the blocked Cholesky factor of
:func:`~mlm_helpers.model.deviance.general_pieces` (:func:`fit_general`). The search runs in stages, each recorded in the result's :class:`OptSummary`: a bounded 1-D search (one
covariance parameter) or L-BFGS-B (several), restarts where a standard deviation stopped at 0,
then a Newton polish that stops when a step moves theta by less than ``xtol_rel``. The fit counts
as converged when lme4's scaled gradient is below ``grad_tol``
(:data:`mlm_helpers.model.optsummary.TOLERANCES`).

Examples
--------
>>> import mlm_helpers as mh
>>> from mlm_helpers.model.frame import build_model
>>> from mlm_helpers.model.deviance import sufficient_stats
>>> m = build_model("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
>>> ff = fit_fast(sufficient_stats(m))
>>> round(-ff.deviance / 2, 2), ff.optsummary.converged
(-871.81, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..._threads import single_blas_thread
from ...errors import MLMInputError
from .._numerics import (
    THETA_GRID,
    Stop,
    chol_batched,
    forward_batched,
    golden_section,
    grad_hess_batched,
    minimise_theta,
    newton_polish,
    stencil_batched,
    stop_converged,
    stop_message,
)
from ..deviance import (
    GeneralSetup,
    SuffStats,
    conditional_modes,
    deviance_many,
    deviance_pieces,
    general_pieces,
    general_setup,
    lower_bounds,
    profiled_deviance,
    response_parts,
    sufficient_stats,
    theta_index,
    theta_to_lambda,
)
from ..frame import ModelFrame
from ..optsummary import TOLERANCES, OptSummary
from . import EngineFit

__all__ = ["FastFit", "GeneralFit", "fit_fast", "fit_fast_many", "estimates_many", "fit_general", "fit_model",
           "refit_model"]


@dataclass
class FastFit:
    """Raw output of :func:`fit_fast` (the result object wraps it)."""

    theta: np.ndarray
    deviance: float
    beta: np.ndarray
    vcov_beta: np.ndarray
    sigma2: float
    lam: np.ndarray
    ranef: np.ndarray  # (J, q) conditional modes b_j
    converged: bool
    message: str
    n_evals: int
    reml: bool
    optsummary: OptSummary | None = None


def _minimise_1d(f, fmany, upper_start: float = 1e3) -> tuple[float, float, int]:
    grid = np.concatenate([[0.0], np.logspace(-3, np.log10(upper_start), 25)])
    vals = fmany(grid[:, None])
    evals = len(grid)
    k = int(np.argmin(vals))
    while k == len(grid) - 1 and grid[-1] < 1e8:  # optimum beyond the grid: extend upwards
        more = grid[-1] * np.logspace(0.5, 2, 4)
        grid = np.concatenate([grid, more])
        vals = np.concatenate([vals, fmany(more[:, None])])
        evals += len(more)
        k = int(np.argmin(vals))
    lo = grid[max(k - 1, 0)]
    hi = grid[min(k + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-9 * max(1.0, hi), "maxiter": 500})
    evals += int(res.nfev)
    best_t, best_v = float(res.x), float(res.fun)
    if vals[k] < best_v:
        best_t, best_v = float(grid[k]), float(vals[k])
    if vals[0] <= best_v + TOLERANCES["boundary_tol"]:  # the boundary theta = 0 is the optimum (singular fit)
        best_t, best_v = 0.0, float(vals[0])
    return best_t, best_v, evals


@single_blas_thread
def fit_fast(ss: SuffStats, reml: bool = True, theta0: np.ndarray | None = None) -> FastFit:
    """Minimise the profiled deviance and return estimates at the optimum.

    The search runs in stages, each recorded in the result's :class:`OptSummary`: a bounded
    1-D search (one parameter) or L-BFGS-B (several), restarts where a standard deviation stopped
    at 0, then a Newton polish that stops when a step moves theta by less than 1e-8 (relative).
    The fit counts as converged when lme4's scaled gradient is below 0.002 (see
    :data:`mlm_helpers.model.optsummary.TOLERANCES`).

    Parameters
    ----------
    ss : SuffStats
        From :func:`sufficient_stats`.
    reml : bool
        REML (default) or ML.
    theta0 : array, optional
        Starting value (default: identity factor, as lme4).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> m = build_model("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> ff = fit_fast(sufficient_stats(m))
    >>> round(-ff.deviance / 2, 2)
    -871.81
    >>> ff.optsummary.converged
    True
    """
    n_evals = 0

    def f(t):
        nonlocal n_evals
        n_evals += 1
        return profiled_deviance(np.atleast_1d(t), ss, reml)

    def fmany(ts):
        nonlocal n_evals
        n_evals += len(ts)
        return deviance_many(ts, ss, reml)

    tol = TOLERANCES
    nt = ss.n_theta
    lb = lower_bounds(ss.pattern)
    rows, cols = theta_index(ss.pattern)
    diag = rows == cols
    restarts: list[str] = []
    if nt == 0:
        method = "none (no covariance parameters)"
        start = theta = np.zeros(0)
        stop = Stop(0.0, 0.0, 0.0, 0)
    elif nt == 1:
        method = "bounded 1-D search, then Newton polish"
        start = np.ones(1)
        t, _, _ = _minimise_1d(lambda t: f(np.array([t])), fmany)
        theta, stop = newton_polish(fmany, np.array([t]), lb)
    else:
        method = "L-BFGS-B, then Newton polish"
        start = np.where(diag, 1.0, 0.0) if theta0 is None else np.asarray(theta0, float)
        theta, stop = minimise_theta(f, fmany, lb, diag, cols, start, restarts,
                                     fallback_scales=(1.0, 0.3, 3.0) if theta0 is not None else (0.3, 3.0))
    converged = stop_converged(stop)
    message = stop_message(stop)
    pieces = deviance_pieces(theta, ss, reml)
    if not np.isfinite(pieces.deviance):  # pragma: no cover - only for pathological data
        from ...errors import FitFailedError

        raise FitFailedError("The deviance is not defined at the optimum: the fixed-effects design is singular.")
    RXinv = np.linalg.inv(pieces.RX)
    beta = RXinv.T @ pieces.cbeta
    dof = ss.n - ss.p if reml else ss.n
    sigma2 = float(pieces.r2) / dof
    vcov = sigma2 * (RXinv.T @ RXinv)
    lam = theta_to_lambda(theta, ss.pattern) if ss.q else np.zeros((0, 0))
    b = conditional_modes(pieces, ss, beta) if ss.q else np.zeros((len(ss.counts), 0))
    summary = OptSummary(
        engine="fast", method=method, criterion="REML" if reml else "ML", n_evals=n_evals,
        objective=float(pieces.deviance), gradient=stop.gradient, scaled_gradient=stop.scaled_gradient,
        newton_decrement=stop.decrement, theta_start=np.asarray(start, float), theta=theta.copy(),
        restarts=restarts + ([f"Newton polish: {stop.iterations} iteration(s)"] if nt else []),
        tolerances={k: tol[k] for k in ("grad_tol", "xtol_rel", "fd_step", "boundary_tol")},
        converged=bool(converged), message=message,
    )
    return FastFit(theta, float(pieces.deviance), beta, vcov, float(sigma2), lam, b, bool(converged), message, n_evals,
                   reml, summary)


def _engine_fit(ff: FastFit, ss: SuffStats, n_factors: int) -> EngineFit:
    covs = [ff.sigma2 * ff.lam @ ff.lam.T] if n_factors else []
    ranef = [ff.ranef] if n_factors else []
    return EngineFit(ff.beta, ff.vcov_beta, ff.sigma2, -0.5 * ff.deviance, covs, ranef, ff.converged, ff.message,
                     theta=ff.theta, optsummary=ff.optsummary, state=ss)


def _fit_fast_rescaled(ss: SuffStats, *, reml: bool, theta0: np.ndarray | None = None) -> FastFit:
    """The fast engine, with random-effect columns on a very different scale from 1 rescaled internally.

    With ``Z' = Z S^-1`` (S diagonal, each column's root mean square) the model is the same with
    ``Lambda = S^-1 Lambda'``: the optimiser works where theta is of order 1, and the estimates
    are reported on the user's scale. Columns already within [1e-3, 1e3] are left alone, so the
    numbers of ordinary fits do not change.
    """
    import dataclasses

    from ..frame import BAD_SCALE

    if ss.q == 0:
        return fit_fast(ss, reml=reml)
    ztz_diag = np.einsum("jkk->k", ss.ZtZ)
    rms = np.sqrt(ztz_diag / ss.n)
    bad = (rms > 0) & ((rms > BAD_SCALE) | (rms < 1.0 / BAD_SCALE))
    if not bad.any():
        return fit_fast(ss, reml=reml, theta0=theta0)
    scale = np.where(bad, rms, 1.0)
    inv = 1.0 / scale
    scaled = dataclasses.replace(ss, ZtZ=ss.ZtZ * inv[None, :, None] * inv[None, None, :],
                                 ZtX=ss.ZtX * inv[None, :, None], Zty=ss.Zty * inv[None, :])
    if theta0 is not None:  # the start on the internal scale: Lambda' = S Lambda
        r0, c0 = theta_index(ss.pattern)
        theta0 = (scale[:, None] * theta_to_lambda(theta0, ss.pattern))[r0, c0]
    ff = fit_fast(scaled, reml=reml, theta0=theta0)
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


@dataclass
class GeneralFit:
    """Estimates at the optimum of :func:`~mlm_helpers.model.deviance.general_pieces` (several factors)."""

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
    setup: GeneralSetup


@single_blas_thread
def fit_general(model: ModelFrame, reml: bool = True, theta0: np.ndarray | None = None,
                setup: GeneralSetup | None = None) -> GeneralFit:
    """Minimise the profiled deviance of a model with any number of grouping factors.

    The deviance comes from the blocked Cholesky factor of
    :func:`~mlm_helpers.model.deviance.general_pieces`; the search is the one every fit shares
    (:func:`~mlm_helpers.model._numerics.minimise_theta`: L-BFGS-B, restarts, Newton polish).

    Parameters
    ----------
    model : ModelFrame
    reml : bool
    theta0 : array, optional
        Starting point (default: lme4's, 1 on the diagonals and 0 elsewhere), factors in the
        order of ``model.blocks``.
    setup : GeneralSetup, optional
        The model's theta-free pieces, when already computed (a refit to a new response).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> m = build_model("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"),
    ...                 warn_few_groups=False)
    >>> round(-fit_general(m).deviance / 2, 3)  # lme4: -165.430
    -165.43
    """
    setup = general_setup(model) if setup is None else setup
    n_evals = 0

    def fmany(ts: np.ndarray) -> np.ndarray:
        nonlocal n_evals
        ts = np.atleast_2d(ts)
        n_evals += len(ts)
        out = np.empty(len(ts))
        for k, t in enumerate(ts):
            pc = general_pieces(setup, t, reml, modes=False)
            out[k] = np.inf if pc is None else pc["deviance"]
        return out

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
        from ...errors import FitFailedError

        raise FitFailedError("The deviance is not defined at the optimum: the fixed-effects design is singular.")
    RXinv = np.linalg.inv(pc["RX"])
    covs, ranef, k, pos = [], [], 0, 0
    for pat, J in zip(setup.patterns, setup.n_levels, strict=True):
        m = int(pat.sum())
        q = pat.shape[0]
        lam = theta_to_lambda(theta[k : k + m], pat)
        k += m
        covs.append(pc["sigma2"] * lam @ lam.T)
        ranef.append(np.asarray(pc["b"][pos : pos + J * q]).reshape(J, q))
        pos += J * q
    converged = stop_converged(stop)
    message = stop_message(stop)
    summary = OptSummary(
        engine="fast", method=f"L-BFGS-B, then Newton polish (blocked Cholesky, {setup.mode} later block)",
        criterion="REML" if reml else "ML", n_evals=n_evals, objective=float(pc["deviance"]),
        gradient=stop.gradient, scaled_gradient=stop.scaled_gradient, newton_decrement=stop.decrement,
        theta_start=start, theta=theta.copy(), restarts=[*restarts, f"Newton polish: {stop.iterations} iteration(s)"],
        tolerances={key: TOLERANCES[key] for key in ("grad_tol", "xtol_rel", "fd_step", "boundary_tol")},
        converged=converged, message=message,
    )
    return GeneralFit(theta, float(pc["deviance"]), pc["beta"], pc["sigma2"] * (RXinv.T @ RXinv),
                      float(pc["sigma2"]), covs, ranef, n_evals, stop.scaled_gradient, stop.gradient, summary, setup)


def _general_engine_fit(gf: GeneralFit) -> EngineFit:
    s = gf.optsummary
    return EngineFit(gf.beta, gf.vcov_beta, gf.sigma2, -0.5 * gf.deviance, gf.covs, gf.ranef, s.converged,
                     s.message, theta=gf.theta, optsummary=s, state=gf.setup)


def fit_model(model: ModelFrame, reml: bool) -> EngineFit:
    """The engine contract: fit a checked model (sufficient statistics for one factor, else blocked).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> fit_model(build_model("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy")), True).converged
    True
    """
    if len(model.blocks) > 1:
        return _general_engine_fit(fit_general(model, reml=bool(reml)))
    ss = sufficient_stats(model)
    return _engine_fit(_fit_fast_rescaled(ss, reml=bool(reml)), ss, len(model.blocks))


def refit_model(model: ModelFrame, state: SuffStats | GeneralSetup, y: np.ndarray, reml: bool,
                theta0: np.ndarray | None = None) -> EngineFit:
    """Refit to a new response ``y`` (rows as in ``model``), reusing the design's theta-free pieces.

    ``theta0`` starts the search there (a warm start from the original fit's theta, as in a
    parametric bootstrap); by default the search starts where a fresh fit does.
    """
    if isinstance(state, GeneralSetup):
        return _general_engine_fit(fit_general(model, reml=bool(reml), setup=state.with_response(y), theta0=theta0))
    ss = state.with_response(*response_parts(model, y))
    return _engine_fit(_fit_fast_rescaled(ss, reml=bool(reml), theta0=theta0), ss, len(model.blocks))


def _response(ss: SuffStats, r: int) -> SuffStats:
    """The statistics of response r of a batch."""
    return ss.with_response(ss.Zty[r], ss.Xty[r], np.asarray(ss.yty)[r])


def _fit_many_newton(ss: SuffStats, reml: bool, theta0: np.ndarray) -> dict[str, np.ndarray]:
    """Several covariance parameters, a batch of R responses: Newton steps for all at once.

    Every response starts from ``theta0`` (the fit the responses were simulated from: a warm start);
    each step takes the gradient and Hessian of every response's deviance from one batched
    stencil (one call of :func:`~mlm_helpers.model.deviance.deviance_pieces` for all of them), and
    stops when a step moves theta by less than ``xtol_rel``, as :func:`fit_fast`'s polish. A
    response whose Newton steps meet the boundary, a Hessian that is not positive definite, or no
    stop in 30 steps is fitted on its own by :func:`fit_fast` (the full search).
    """
    tol = TOLERANCES
    k = ss.n_theta
    R = int(np.shape(ss.yty)[0])
    lb = lower_bounds(ss.pattern)
    theta = np.repeat(np.asarray(theta0, float)[None], R, axis=0)
    # one more batch axis (the stencil's points) on the y-parts
    ssb = ss.with_response(ss.Zty[:, None], ss.Xty[:, None], np.asarray(ss.yty)[:, None])

    def dev(pts: np.ndarray) -> np.ndarray:  # (R, P, k) -> (R, P)
        return deviance_pieces(pts, ssb, reml).deviance

    todo = np.ones(R, bool)  # still stepping
    failed = np.zeros(R, bool)  # needs the full search
    scaled = np.full(R, np.inf)
    for _ in range(30):
        idx = np.flatnonzero(todo)
        if not len(idx):
            break
        th = theta[idx]
        h = tol["fd_step"] * np.maximum(1.0, np.abs(th))
        near = np.any((th - h < lb) & np.isfinite(lb), axis=1)
        pts, pairs = stencil_batched(th, h, k, True)
        sub = ssb.with_response(ssb.Zty[idx], ssb.Xty[idx], np.asarray(ssb.yty)[idx])
        f = deviance_pieces(pts, sub, reml).deviance
        g, H = grad_hess_batched(f, h, k, pairs, True)
        C = chol_batched(H)
        bad = near | ~np.all(np.isfinite(C), axis=(1, 2)) | ~np.all(np.isfinite(f), axis=1)
        Cs = np.where(bad[:, None, None], np.eye(k)[None], C)
        z = forward_batched(Cs, g[..., None])  # C^-1 g
        step = np.linalg.solve(np.swapaxes(Cs, 1, 2), z)[..., 0]
        scaled[idx] = np.max(np.abs(z[..., 0]), axis=1)
        small = np.max(np.abs(step), axis=1) <= tol["xtol_rel"] * np.maximum(1.0, np.max(np.abs(th), axis=1))
        failed[idx[bad]] = True
        todo[idx[bad | small]] = False
        go = ~bad & ~small
        t = np.ones(len(idx))
        accepted = np.zeros(len(idx), bool)
        for _ in range(8):
            trial = th - t[:, None] * step
            ok = go & ~accepted & np.all(trial >= lb, axis=1)
            ft = deviance_pieces(trial[:, None], sub, reml).deviance[:, 0]
            ok &= ft <= f[:, 0] + 1e-12 * np.maximum(1.0, np.abs(f[:, 0]))
            theta[idx[ok]] = trial[ok]
            accepted |= ok
            t = np.where(accepted, t, t / 2)
            if np.all(accepted | ~go):
                break
        lost = go & ~accepted
        failed[idx[lost]] = True
        todo[idx[lost]] = False
    failed |= todo
    converged = np.nan_to_num(scaled, nan=np.inf) < tol["grad_tol"]
    for r in np.flatnonzero(failed):
        ff = fit_fast(_response(ss, int(r)), reml=reml)
        theta[r] = ff.theta
        converged[r] = ff.converged
    out = estimates_many(theta, ss, reml)
    out["converged"] = converged
    return out


def fit_fast_many(ss: SuffStats, reml: bool = True, theta0: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Fit a model with one grouping factor to a batch of responses at once.

    With several covariance parameters (random slopes), the batched Newton steps of
    :func:`_fit_many_newton` from ``theta0`` (required then: the fit the responses come from).
    The rest of this docstring is about one covariance parameter (a random intercept).

    ``ss`` holds one design and R responses (y-parts with a leading axis of length R, as from
    ``SuffStats.with_response``). The search is :func:`fit_fast`'s for one parameter, run for all
    responses together: the grid :data:`~mlm_helpers.model._numerics.THETA_GRID`, golden-section
    search in the best bracket, the boundary 0 where it is no worse, then Newton steps until a step
    moves theta by less than ``xtol_rel``. Convergence is judged as in :func:`fit_fast`.

    Returns
    -------
    dict of numpy.ndarray
        ``theta``, ``deviance``, ``beta`` (R, p), ``se`` (R, p), ``sigma2``, ``tau`` (the variance
        of the random effect, ``sigma2 * theta**2``; one covariance parameter only), ``covs``
        (R, q, q) and ``converged``.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> from mlm_helpers.model.deviance import response_parts, sufficient_stats
    >>> m = build_model("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
    >>> ss = sufficient_stats(m)
    >>> many = fit_fast_many(ss.with_response(*response_parts(m, np.stack([m.y, m.y]))))
    >>> bool(np.allclose(many["theta"], fit_fast(ss).theta[0], rtol=1e-7))
    True
    >>> m2 = build_model("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> ss2 = sufficient_stats(m2)
    >>> one = fit_fast(ss2)
    >>> many = fit_fast_many(ss2.with_response(*response_parts(m2, np.stack([m2.y, m2.y]))), theta0=one.theta)
    >>> bool(np.allclose(many["theta"], one.theta, rtol=1e-6)), many["converged"].tolist()
    (True, [True, True])
    """
    tol = TOLERANCES
    if ss.n_theta != 1:
        if theta0 is None or len(theta0) != ss.n_theta:
            raise MLMInputError("fit_fast_many needs theta0 (a start with one entry per covariance parameter) for "
                                "a model with several covariance parameters.")
        return _fit_many_newton(ss, reml, np.asarray(theta0, float))
    R = int(np.shape(ss.yty)[0]) if np.ndim(ss.yty) else 1

    def dev(t: np.ndarray) -> np.ndarray:
        return deviance_pieces(np.asarray(t, float)[..., None], ss, reml).deviance

    grid = THETA_GRID
    vals = dev(np.repeat(grid[:, None], R, axis=1))  # (K, R)
    k = np.argmin(vals, axis=0)
    lo = grid[np.maximum(k - 1, 0)]
    hi = np.where(k == len(grid) - 1, grid[-1] * 100.0, grid[np.minimum(k + 1, len(grid) - 1)])
    theta = golden_section(dev, lo, hi)
    best = dev(theta)
    grid_best = vals[k, np.arange(R)]
    theta = np.where(grid_best < best, grid[k], theta)
    best = np.minimum(best, grid_best)
    theta = np.where(vals[0] <= best + tol["boundary_tol"], 0.0, theta)
    g = np.zeros(R)
    H = np.ones(R)
    for _ in range(20):  # batched Newton polish on the interior optima
        h = tol["fd_step"] * np.maximum(1.0, theta)
        inside = theta > 2 * h
        tm = np.where(inside, theta - h, theta)
        f0, fp, fm = dev(np.stack([theta, theta + h, tm]))
        g = np.where(inside, (fp - fm) / (2 * h), (fp - f0) / h)
        H = np.where(inside, (fp - 2 * f0 + fm) / (h * h), np.inf)
        step = np.where(inside & (H > 0), g / np.where(H > 0, H, 1.0), 0.0)
        if np.all(np.abs(step) <= tol["xtol_rel"] * np.maximum(1.0, theta)):
            break
        trial = np.maximum(theta - step, 0.0)
        ok = dev(trial) <= f0 + 1e-12 * np.maximum(1.0, np.abs(f0))
        theta = np.where(ok, trial, theta)
        if not ok.any():
            break
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(theta > 0, np.abs(g) / np.sqrt(np.where(H > 0, H, np.nan)), np.where(g >= 0, 0.0, np.inf))
    out = estimates_many(theta, ss, reml)
    out["converged"] = np.nan_to_num(scaled, nan=np.inf) < tol["grad_tol"]
    return out


def estimates_many(theta: np.ndarray, ss: SuffStats, reml: bool = True) -> dict[str, np.ndarray]:
    """Estimates at given thetas, one per response of a batch of R responses.

    ``theta`` is (R,) for a model with one covariance parameter, (R, n_theta) otherwise. Returns
    ``theta``, ``deviance``, ``beta`` (R, p), ``se`` (R, p), ``sigma2``, ``tau`` (the variance of a
    random intercept, ``sigma2 * theta**2``, for one parameter) and ``covs`` (R, q, q: the
    covariance matrices of the random effects, ``sigma2 * Lambda Lambda'``).
    """
    theta = np.asarray(theta, dtype=float)
    th = theta[:, None] if theta.ndim == 1 else theta
    pieces = deviance_pieces(th, ss, reml)
    RXinv = np.linalg.inv(pieces.RX)
    beta = np.einsum("rqp,rq->rp", RXinv, pieces.cbeta)
    sigma2 = pieces.r2 / (ss.n - ss.p if reml else ss.n)
    vcov = sigma2[:, None, None] * np.swapaxes(RXinv, 1, 2) @ RXinv
    se = np.sqrt(np.diagonal(vcov, axis1=1, axis2=2))
    lam = theta_to_lambda(th, ss.pattern)
    out = {"theta": theta, "deviance": pieces.deviance, "beta": beta, "se": se, "sigma2": sigma2,
           "covs": sigma2[:, None, None] * lam @ np.swapaxes(lam, 1, 2)}
    if th.shape[1] == 1:
        out["tau"] = sigma2 * th[:, 0] ** 2
    return out
