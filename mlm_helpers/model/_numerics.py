"""Small numerics shared by every fitter: batched small Cholesky factors, triangular solves,
finite-difference derivatives and a batched golden-section search.

Each piece is written once here; the engines, the simulation studies and the chapter companions
call these functions rather than their own copies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .optsummary import TOLERANCES

__all__ = ["LOG2PI", "GOLDEN", "chol_batched", "forward_batched", "central_gradient", "central_hessian",
           "golden_section", "THETA_GRID", "Stop", "newton_polish", "convergence_measures",
           "stop_converged", "stencil_batched", "grad_hess_batched", "derivatives",
           "relative_factor", "minimise_theta"]

LOG2PI = float(np.log(2 * np.pi))
GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0

#: The grid over a relative standard deviation theta that every one-parameter search starts from:
#: the boundary 0, then 49 log-spaced points from 0.001 to 1000.
THETA_GRID = np.concatenate([[0.0], np.logspace(-3, 3, 49)])


def chol_batched(M: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of a stack of small symmetric matrices (..., k, k).

    Where a matrix is not positive definite its factor holds NaN (no exception), so that a batch
    of deviance evaluations can mark those points as undefined.

    Examples
    --------
    >>> L = chol_batched(np.array([[[4.0, 2.0], [2.0, 5.0]], [[1.0, 2.0], [2.0, 1.0]]]))
    >>> L[0].tolist(), bool(np.isnan(L[1, 1, 1]))
    ([[2.0, 0.0], [1.0, 2.0]], True)
    """
    M = np.asarray(M, dtype=float)
    k = M.shape[-1]
    if k > 8:
        try:
            return np.linalg.cholesky(M)
        except np.linalg.LinAlgError:
            pass  # some are not positive definite: the loop below marks them with NaN
    L = np.zeros_like(M)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(k):
            s = M[..., j, j] - (L[..., j, :j] ** 2).sum(-1)
            L[..., j, j] = np.sqrt(np.where(s > 0, s, np.nan))
            for i in range(j + 1, k):
                L[..., i, j] = (M[..., i, j] - (L[..., i, :j] * L[..., j, :j]).sum(-1)) / L[..., j, j]
    return L


def forward_batched(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``L X = B`` for stacks of small lower-triangular ``L`` (..., k, k) and ``B`` (..., k, m).

    Examples
    --------
    >>> forward_batched(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([[2.0], [3.0]])).ravel().tolist()
    [1.0, 2.0]
    """
    k = L.shape[-1]
    shape = np.broadcast_shapes(L.shape[:-2], B.shape[:-2]) + B.shape[-2:]
    X = np.empty(shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in range(k):
            acc = np.array(np.broadcast_to(B[..., i, :], shape[:-2] + shape[-1:]))
            for j in range(i):
                acc -= L[..., i, j, None] * X[..., j, :]
            X[..., i, :] = acc / L[..., i, i, None]
    return X


def central_gradient(fmany: Callable[[np.ndarray], np.ndarray], x: np.ndarray, lower: np.ndarray,
                     rel_step: float) -> tuple[float, np.ndarray]:
    """Value and central-difference gradient at ``x`` from one batched call of ``fmany``.

    ``fmany`` takes points as rows (K, k) and returns K values. A coordinate whose lower point
    would cross its bound uses the bound itself (a one-sided difference there).

    Examples
    --------
    >>> f = lambda pts: (pts ** 2).sum(axis=1)
    >>> v, g = central_gradient(f, np.array([1.0, 2.0]), np.array([-np.inf, -np.inf]), 1e-4)
    >>> round(v, 6), np.round(g, 6).tolist()
    (5.0, [2.0, 4.0])
    """
    k = len(x)
    h = rel_step * np.maximum(1.0, np.abs(x))
    pts = np.repeat(x[None], 2 * k + 1, axis=0)
    idx = np.arange(k)
    pts[1 + idx, idx] += h
    pts[1 + k + idx, idx] = np.maximum(x - h, np.where(np.isfinite(lower), lower, -np.inf))
    v = fmany(pts)
    g = (v[1 : k + 1] - v[k + 1 :]) / (pts[1 + idx, idx] - pts[1 + k + idx, idx])
    return float(v[0]), g


def central_hessian(fmany: Callable[[np.ndarray], np.ndarray], x: np.ndarray, free: np.ndarray,
                    rel_step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian over the ``free`` coordinates, from one batched call.

    Examples
    --------
    >>> f = lambda pts: pts[:, 0] ** 2 + 3 * pts[:, 0] * pts[:, 1]
    >>> np.round(central_hessian(f, np.array([1.0, 1.0]), np.array([True, True])), 6).tolist()
    [[2.0, 3.0], [3.0, 0.0]]
    """
    idx = np.flatnonzero(free)
    k = len(idx)
    h = rel_step * np.maximum(1.0, np.abs(x[idx]))
    pts = [x.copy()]
    pairs = []
    for a in range(k):
        for b in range(a, k):
            for sa, sb in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                p = x.copy()
                p[idx[a]] += sa * h[a]
                p[idx[b]] += sb * h[b]
                pts.append(p)
            pairs.append((a, b))
    v = fmany(np.array(pts))
    H = np.empty((k, k))
    for n, (a, b) in enumerate(pairs):
        pp, pm, mp, mm = v[1 + 4 * n : 5 + 4 * n]
        H[a, b] = H[b, a] = (pp - pm - mp + mm) / (4 * h[a] * h[b])
    return H


def golden_section(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray,
                   iterations: int = 60) -> np.ndarray:
    """Minimise many one-dimensional functions at once, each on its own bracket ``[lo, hi]``.

    ``f`` maps an array of points (one per problem) to their values. 60 iterations shrink each
    bracket by a factor of about 3e-13.

    Examples
    --------
    >>> golden_section(lambda t: (t - np.array([0.3, 2.0])) ** 2, np.zeros(2), np.full(2, 5.0)).round(6).tolist()
    [0.3, 2.0]
    """
    a, b = np.array(lo, dtype=float), np.array(hi, dtype=float)
    c = b - GOLDEN * (b - a)
    d = a + GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iterations):
        left = fc < fd
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        new_c = b - GOLDEN * (b - a)
        new_d = a + GOLDEN * (b - a)
        c, d = np.where(left, new_c, d), np.where(left, c, new_d)
        f_new = f(np.where(left, c, d))
        fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
    return (a + b) / 2


