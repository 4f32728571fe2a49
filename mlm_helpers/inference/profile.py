r"""Likelihood profiles, as lme4's ``profile()``: the intervals of ``confint(method="profile")``.

For each parameter :math:`\phi_i` in turn (each random-effect standard deviation and correlation
on lme4's ``sd_``/``cor_`` scale, then :math:`\sigma`, then each fixed effect), the ML deviance is
minimised over all the other parameters with :math:`\phi_i` held at a value :math:`v`, and

.. math:: \zeta(v) = \operatorname{sign}(v - \hat\phi_i)\sqrt{d_i(v) - d(\hat\phi)}

is the signed square root of the rise of the deviance. An interval end is where
:math:`\zeta(v) = \pm z_{(1+\text{level})/2}`: a root-finder (secant steps to a bracket, then
Brent's method) finds it, each inner minimisation warm-started from the nearest value already
done. A standard deviation whose :math:`\zeta` stays above :math:`-z` down to 0 gets the lower end
0 (the boundary); a correlation whose :math:`\zeta` does not reach :math:`\pm z` before
:math:`\pm 1` gets the end :math:`\pm 1`.

As lme4 (``devfun2`` calls ``refitML``), a REML fit is profiled through its ML refit: the
profile is of the likelihood, not of the REML criterion.

The deviance comes from the one profiled deviance (:mod:`mlm_helpers.model.deviance`): with
:math:`\sigma` held, :math:`d(\theta, \sigma) = \log|L_\theta|^2 + n\log(2\pi\sigma^2) +
r^2(\theta)/\sigma^2`. For a fixed effect :math:`\gamma_j` held at :math:`b`, the penalised
residual sum of squares is quadratic in :math:`\gamma`, so minimising over the other fixed effects
gives :math:`r^2(\theta) + (b - \hat\gamma_j(\theta))^2 / [(R_X R_X^\top)^{-1}]_{jj}` exactly:
the same number as refitting with :math:`\gamma_j x_j` moved into an offset (``general_setup(model,
X=X without x_j, y=y - b x_j)``; a test checks that), without rebuilding the design.

Examples
--------
>>> import mlm_helpers as mh
>>> res = mh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff"))
>>> profile_intervals(res).round(1).tolist()  # lme4: 12.2, 84.1; 38.2, 67.7; 1486.5, 1568.5
[[12.2, 84.1], [38.2, 67.7], [1486.5, 1568.5]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize, special

from .._threads import single_blas_thread
from ..errors import MLMInputError
from ..model._numerics import (
    LOG2PI,
    central_gradient,
    chol_batched,
    grad_hess_batched,
    relative_factor,
    stencil_batched,
)
from ..model.deviance import (
    deviance_pieces,
    general_pieces,
    general_setup,
    lower_bounds,
    sufficient_stats,
    theta_from_covs,
    theta_index,
)

if TYPE_CHECKING:
    from ..model.result import MixedResult

__all__ = ["profile_intervals", "MLPieces"]

#: Relative step of the central differences in the inner minimisations.
_FD_STEP = 1e-6
#: Relative step of the Newton steps' stencil (gradient and Hessian).
_NEWTON_STEP = 1e-4
#: How close (relative) the root-finder pins an interval end.
_XTOL = 1e-9


class MLPieces:
    """ML pieces at a batch of thetas: log|L|^2, r^2, the fixed effects and diag((R_X R_X')^-1).

    One grouping factor: one batched call of
    :func:`~mlm_helpers.model.deviance.deviance_pieces`; several: one call of
    :func:`~mlm_helpers.model.deviance.general_pieces` per theta (its contract only).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"), reml=False)
    >>> ldL2, r2, beta, vdiag = MLPieces(res.model)(res.theta[None])
    >>> beta.round(2).tolist()  # the ML estimates at the ML theta
    [[251.41, 10.47]]
    """

    def __init__(self, model) -> None:
        self.model = model
        self.n, self.p = model.X.shape
        self.one = len(model.blocks) <= 1
        if self.one:
            self.ss = sufficient_stats(model)
        else:
            self.setup = general_setup(model)
        self.lb = np.concatenate([lower_bounds(b.pattern) for b in model.blocks]) if model.blocks else np.zeros(0)

    def __call__(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        thetas = np.atleast_2d(np.asarray(thetas, float))
        K = len(thetas)
        if self.one:
            pc = deviance_pieces(thetas, self.ss, False)
            ok = np.isfinite(pc.deviance)
            RX = np.where(ok[:, None, None], pc.RX, np.eye(self.p)[None])
            RXinv = np.linalg.inv(RX)
            beta = np.einsum("kqp,kq->kp", RXinv, np.where(ok[:, None], pc.cbeta, 0.0))
            vdiag = np.einsum("kqp,kqp->kp", RXinv, RXinv)
            ldL2 = np.where(ok, pc.ldL2, np.inf)
            return ldL2, np.where(ok, pc.r2, np.nan), beta, vdiag
        ldL2, r2 = np.full(K, np.inf), np.full(K, np.nan)
        beta, vdiag = np.zeros((K, self.p)), np.ones((K, self.p))
        for k, t in enumerate(thetas):
            gp = general_pieces(self.setup, t, False)
            if gp is None:
                continue
            r2[k] = self.n * gp["sigma2"]
            ldL2[k] = gp["deviance"] - self.n * (1.0 + LOG2PI + np.log(gp["sigma2"]))
            beta[k] = gp["beta"]
            RXinv = np.linalg.inv(gp["RX"])
            vdiag[k] = np.sum(RXinv * RXinv, axis=0)
        return ldL2, r2, beta, vdiag


def _entries(model) -> list[tuple[int, int, int]]:
    """(block, i, j) of every sd (i == j) and correlation, in lme4's order (theta's order)."""
    out = []
    for k, b in enumerate(model.blocks):
        for i, j in zip(*theta_index(b.pattern), strict=True):
            out.append((k, int(i), int(j)))
    return out


def _thetas_of(model, entries, phis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """lme4's thetas from rows (sd and cor entries..., sigma), and where they are valid.

    Each block's relative factor is diag(sd) chol(R) / sigma with R the correlation matrix (so a
    standard deviation of 0 is allowed); where R has no Cholesky factor (a correlation of +-1, or
    correlations that no covariance matrix has) a semi-definite factor is tried, and the row is
    invalid if that does not reproduce the covariance matrix either.
    """
    phis = np.atleast_2d(phis)
    K = len(phis)
    sigma = phis[:, -1]
    ok = sigma > 0
    sig = np.where(ok, sigma, 1.0)
    out = []
    pos = 0
    for k, b in enumerate(model.blocks):
        idx = [(e, i, j) for e, (kk, i, j) in enumerate(entries) if kk == k]
        sd = np.zeros((K, b.q))
        R = np.broadcast_to(np.eye(b.q), (K, b.q, b.q)).copy()
        for e, i, j in idx:
            if i == j:
                sd[:, i] = phis[:, e]
            else:
                R[:, i, j] = R[:, j, i] = phis[:, e]
        C = chol_batched(R) if b.q > 1 else np.ones((K, 1, 1))
        L = sd[:, :, None] * C / sig[:, None, None]
        for r in np.flatnonzero(~np.isfinite(L).all(axis=(1, 2)) & ok):
            cov = sd[r, :, None] * R[r] * sd[r, None, :] / sig[r] ** 2
            Lr = relative_factor(cov, 1.0, b.pattern)
            ok[r] = np.allclose(Lr @ Lr.T, cov, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(cov).max())))
            L[r] = Lr
        rows, cols = theta_index(b.pattern)
        out.append(L[:, rows, cols])
        pos += len(idx)
    thetas = np.concatenate(out, axis=1) if out else np.zeros((K, 0))
    return np.where(ok[:, None], thetas, 0.0), ok


def _newton(fmany: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, lb: np.ndarray
            ) -> tuple[np.ndarray, float, bool]:
    """Projected Newton steps from a warm start: gradient and Hessian from one batched stencil per step.

    Coordinates on their lower bound stay there (and must have a non-negative one-sided slope at the
    end). Returns the point, its value and whether it converged (a Newton decrement below 1e-10);
    the caller falls back to L-BFGS-B otherwise.
    """
    x = np.asarray(x0, float).copy()
    for _ in range(30):
        free = np.flatnonzero(x > lb)
        xf = x[free]
        h = _NEWTON_STEP * np.maximum(1.0, np.abs(xf))
        room = xf - lb[free]
        if np.any(room < h):
            if np.any(room < 1e-3 * h):
                return x, np.inf, False
            h = np.minimum(h, room / 2)

        def sub(pts: np.ndarray, x: np.ndarray = x, free: np.ndarray = free) -> np.ndarray:
            full = np.repeat(x[None], len(pts), axis=0)
            full[:, free] = pts
            return fmany(full)

        k = len(free)
        pts, pairs = stencil_batched(xf[None], h[None], k, True)
        f = sub(pts[0])
        if not np.all(np.isfinite(f)):
            return x, np.inf, False
        if k == 0:
            return x, float(f[0]), True
        g, H = grad_hess_batched(f[None], h[None], k, pairs, True)
        try:
            C = np.linalg.cholesky(H[0])
        except np.linalg.LinAlgError:
            return x, np.inf, False
        step = np.linalg.solve(C.T, np.linalg.solve(C, g[0]))
        decrement = float(g[0] @ step)
        if decrement < 1e-10:
            at = np.flatnonzero(x <= lb)
            if len(at):  # on the boundary: every bound coordinate must point outwards
                hb = _NEWTON_STEP * np.maximum(1.0, np.abs(x[at]))
                trial = np.repeat(x[None], len(at), axis=0)
                trial[np.arange(len(at)), at] += hb
                if np.any(fmany(trial) < f[0] - 1e-10):
                    return x, np.inf, False
            return x, float(f[0]), True
        t = 1.0
        for _ in range(8):
            trial = x.copy()
            trial[free] = np.maximum(xf - t * step, lb[free])
            if float(fmany(trial[None])[0]) <= f[0] + 1e-12 * abs(f[0]):
                break
            t /= 2
        else:
            return x, np.inf, False
        x = trial
    return x, np.inf, False


def _minimise(fmany: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, lb: np.ndarray) -> tuple[np.ndarray, float]:
    """Newton from the warm start; L-BFGS-B with central-difference gradients (the shared pieces) if that fails."""
    if len(x0) == 0:
        return x0, float(fmany(x0[None])[0])
    x0 = np.maximum(x0, lb)
    x, f, ok = _newton(fmany, x0, lb)
    if ok:
        return x, f
    bounds = [(b if np.isfinite(b) else None, None) for b in lb]
    fg = lambda x: central_gradient(fmany, np.asarray(x, float), lb, _FD_STEP)  # noqa: E731
    best = optimize.minimize(fg, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                             options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 500})
    x, f = np.asarray(best.x, float), float(best.fun)
    x2, f2, ok = _newton(fmany, x, lb)
    return (x2, f2) if ok and f2 <= f else (x, f)


class _Zeta:
    """zeta(v), each inner minimisation warm-started from the nearest value already done (cached)."""

    def __init__(self, inner: Callable[[float, np.ndarray], tuple[np.ndarray, float]], x_hat: float,
                 start: np.ndarray, dev0: float) -> None:
        self.inner, self.x_hat, self.dev0 = inner, x_hat, dev0
        self.done: dict[float, tuple[float, np.ndarray]] = {x_hat: (0.0, np.asarray(start, float))}

    def __call__(self, v: float) -> float:
        v = float(v)
        if v not in self.done:
            near = min(self.done, key=lambda u: abs(u - v))
            w, d = self.inner(v, self.done[near][1])
            self.done[v] = (float(np.sign(v - self.x_hat) * np.sqrt(max(d - self.dev0, 0.0))), w)
        return self.done[v][0]


def _end(zeta: Callable[[float], float], x_hat: float, step: float, direction: int, target: float,
         limit: float | None) -> float:
    """Where zeta(x) = direction * target on one side of x_hat (``limit`` if zeta stays short of it)."""
    a, za = x_hat, 0.0
    x = x_hat + direction * step
    for _ in range(60):
        at_limit = limit is not None and direction * (x - limit) >= 0
        if at_limit:
            x = float(limit)  # type: ignore[arg-type]
        z = zeta(x)
        if direction * z >= target:
            lo, hi = sorted((a, x))
            return float(optimize.brentq(lambda v: zeta(v) - direction * target, lo, hi,
                                         xtol=_XTOL * max(1.0, abs(x)), rtol=1e-12))
        if at_limit:
            return float(x)
        slope = (z - za) / (x - a)
        if direction * slope > 0:
            new = x + (direction * target - z) / slope
            new = x + direction * min(max(direction * (new - x) * 1.05, 0.1 * abs(x - a)), 4 * abs(x - a))
        else:
            new = x + 2 * (x - a)
        a, za, x = x, z, new
    raise MLMInputError("The profile did not reach the interval's end (a flat likelihood); use "
                        "method='bootstrap'.")


@single_blas_thread
def profile_intervals(res: MixedResult, level: float = 0.95) -> np.ndarray:
    """Profile-likelihood intervals, one row (lower, upper) per parameter in ``confint``'s row order.

    Parameters
    ----------
    res : MixedResult
        A converged fit (a REML fit is profiled through its ML refit, as lme4).
    level : float
        Confidence level.

    Returns
    -------
    numpy.ndarray
        Shape (number of parameters, 2).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
    >>> profile_intervals(res).shape
    (4, 2)
    """
    if not res.converged:
        raise MLMInputError("No profile intervals for a fit that did not converge: fix the model (scaling, "
                            "random-effects structure) first, or use method='bootstrap'.")
    ml = res if not res.reml else res.refit(reml=False, warn=False, ddf="normal")
    if not ml.converged:
        raise MLMInputError("No profile intervals: the ML refit that lme4's profile uses did not converge; use "
                            "method='bootstrap'.")
    model = ml.model
    n = model.nobs
    pieces = MLPieces(model)
    entries = _entries(model)
    ne = len(entries)
    covs = [np.asarray(c, float) for c in ml._raw.covs]
    sigma_hat = float(np.sqrt(ml.sigma2))
    theta_hat = theta_from_covs(model, covs, ml.sigma2)
    phi_hat = np.empty(ne + 1)
    for e, (k, i, j) in enumerate(entries):
        c = covs[k]
        if i == j:
            phi_hat[e] = np.sqrt(max(c[i, i], 0.0))
        else:
            d = np.sqrt(c[i, i] * c[j, j])
            phi_hat[e] = c[i, j] / d if d > 0 else 0.0
    phi_hat[ne] = sigma_hat
    ldL2, r2, beta0, vdiag0 = pieces(theta_hat[None])
    dev0 = float(ldL2[0] + n * (1.0 + LOG2PI + np.log(r2[0] / n)))
    is_sd = np.array([i == j for _, i, j in entries] + [False])
    scale = np.where(is_sd, np.where(phi_hat > 0, phi_hat, sigma_hat), 1.0)
    target = float(special.ndtri(0.5 + level / 2))
    out = np.empty((ne + 1 + model.X.shape[1], 2))

    # -- the variance parameters, in working coordinates: sd / scale >= 0, atanh(cor), log(sigma)
    def to_phi(w: np.ndarray) -> np.ndarray:
        phi = np.where(is_sd, w * scale, np.tanh(w))
        phi[..., ne] = np.exp(w[..., ne])
        return phi

    def to_w(phi: np.ndarray) -> np.ndarray:
        w = np.where(is_sd, phi / scale, np.arctanh(np.clip(phi, -1 + 1e-12, 1 - 1e-12)))
        w[ne] = np.log(phi[ne])
        return w

    w_lb = np.where(is_sd, 0.0, -np.inf)
    w_hat = to_w(phi_hat)

    def dev_phi(phis: np.ndarray) -> np.ndarray:
        thetas, ok = _thetas_of(model, entries, phis)
        ldl, rr, _, _ = pieces(np.where(ok[:, None], thetas, theta_hat))
        s2 = np.where(ok, phis[:, ne] ** 2, 1.0)
        d = ldl + n * (LOG2PI + np.log(s2)) + rr / s2
        return np.where(ok & np.isfinite(d), d, np.inf)

    for e in range(ne + 1):
        others = np.flatnonzero(np.arange(ne + 1) != e)

        def inner_phi(v: float, start: np.ndarray, e: int = e, others: np.ndarray = others
                      ) -> tuple[np.ndarray, float]:
            def fmany(ws: np.ndarray) -> np.ndarray:
                full = np.repeat(w_hat[None], len(ws), axis=0)
                full[:, others] = ws
                phis = to_phi(full)
                phis[:, e] = v
                return dev_phi(phis)

            return _minimise(fmany, start, w_lb[others])

        zeta = _Zeta(inner_phi, float(phi_hat[e]), w_hat[others], dev0)
        limits: tuple[float | None, float | None]
        if is_sd[e]:
            step, limits = max(0.25 * phi_hat[e], 0.05 * sigma_hat), (0.0, None)
        elif e == ne:
            step, limits = sigma_hat / np.sqrt(2.0 * n), (None, None)
        else:
            step, limits = 0.25 * (1 - abs(phi_hat[e])) + 1e-3, (-1.0, 1.0)
        for side, direction in ((0, -1), (1, 1)):
            lim = limits[side]
            if lim is not None and direction * (phi_hat[e] - lim) >= 0:
                out[e, side] = lim  # the estimate is on the boundary
                continue
            out[e, side] = _end(zeta, float(phi_hat[e]), float(step), direction, target, lim)

    # -- the fixed effects: one held at b, the others profiled exactly, theta re-optimised
    lb = pieces.lb
    for j in range(model.X.shape[1]):
        def inner_b(b: float, start: np.ndarray, j: int = j) -> tuple[np.ndarray, float]:
            def fmany(ts: np.ndarray) -> np.ndarray:
                ldl, rr, bb, vd = pieces(ts)
                with np.errstate(invalid="ignore", divide="ignore"):
                    d = ldl + n * (1.0 + LOG2PI + np.log((rr + (b - bb[:, j]) ** 2 / vd[:, j]) / n))
                return np.where(np.isfinite(d), d, np.inf)

            return _minimise(fmany, start, lb)

        zeta_b = _Zeta(inner_b, float(beta0[0, j]), theta_hat, dev0)
        se = sigma_hat * np.sqrt(vdiag0[0, j])
        for side, direction in ((0, -1), (1, 1)):
            out[ne + 1 + j, side] = _end(zeta_b, float(beta0[0, j]), float(se), direction, target, None)
    return out
