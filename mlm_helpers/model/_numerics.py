"""Small numerics shared by every fitter: batched small Cholesky factors, triangular solves,
finite-difference derivatives and a batched golden-section search.

Each piece is written once here; the engines, the simulation studies and the chapter companions
call these functions rather than their own copies.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["LOG2PI", "GOLDEN", "chol_batched", "forward_batched", "central_gradient", "central_hessian",
           "golden_section", "THETA_GRID"]

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