@dataclass
class Stop:
    """The state of the fit at the stop: what the convergence check reports."""

    gradient: float
    scaled_gradient: float
    decrement: float
    iterations: int
    deviance: float = float("nan")


def derivatives(fmany: Callable[[np.ndarray], np.ndarray], x: np.ndarray, lb: np.ndarray,
                rel_step: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Value, central-difference gradient and Hessian at ``x`` from one batched call of ``fmany``.

    The points are those of :func:`stencil_batched` (``full=False``): the centre, ``x +- h e_a``
    and ``x + h e_a + h e_c`` for each pair, 1 + 2k + k(k-1)/2 evaluations in all (6 for two
    parameters, where a gradient and a 4-point-per-pair Hessian take 18). The gradient is
    :func:`central_gradient`'s: a coordinate whose lower point would cross its bound uses the bound
    itself. The Hessian uses the points beyond a bound as they are (the profiled deviance is
    defined there: it is even in the sign of each column of Lambda).

    Examples
    --------
    >>> f = lambda pts: pts[:, 0] ** 2 + 3 * pts[:, 0] * pts[:, 1]
    >>> v, g, H = derivatives(f, np.array([1.0, 1.0]), np.full(2, -np.inf), 1e-4)
    >>> round(v, 6), np.round(g, 6).tolist(), np.round(H, 4).tolist()
    (4.0, [5.0, 3.0], [[2.0, 3.0], [3.0, 0.0]])
    """
    x = np.asarray(x, dtype=float)
    k = len(x)
    h = rel_step * np.maximum(1.0, np.abs(x))
    pts, pairs = stencil_batched(x[None], h[None], k, full=False)
    low = np.flatnonzero(x - h < lb)  # lower points that cross a bound: the gradient uses the bound
    clipped = np.repeat(x[None], len(low), axis=0)
    clipped[np.arange(len(low)), low] = lb[low]
    v = fmany(np.concatenate([pts[0], clipped]))
    f = v[None, : pts.shape[1]]
    g, H = grad_hess_batched(f, h[None], k, pairs, full=False)
    g = g[0]
    if len(low):
        fp = f[0, 1 + 2 * low]
        g[low] = (fp - v[pts.shape[1]:]) / (h[low] + x[low] - lb[low])
    return float(f[0, 0]), g, H[0]


def newton_polish(fmany, x: np.ndarray, lb: np.ndarray) -> tuple[np.ndarray, Stop]:
    """Newton steps on the free parameters until a step moves theta by less than ``xtol_rel``.

    Gradients are central differences with a relative step ``fd_step`` (accurate to about 1e-8 of
    the curvature, so theta is pinned down far below the flatness of the deviance, which only
    fixes theta to about the square root of the rounding error); value, gradient and Hessian come
    from one stencil (:func:`derivatives`). A step is kept when the deviance does not rise beyond
    rounding; otherwise it is halved. The returned stop record holds the projected gradient,
    lme4's scaled gradient and the Newton decrement at the final point (from the final stencil's
    Hessian), and the deviance there.
    """
    tol = TOLERANCES
    x = np.array(x, dtype=float)
    dev, g, Hall = derivatives(fmany, x, lb, tol["fd_step"])
    noise = 1e-12 * max(1.0, abs(dev))
    it = 0
    for it in range(1, 31):  # noqa: B007 - the count is reported
        free = ~((x <= lb + 1e-12) & (g > 0))
        if not free.any():
            break
        try:
            C = np.linalg.cholesky(Hall[np.ix_(free, free)])
        except np.linalg.LinAlgError:
            # The stencil's Hessian (one-sided cross differences) is not positive definite: try
            # the 4-point central one before giving up.
            Hall = _full_hessian(fmany, x, free)
            try:
                C = np.linalg.cholesky(Hall[np.ix_(free, free)])
            except np.linalg.LinAlgError:
                break
        step = np.linalg.solve(C.T, np.linalg.solve(C, g[free]))
        if np.max(np.abs(step)) <= tol["xtol_rel"] * max(1.0, float(np.max(np.abs(x[free])))):
            break
        t = 1.0
        for _ in range(12):
            trial = x.copy()
            trial[free] -= t * step
            trial = np.maximum(trial, lb)
            dev_t, g_t, H_t = derivatives(fmany, trial, lb, tol["fd_step"])
            if dev_t <= dev + noise:
                break
            t /= 2
        else:
            break
        moved = np.max(np.abs(trial - x))
        x, dev, g, Hall = trial, dev_t, g_t, H_t
        if moved <= tol["xtol_rel"] * max(1.0, float(np.max(np.abs(x)))):
            break
    stop = _measures(x, g, Hall, lb, it)
    if np.isnan(stop.scaled_gradient):  # the stencil's Hessian is not positive definite: the 4-point one
        stop = _measures(x, g, _full_hessian(fmany, x, ~((x <= lb + 1e-12) & (g > 0))), lb, it)
    stop.deviance = dev
    return x, stop


def _full_hessian(fmany, x: np.ndarray, free: np.ndarray) -> np.ndarray:
    """:func:`central_hessian` over the free coordinates, embedded in a (k, k) matrix."""
    H = np.zeros((len(x), len(x)))
    if free.any():
        H[np.ix_(free, free)] = central_hessian(fmany, x, free)
    return H


def _measures(x: np.ndarray, g: np.ndarray, Hall: np.ndarray, lb: np.ndarray, iterations: int) -> Stop:
    free = ~((x <= lb + 1e-12) & (g > 0))
    if not free.any():
        return Stop(0.0, 0.0, 0.0, iterations)
    gf = g[free]
    grad = float(np.max(np.abs(gf)))
    try:
        C = np.linalg.cholesky(Hall[np.ix_(free, free)])
    except np.linalg.LinAlgError:
        return Stop(grad, np.nan, np.nan, iterations)
    scaled = np.linalg.solve(C, gf)
    return Stop(grad, float(np.max(np.abs(scaled))), float(scaled @ scaled) / 2, iterations)


def convergence_measures(fmany, x: np.ndarray, g: np.ndarray, lb: np.ndarray, iterations: int) -> Stop:
    """Projected gradient, scaled gradient (lme4's check) and Newton decrement at ``x``."""
    return _measures(x, g, _full_hessian(fmany, x, ~((x <= lb + 1e-12) & (g > 0))), lb, iterations)


def stop_converged(stop: Stop) -> bool:
    """The convergence rule: lme4's scaled gradient below grad_tol (the raw gradient where the Hessian
    is not positive definite)."""
    if np.isnan(stop.scaled_gradient):
        return bool(stop.gradient < TOLERANCES["grad_tol"])
    return bool(stop.scaled_gradient < TOLERANCES["grad_tol"] and np.isfinite(stop.gradient))


def stop_message(stop: Stop) -> str:
    """The optimiser record's message for a stop: "ok", or why the stop is not a converged minimum."""
    if stop_converged(stop):
        return "ok"
    if np.isfinite(stop.decrement):
        return (f"the deviance could still drop by about {stop.decrement:.2g} at the stop "
                f"(scaled gradient {stop.scaled_gradient:.1e} > {TOLERANCES['grad_tol']:g})")
    return f"gradient {stop.gradient:.1e} at the stop, with an indefinite Hessian"


def stencil_batched(x: np.ndarray, h: np.ndarray, k: int, full: bool) -> tuple[np.ndarray, list]:
    """Points for central-difference derivatives at x (A, k): centre, +-h_a, and pairs."""
    E = np.eye(k)
    pts = [x] + [x + s * h[:, a, None] * E[a] for a in range(k) for s in (1, -1)]
    pairs = []
    for a in range(k):
        for c in range(a + 1, k):
            signs = ((1, 1), (1, -1), (-1, 1), (-1, -1)) if full else ((1, 1),)
            for sa, sc in signs:
                pts.append(x + sa * h[:, a, None] * E[a] + sc * h[:, c, None] * E[c])
            pairs.append((a, c))
    return np.stack(pts, axis=1), pairs


def grad_hess_batched(f: np.ndarray, h: np.ndarray, k: int, pairs: list, full: bool) -> tuple[np.ndarray, np.ndarray]:
    f0 = f[:, 0]
    fp, fm = f[:, 1:2 * k + 1:2], f[:, 2:2 * k + 2:2]
    g = (fp - fm) / (2 * h)
    H = np.zeros((len(f), k, k))
    H[:, np.arange(k), np.arange(k)] = (fp + fm - 2 * f0[:, None]) / h**2
    base = 2 * k + 1
    for n, (a, c) in enumerate(pairs):
        if full:
            pp, pm, mp, mm = (f[:, base + 4 * n + i] for i in range(4))
            H[:, a, c] = H[:, c, a] = (pp - pm - mp + mm) / (4 * h[:, a] * h[:, c])
        else:
            H[:, a, c] = H[:, c, a] = (f[:, base + n] - fp[:, a] - fp[:, c] + f0) / (h[:, a] * h[:, c])
    return g, H


def relative_factor(cov: np.ndarray, sigma2: float = 1.0, pattern: np.ndarray | None = None) -> np.ndarray:
    """Lower-triangular L with L L' = cov / sigma2, also when cov is singular (a semi-definite Cholesky).

    Entries outside ``pattern`` (the free entries of lme4's Lambda) stay 0. Its diagonal is what
    lme4's ``isSingular`` compares with 1e-4.

    Examples
    --------
    >>> relative_factor(np.array([[4.0, 2.0], [2.0, 1.0]])).tolist()
    [[2.0, 0.0], [1.0, 0.0]]
    """
    rel = np.asarray(cov, dtype=float) / sigma2
    q = rel.shape[0]
    free = np.tril(np.ones((q, q), bool)) if pattern is None else pattern
    L = np.zeros((q, q))
    for j in range(q):
        L[j, j] = np.sqrt(max(rel[j, j] - np.sum(L[j, :j] ** 2), 0.0))
        for i in range(j + 1, q):
            if free[i, j] and L[j, j] > 0:
                L[i, j] = (rel[i, j] - np.sum(L[i, :j] * L[j, :j])) / L[j, j]
    return L


def minimise_theta(f: Callable[[np.ndarray], float], fmany: Callable[[np.ndarray], np.ndarray], lb: np.ndarray,
                   diag: np.ndarray, cols: np.ndarray, start: np.ndarray, restarts: list[str],
                   fallback_scales: tuple[float, ...] = (0.3, 3.0)) -> tuple[np.ndarray, Stop]:
    """Minimise a profiled deviance over theta (the engines' search, written once).

    L-BFGS-B with forward-difference gradients from ``start``; restarts with a standard deviation
    that stopped at 0 moved inside (a false stop on the boundary); tiny standard deviations set to
    0 where that is no worse; the Newton polish (:func:`newton_polish`, central differences). When
    the polish does not reach a converged minimum, L-BFGS-B restarts from its stop with tight
    tolerances and central-difference gradients, and the polish runs again. If the stop is not a converged minimum, the search runs again from
    ``scale x identity`` for each of ``fallback_scales`` and keeps the first converged stop that is
    no worse. ``diag`` marks the standard deviations among the entries of theta and ``cols`` the
    column of Lambda each entry is in. What ran is appended to ``restarts``.

    Examples
    --------
    >>> f = lambda t: float((t[0] - 1) ** 2 + 10 * (t[1] - 0.5) ** 2)
    >>> fmany = lambda ts: np.array([f(t) for t in ts])
    >>> theta, stop = minimise_theta(f, fmany, np.zeros(2), np.array([True, True]), np.arange(2), np.ones(2), [])
    >>> theta.round(6).tolist(), stop_converged(stop)
    ([1.0, 0.5], True)
    """
    tol = TOLERANCES
    bounds = [(b if np.isfinite(b) else None, None) for b in lb]
    fg = lambda x: central_gradient(fmany, np.asarray(x, float), lb, 1e-6)  # noqa: E731

    def fg_forward(x: np.ndarray) -> tuple[float, np.ndarray]:
        # Forward differences (k + 1 evaluations): accurate enough to steer the search, which the
        # Newton polish finishes with central differences.
        x = np.asarray(x, float)
        h = 1e-7 * np.maximum(1.0, np.abs(x))
        v = fmany(np.vstack([x, x + np.diag(h)]))
        with np.errstate(invalid="ignore"):
            return float(v[0]), (v[1:] - v[0]) / h

    def lbfgsb(x0: np.ndarray, tight: bool = False) -> optimize.OptimizeResult:
        if tight:
            return optimize.minimize(fg, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                     options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 1000})
        return optimize.minimize(fg_forward, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                 options={"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-4})

    def search(x_start: np.ndarray, log: list[str]) -> tuple[np.ndarray, Stop, float]:
        best = lbfgsb(x_start)
        # A standard deviation stuck at its bound 0 can be a false stop (the optimiser walked into the
        # boundary from the start, leaving other entries to do the work): restart with it moved
        # inside, from a few points, and keep the better optimum.
        for _ in range(3):
            stuck = np.flatnonzero(diag & (best.x < 1e-3))
            if not len(stuck):
                break
            improved = False
            stuck_cols = cols[stuck]
            for scale in (1.0, 0.3, 3.0):
                x0 = best.x.copy()
                x0[stuck] = scale * max(1e-2, float(np.median(best.x[diag]))) \
                    if np.any(best.x[diag] > 1e-3) else scale
                x0[np.isin(cols, stuck_cols) & ~diag] = 0.0
                res3 = lbfgsb(x0)
                log.append(f"restart with theta{[int(i) for i in stuck]} moved inside (x{scale:g}): "
                           + ("better" if res3.fun < best.fun - 1e-8 else "no better"))
                if res3.fun < best.fun - 1e-8:
                    best, improved = res3, True
                    break
            if not improved:
                break

        def finish(res: optimize.OptimizeResult) -> tuple[np.ndarray, Stop]:
            x = np.array(res.x, dtype=float)
            # Snap tiny standard deviations to the boundary when that is no worse (lme4 reports 0).
            for i in np.flatnonzero(diag & (np.abs(x) < 1e-4)):
                trial = x.copy()
                trial[i] = 0.0
                if f(trial) <= res.fun + tol["boundary_tol"]:
                    x = trial
                    log.append(f"theta[{i}] set to the boundary 0 (no worse)")
            return newton_polish(fmany, x, lb)

        x, stop_x = finish(best)
        if not stop_converged(stop_x):
            # The polish did not reach a converged minimum from the stop (an early, flat stop):
            # restart L-BFGS-B from the better of the two points with tight tolerances and
            # central-difference gradients, and polish again.
            x_from = x if stop_x.deviance <= best.fun else best.x
            res2 = lbfgsb(x_from, tight=True)
            x2, stop2 = finish(res2)
            better = stop2.deviance <= stop_x.deviance + tol["boundary_tol"] or stop_converged(stop2)
            log.append(f"L-BFGS-B restarted from its stop (polish not converged: gradient {stop_x.gradient:.1e}); "
                       + ("kept" if better else "not kept"))
            if better:
                x, stop_x = x2, stop2
        dev = stop_x.deviance if np.isfinite(stop_x.deviance) else f(x)
        return x, stop_x, dev

    theta, stop, dev = search(np.asarray(start, float), restarts)
    if not stop_converged(stop):
        # A stop that is not a minimum (an indefinite Hessian, a gradient left): the path an optimiser
        # takes can depend on rounding, so search again from other starts and keep the best stop
        # that is a converged minimum.
        identity = np.where(diag, 1.0, 0.0)
        for scale in fallback_scales:
            log: list[str] = []
            t2, s2, d2 = search(scale * identity, log)
            better = stop_converged(s2) and d2 <= dev + tol["boundary_tol"]
            restarts.append(f"fallback: search from {scale:g} x identity (" + ("converged, kept" if better
                                                                               else "not kept") + ")")
            if better:
                theta, stop, dev = t2, s2, d2
                restarts.extend(log)
                break
    return theta, stop
