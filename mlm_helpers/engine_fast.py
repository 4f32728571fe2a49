"""A fast, exact REML/ML engine for linear mixed models with one grouping factor.

This is the profiled deviance of Bates, Mächler, Bolker & Walker (2015,
*J. Stat. Softw.* 67(1), section 3), written for the case where every random
effect belongs to one grouping factor. The model is

.. math:: y = X\\beta + Zb + \\varepsilon,\\quad b \\sim N(0, \\sigma^2\\Lambda_\\theta\\Lambda_\\theta^\\top),
          \\quad \\varepsilon \\sim N(0, \\sigma^2 I).

Because :math:`Z^\\top Z` is block diagonal (one q x q block per group), the
whole computation runs on per-group *sufficient statistics*
:math:`Z_j^\\top Z_j, Z_j^\\top X_j, Z_j^\\top y_j` and on :math:`X^\\top X,
X^\\top y, y^\\top y`. They are computed once; after that one evaluation of the
deviance costs O(J q^3 + J q^2 p + p^3) and does not grow with the number of
rows. For a given :math:`\\theta` (the free entries of the lower-triangular
relative covariance factor :math:`\\Lambda_\\theta`):

1. For each group, the Cholesky factor :math:`L_j L_j^\\top = \\Lambda^\\top Z_j^\\top Z_j\\Lambda + I_q`.
2. :math:`R_{ZX,j} = L_j^{-1}\\Lambda^\\top Z_j^\\top X_j` and :math:`c_{u,j} = L_j^{-1}\\Lambda^\\top Z_j^\\top y`.
3. :math:`R_X R_X^\\top = X^\\top X - \\sum_j R_{ZX,j}^\\top R_{ZX,j}` and
   :math:`c_\\beta = R_X^{-1}(X^\\top y - \\sum_j R_{ZX,j}^\\top c_{u,j})`.
4. The penalised residual sum of squares :math:`r^2 = y^\\top y - \\lVert c_u\\rVert^2 - \\lVert c_\\beta\\rVert^2`.
5. ML:   :math:`d(\\theta) = \\log|L|^2 + n\\,[1 + \\log(2\\pi r^2 / n)]`;
   REML: :math:`d(\\theta) = \\log|L|^2 + \\log|R_X|^2 + (n-p)\\,[1 + \\log(2\\pi r^2/(n-p))]`.

The optimiser works on :math:`\\theta` only: :math:`\\beta` and :math:`\\sigma^2` have
closed forms given :math:`\\theta` (they are "profiled out").

Examples
--------
>>> import mlm_helpers as mh
>>> from mlm_helpers.design import build_model
>>> from mlm_helpers.engine_fast import sufficient_stats, profiled_deviance
>>> m = build_model("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff"), warn_few_groups=False)
>>> ss = sufficient_stats(m)
>>> round(profiled_deviance([0.8], ss, reml=True), 3)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.linalg import solve_triangular

from ._threads import single_blas_thread
from .design import ModelFrame
from .optsummary import TOLERANCES, OptSummary

__all__ = ["SuffStats", "sufficient_stats", "profiled_deviance", "deviance_many", "deviance_pieces", "FastFit", "fit_fast",
           "theta_to_lambda", "profiled_deviance_general", "theta_from_covs", "fit_general", "GeneralFit"]

_LOG2PI = float(np.log(2 * np.pi))


@dataclass
class SuffStats:
    """Per-group cross-products: everything the deviance needs, computed once."""

    ZtZ: np.ndarray  # (J, q, q)
    ZtX: np.ndarray  # (J, q, p)
    Zty: np.ndarray  # (J, q)
    XtX: np.ndarray  # (p, p)
    Xty: np.ndarray  # (p,)
    yty: float
    n: int
    pattern: np.ndarray  # (q, q) bool, free entries of Lambda
    counts: np.ndarray  # (J,) rows per group

    @property
    def q(self) -> int:
        return self.pattern.shape[0]

    @property
    def p(self) -> int:
        return self.XtX.shape[0]

    @property
    def n_theta(self) -> int:
        return int(self.pattern.sum())


def _theta_index(pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the free entries, column by column (lme4's order)."""
    rows, cols = [], []
    q = pattern.shape[0]
    for j in range(q):
        for i in range(j, q):
            if pattern[i, j]:
                rows.append(i)
                cols.append(j)
    return np.array(rows, dtype=int), np.array(cols, dtype=int)


def theta_to_lambda(theta: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """Fill the lower-triangular relative covariance factor from theta.

    Examples
    --------
    >>> theta_to_lambda(np.array([1.0, 0.5, 2.0]), np.tril(np.ones((2, 2), bool)))
    array([[1. , 0. ],
           [0.5, 2. ]])
    """
    rows, cols = _theta_index(pattern)
    lam = np.zeros(pattern.shape)
    lam[rows, cols] = theta
    return lam


def lower_bounds(pattern: np.ndarray) -> np.ndarray:
    """0 for diagonal entries of Lambda (standard deviations), -inf for the others."""
    rows, cols = _theta_index(pattern)
    return np.where(rows == cols, 0.0, -np.inf)


def sufficient_stats_arrays(
    y: np.ndarray, X: np.ndarray, Z: np.ndarray, codes: np.ndarray, n_levels: int, pattern: np.ndarray
) -> SuffStats:
    """Sufficient statistics from plain arrays (rows in any order)."""
    n, p = X.shape
    q = Z.shape[1]
    order = np.argsort(codes, kind="stable")
    c = codes[order]
    counts = np.bincount(c, minlength=n_levels)
    if np.any(counts == 0):
        keep = counts > 0
        remap = np.cumsum(keep) - 1
        c = remap[c]
        counts = counts[keep]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    Zs, Xs, ys = Z[order], X[order], y[order]
    ZtZ = np.add.reduceat(Zs[:, :, None] * Zs[:, None, :], starts, axis=0) if q else np.zeros((len(counts), 0, 0))
    ZtX = np.add.reduceat(Zs[:, :, None] * Xs[:, None, :], starts, axis=0) if q else np.zeros((len(counts), 0, p))
    Zty = np.add.reduceat(Zs * ys[:, None], starts, axis=0) if q else np.zeros((len(counts), 0))
    return SuffStats(ZtZ, ZtX, Zty, X.T @ X, X.T @ y, float(y @ y), n, pattern, counts)


def sufficient_stats(model: ModelFrame) -> SuffStats:
    """Sufficient statistics of a checked one-factor model (see :func:`build_model`)."""
    if len(model.blocks) > 1:
        raise ValueError("The fast engine handles one grouping factor; this model has several.")
    if not model.blocks:
        z = np.zeros((model.nobs, 0))
        return sufficient_stats_arrays(model.y, model.X, z, np.zeros(model.nobs, dtype=np.intp), 1,
                                       np.zeros((0, 0), dtype=bool))
    b = model.blocks[0]
    return sufficient_stats_arrays(model.y, model.X, b.Z, b.codes, b.n_levels, b.pattern)


@dataclass
class Pieces:
    """Everything computed on the way to the deviance at one theta."""

    deviance: float
    L: np.ndarray  # (J, q, q)
    RZX: np.ndarray  # (J, q, p)
    cu: np.ndarray  # (J, q)
    RX: np.ndarray  # (p, p) lower
    cbeta: np.ndarray
    r2: float
    ldL2: float
    ldRX2: float


def _chol_small(A: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Cholesky factor and log-determinant of a small SPD matrix (None if not SPD)."""
    p = A.shape[0]
    if p > 6:
        try:
            L = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            return None
        return L, 2.0 * float(np.log(np.diag(L)).sum())
    a = A.tolist()
    L = [[0.0] * p for _ in range(p)]
    logdet = 0.0
    for j in range(p):
        s = a[j][j] - sum(L[j][k] * L[j][k] for k in range(j))
        if not s > 0:
            return None
        d = s**0.5
        L[j][j] = d
        logdet += 2.0 * float(np.log(d))
        for i in range(j + 1, p):
            L[i][j] = (a[i][j] - sum(L[i][k] * L[j][k] for k in range(j))) / d
    return np.array(L), logdet


def _forward(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve L x = b for lower-triangular L (small, unbatched)."""
    p = len(b)
    Ll = L.tolist()
    bl = b.tolist()
    x = [0.0] * p
    for i in range(p):
        x[i] = (bl[i] - sum(Ll[i][k] * x[k] for k in range(i))) / Ll[i][i]
    return np.array(x)


def _batched_cholesky(M: np.ndarray) -> np.ndarray:
    """Cholesky factors of J small q x q matrices, vectorised over J."""
    q = M.shape[1]
    L = np.zeros_like(M)
    for j in range(q):
        s = M[:, j, j] - np.einsum("jk,jk->j", L[:, j, :j], L[:, j, :j])
        L[:, j, j] = np.sqrt(s)
        for i in range(j + 1, q):
            L[:, i, j] = (M[:, i, j] - np.einsum("jk,jk->j", L[:, i, :j], L[:, j, :j])) / L[:, j, j]
    return L


def _batched_forward(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve L_j X_j = B_j for J lower-triangular q x q factors; B is (J, q, k)."""
    q = L.shape[1]
    X = np.empty_like(B)
    for i in range(q):
        acc = B[:, i, :].copy()
        for k in range(i):
            acc -= L[:, i, k, None] * X[:, k, :]
        X[:, i, :] = acc / L[:, i, i, None]
    return X


def deviance_pieces(theta: np.ndarray, ss: SuffStats, reml: bool = True) -> Pieces | None:
    """Evaluate the profiled deviance and keep the intermediate pieces.

    Returns ``None`` where the deviance is not defined (numerically singular
    fixed-effects system). Arrays keep a group axis first: ``L`` is
    (J, q, q), ``RZX`` (J, q, p) and ``cu`` (J, q).
    """
    theta = np.asarray(theta, dtype=float)
    n, p, q = ss.n, ss.p, ss.q
    if q == 0:
        J = len(ss.counts)
        L = np.zeros((J, 0, 0))
        RZX = np.zeros((J, 0, p))
        cu = np.zeros((J, 0))
        XtXa = ss.XtX
        rhs = ss.Xty
        ldL2 = 0.0
    elif q == 1:
        t = float(theta[0])
        Lv = np.sqrt((t * t) * ss.ZtZ[:, 0, 0] + 1.0)
        R = ss.ZtX[:, 0, :] * (t / Lv)[:, None]
        c = ss.Zty[:, 0] * (t / Lv)
        XtXa = ss.XtX - R.T @ R
        rhs = ss.Xty - R.T @ c
        ldL2 = 2.0 * float(np.log(Lv).sum())
        L, RZX, cu = Lv[:, None, None], R[:, None, :], c[:, None]
    elif q == 2:
        lam = theta_to_lambda(theta, ss.pattern)
        l11, l21, l22 = lam[0, 0], lam[1, 0], lam[1, 1]
        a11, a12, a22 = ss.ZtZ[:, 0, 0], ss.ZtZ[:, 0, 1], ss.ZtZ[:, 1, 1]
        b11 = a11 * l11 + a12 * l21
        b21 = a12 * l11 + a22 * l21
        b22 = a22 * l22
        m11 = l11 * b11 + l21 * b21 + 1.0
        m12 = l11 * (a12 * l22) + l21 * b22
        m22 = l22 * b22 + 1.0
        L11 = np.sqrt(m11)
        L21 = m12 / L11
        L22 = np.sqrt(m22 - L21 * L21)
        zx1, zx2 = ss.ZtX[:, 0, :], ss.ZtX[:, 1, :]
        R1 = (l11 * zx1 + l21 * zx2) / L11[:, None]
        R2 = (l22 * zx2 - L21[:, None] * R1) / L22[:, None]
        zy1, zy2 = ss.Zty[:, 0], ss.Zty[:, 1]
        c1 = (l11 * zy1 + l21 * zy2) / L11
        c2 = (l22 * zy2 - L21 * c1) / L22
        XtXa = ss.XtX - R1.T @ R1 - R2.T @ R2
        rhs = ss.Xty - R1.T @ c1 - R2.T @ c2
        ldL2 = 2.0 * float(np.log(L11 * L22).sum())
        L = np.zeros((len(L11), 2, 2))
        L[:, 0, 0], L[:, 1, 0], L[:, 1, 1] = L11, L21, L22
        RZX = np.stack([R1, R2], axis=1)
        cu = np.stack([c1, c2], axis=1)
    else:
        lam = theta_to_lambda(theta, ss.pattern)
        M = lam.T @ ss.ZtZ @ lam
        M[:, np.arange(q), np.arange(q)] += 1.0
        L = _batched_cholesky(M)
        sol = _batched_forward(L, np.concatenate([lam.T @ ss.ZtX, (lam.T @ ss.Zty[:, :, None])], axis=2))
        RZX, cu = sol[:, :, :p], sol[:, :, p]
        XtXa = ss.XtX - np.einsum("jap,jar->pr", RZX, RZX)
        rhs = ss.Xty - np.einsum("jap,ja->p", RZX, cu)
        ldL2 = 2.0 * float(np.log(np.diagonal(L, axis1=1, axis2=2)).sum())
    if not np.isfinite(ldL2):
        return None
    chol = _chol_small(XtXa)
    if chol is None:
        return None
    RX, ldRX2 = chol
    cbeta = _forward(RX, rhs)
    r2 = ss.yty - float((cu * cu).sum()) - float(cbeta @ cbeta)
    if not r2 > 0:
        return None
    if reml:
        dof = n - p
        dev = ldL2 + ldRX2 + dof * (1.0 + _LOG2PI + np.log(r2 / dof))
    else:
        dev = ldL2 + n * (1.0 + _LOG2PI + np.log(r2 / n))
    return Pieces(float(dev), L, RZX, cu, RX, cbeta, r2, ldL2, ldRX2)


def deviance_many(thetas: np.ndarray, ss: SuffStats, reml: bool = True) -> np.ndarray:
    """The profiled deviance at K values of theta at once (rows of ``thetas``).

    Same numbers as :func:`profiled_deviance`, vectorised over a leading axis
    so that a grid, or the 2 x n_theta points of a numerical gradient, cost
    about as much as one evaluation. ``inf`` where the deviance is undefined.
    """
    th = np.atleast_2d(np.asarray(thetas, dtype=float))
    K = th.shape[0]
    n, p, q = ss.n, ss.p, ss.q
    if q == 0:
        return np.array([profiled_deviance(np.zeros(0), ss, reml)] * K)
    rows, cols = _theta_index(ss.pattern)
    lam = np.zeros((K, q, q))
    lam[:, rows, cols] = th
    if q == 1:
        t2 = (th[:, 0] ** 2)[:, None]
        Lv = np.sqrt(t2 * ss.ZtZ[None, :, 0, 0] + 1.0)  # (K, J)
        s = th[:, 0, None] / Lv
        R = ss.ZtX[None, :, 0, :] * s[:, :, None]  # (K, J, p)
        c = ss.Zty[None, :, 0] * s  # (K, J)
        XtXa = ss.XtX[None] - np.swapaxes(R, 1, 2) @ R
        rhs = ss.Xty[None] - (np.swapaxes(R, 1, 2) @ c[:, :, None])[:, :, 0]
        ldL2 = 2.0 * np.log(Lv).sum(axis=1)
        cu2 = (c * c).sum(axis=1)
    elif q == 2:
        l11, l21, l22 = lam[:, 0, 0, None], lam[:, 1, 0, None], lam[:, 1, 1, None]  # (K, 1)
        a11, a12, a22 = ss.ZtZ[None, :, 0, 0], ss.ZtZ[None, :, 0, 1], ss.ZtZ[None, :, 1, 1]
        b22 = a22 * l22
        m11 = l11 * (a11 * l11 + a12 * l21) + l21 * (a12 * l11 + a22 * l21) + 1.0
        m12 = l11 * (a12 * l22) + l21 * b22
        L11 = np.sqrt(m11)
        L21 = m12 / L11
        s22 = l22 * b22 + 1.0 - L21 * L21
        L22 = np.sqrt(np.where(s22 > 0, s22, np.nan))  # (K, J)
        zx1, zx2 = ss.ZtX[None, :, 0, :], ss.ZtX[None, :, 1, :]
        R1 = (l11[:, :, None] * zx1 + l21[:, :, None] * zx2) / L11[:, :, None]  # (K, J, p)
        R2 = (l22[:, :, None] * zx2 - L21[:, :, None] * R1) / L22[:, :, None]
        zy1, zy2 = ss.Zty[None, :, 0], ss.Zty[None, :, 1]
        c1 = (l11 * zy1 + l21 * zy2) / L11
        c2 = (l22 * zy2 - L21 * c1) / L22
        R = np.concatenate([R1, R2], axis=1)  # (K, 2J, p)
        c = np.concatenate([c1, c2], axis=1)
        XtXa = ss.XtX[None] - np.swapaxes(R, 1, 2) @ R
        rhs = ss.Xty[None] - (np.swapaxes(R, 1, 2) @ c[:, :, None])[:, :, 0]
        ldL2 = 2.0 * np.log(L11 * L22).sum(axis=1)
        cu2 = (c * c).sum(axis=1)
    else:
        M = np.swapaxes(lam, 1, 2)[:, None] @ ss.ZtZ[None] @ lam[:, None]  # (K, J, q, q)
        M[..., np.arange(q), np.arange(q)] += 1.0
        L = np.zeros_like(M)
        for j in range(q):
            s = M[..., j, j] - (L[..., j, :j] ** 2).sum(-1)
            L[..., j, j] = np.sqrt(np.where(s > 0, s, np.nan))
            for i in range(j + 1, q):
                L[..., i, j] = (M[..., i, j] - (L[..., i, :j] * L[..., j, :j]).sum(-1)) / L[..., j, j]
        B = np.concatenate([np.swapaxes(lam, 1, 2)[:, None] @ ss.ZtX[None],
                            np.swapaxes(lam, 1, 2)[:, None] @ ss.Zty[None, :, :, None]], axis=-1)
        X = np.empty_like(B)
        for i in range(q):
            acc = B[..., i, :].copy()
            for k in range(i):
                acc -= L[..., i, k, None] * X[..., k, :]
            X[..., i, :] = acc / L[..., i, i, None]
        R, c = X[..., :p], X[..., p]  # (K, J, q, p), (K, J, q)
        XtXa = ss.XtX[None] - np.einsum("kjap,kjar->kpr", R, R)
        rhs = ss.Xty[None] - np.einsum("kjap,kja->kp", R, c)
        ldL2 = 2.0 * np.log(np.diagonal(L, axis1=2, axis2=3)).sum(axis=(1, 2))
        cu2 = (c * c).sum(axis=(1, 2))
    out = np.full(K, np.inf)
    ok = np.isfinite(ldL2)
    if not ok.any():
        return out
    try:
        RX = np.linalg.cholesky(XtXa[ok])
    except np.linalg.LinAlgError:
        return np.array([profiled_deviance(t, ss, reml) for t in th])
    cb = np.linalg.solve(RX, rhs[ok][..., None])[..., 0]
    r2 = ss.yty - cu2[ok] - (cb * cb).sum(axis=1)
    ldRX2 = 2.0 * np.log(np.diagonal(RX, axis1=1, axis2=2)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if reml:
            dof = n - p
            dev = ldL2[ok] + ldRX2 + dof * (1.0 + _LOG2PI + np.log(r2 / dof))
        else:
            dev = ldL2[ok] + n * (1.0 + _LOG2PI + np.log(r2 / n))
    out[ok] = np.where(r2 > 0, dev, np.inf)
    return out


def profiled_deviance(theta, ss: SuffStats, reml: bool = True) -> float:
    """The profiled deviance (or REML criterion) at ``theta``: -2 x the log-likelihood.

    Parameters
    ----------
    theta : array-like
        Free entries of the relative covariance factor, column by column.
        For a random-intercept model, ``theta = [tau_00**0.5 / sigma]``.
    ss : SuffStats
        From :func:`sufficient_stats`.
    reml : bool
        REML criterion (True) or ML deviance (False).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.design import build_model
    >>> ss = sufficient_stats(build_model("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy")))
    >>> round(profiled_deviance([1.0], ss) / 2, 2) > 0
    True
    """
    pieces = deviance_pieces(np.atleast_1d(np.asarray(theta, dtype=float)), ss, reml)
    return np.inf if pieces is None else pieces.deviance


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


def _value_and_grad(fmany, x: np.ndarray, lb: np.ndarray, rel_step: float = 1e-6) -> tuple[float, np.ndarray]:
    """Deviance and its central-difference gradient from one batched evaluation."""
    k = len(x)
    h = rel_step * np.maximum(1.0, np.abs(x))
    pts = np.repeat(x[None], 2 * k + 1, axis=0)
    idx = np.arange(k)
    pts[1 + idx, idx] += h
    lower = np.maximum(x - h, np.where(np.isfinite(lb), lb, -np.inf))
    pts[1 + k + idx, idx] = lower
    v = fmany(pts)
    g = (v[1 : k + 1] - v[k + 1 :]) / (pts[1 + idx, idx] - pts[1 + k + idx, idx])
    return float(v[0]), g


def _hessian(fmany, x: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Central-difference Hessian over the free coordinates, from one batched evaluation."""
    idx = np.flatnonzero(free)
    k = len(idx)
    h = 1e-4 * np.maximum(1.0, np.abs(x[idx]))
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


@dataclass
class _Stop:
    """The state of the fit at the stop: what the convergence check reports."""

    gradient: float
    scaled_gradient: float
    decrement: float
    iterations: int


def _newton_polish(fmany, x: np.ndarray, lb: np.ndarray) -> tuple[np.ndarray, _Stop]:
    """Newton steps on the free parameters until a step moves theta by less than ``xtol_rel``.

    Gradients are central differences with a relative step ``fd_step`` (accurate to about 1e-8 of
    the curvature, so theta is pinned down far below the flatness of the deviance, which only
    fixes theta to about the square root of the rounding error). A step is kept when the deviance
    does not rise beyond rounding; otherwise it is halved. The returned stop record holds the
    projected gradient, lme4's scaled gradient and the Newton decrement at the final point.
    """
    tol = TOLERANCES
    x = np.array(x, dtype=float)
    dev, g = _value_and_grad(fmany, x, lb, tol["fd_step"])
    noise = 1e-12 * max(1.0, abs(dev))
    H = None
    it = 0
    for it in range(1, 31):  # noqa: B007 - the count is reported
        free = ~((x <= lb + 1e-12) & (g > 0))
        if not free.any():
            break
        H = _hessian(fmany, x, free)
        try:
            C = np.linalg.cholesky(H)
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
            dev_t, g_t = _value_and_grad(fmany, trial, lb, tol["fd_step"])
            if dev_t <= dev + noise:
                break
            t /= 2
        else:
            break
        moved = np.max(np.abs(trial - x))
        x, dev, g = trial, dev_t, g_t
        if moved <= tol["xtol_rel"] * max(1.0, float(np.max(np.abs(x)))):
            break
    return x, _convergence_measures(fmany, x, g, lb, it)


def _convergence_measures(fmany, x: np.ndarray, g: np.ndarray, lb: np.ndarray, iterations: int) -> _Stop:
    """Projected gradient, scaled gradient (lme4's check) and Newton decrement at ``x``."""
    free = ~((x <= lb + 1e-12) & (g > 0))
    if not free.any():
        return _Stop(0.0, 0.0, 0.0, iterations)
    gf = g[free]
    grad = float(np.max(np.abs(gf)))
    H = _hessian(fmany, x, free)
    try:
        C = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return _Stop(grad, np.nan, np.nan, iterations)
    scaled = np.linalg.solve(C, gf)
    return _Stop(grad, float(np.max(np.abs(scaled))), float(scaled @ scaled) / 2, iterations)


@single_blas_thread
def fit_fast(ss: SuffStats, reml: bool = True, theta0: np.ndarray | None = None) -> FastFit:
    """Minimise the profiled deviance and return estimates at the optimum.

    The search runs in stages, each recorded in the result's :class:`OptSummary`: a bounded
    1-D search (one parameter) or L-BFGS-B (several), restarts where a standard deviation stopped
    at 0, then a Newton polish that stops when a step moves theta by less than 1e-8 (relative).
    The fit counts as converged when lme4's scaled gradient is below 0.002 (see
    :data:`mlm_helpers.optsummary.TOLERANCES`).

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
    >>> from mlm_helpers.design import build_model
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
    rows, cols = _theta_index(ss.pattern)
    diag = rows == cols
    restarts: list[str] = []
    if nt == 0:
        method = "none (no covariance parameters)"
        start = theta = np.zeros(0)
        stop = _Stop(0.0, 0.0, 0.0, 0)
    elif nt == 1:
        method = "bounded 1-D search, then Newton polish"
        start = np.ones(1)
        t, _, _ = _minimise_1d(lambda t: f(np.array([t])), fmany)
        theta, stop = _newton_polish(fmany, np.array([t]), lb)
    else:
        method = "L-BFGS-B, then Newton polish"
        start = np.where(diag, 1.0, 0.0) if theta0 is None else np.asarray(theta0, float)
        bounds = [(b if np.isfinite(b) else None, None) for b in lb]
        fg = lambda x: _value_and_grad(fmany, np.asarray(x, float), lb)  # noqa: E731
        best = optimize.minimize(fg, start, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 1000})
        _, g = fg(best.x)
        free = ~((best.x <= lb + 1e-12) & (g > 0))
        if free.any() and np.max(np.abs(g[free])) > 1e-3:
            # Restart from the stop, which escapes an early, flat stop.
            res2 = optimize.minimize(fg, best.x, jac=True, method="L-BFGS-B", bounds=bounds,
                                     options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 1000})
            restarts.append(f"L-BFGS-B restarted from its stop (gradient {np.max(np.abs(g[free])):.1e})")
            if res2.fun <= best.fun:
                best = res2
        # A standard deviation stuck at its bound 0 can be a false stop (the optimiser walked into the
        # boundary from the identity start, leaving the column's off-diagonal entries to do the work):
        # restart with it moved inside, from a few points, and keep the better optimum.
        for _ in range(3):
            stuck = np.flatnonzero(diag & (best.x < 1e-3))
            if not len(stuck):
                break
            improved = False
            stuck_cols = cols[stuck]
            for scale in (1.0, 0.3, 3.0):
                x0 = best.x.copy()
                x0[stuck] = scale * max(1e-2, float(np.median(best.x[diag]))) if np.any(best.x[diag] > 1e-3) \
                    else scale
                x0[np.isin(cols, stuck_cols) & ~diag] = 0.0
                res3 = optimize.minimize(fg, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                         options={"maxiter": 1000})
                restarts.append(f"restart with theta{list(stuck)} moved inside (x{scale:g}): "
                                + ("better" if res3.fun < best.fun - 1e-8 else "no better"))
                if res3.fun < best.fun - 1e-8:
                    best, improved = res3, True
                    break
            if not improved:
                break
        theta = np.array(best.x, dtype=float)
        # Snap tiny standard deviations to the boundary when that is no worse (lme4 reports 0).
        for i in np.flatnonzero(diag & (np.abs(theta) < 1e-4)):
            trial = theta.copy()
            trial[i] = 0.0
            if f(trial) <= best.fun + tol["boundary_tol"]:
                theta = trial
                restarts.append(f"theta[{i}] set to the boundary 0 (no worse)")
        theta, stop = _newton_polish(fmany, theta, lb)
    converged = not (stop.scaled_gradient >= tol["grad_tol"]) and np.isfinite(stop.gradient)
    if np.isnan(stop.scaled_gradient):  # Hessian not positive definite: judge by the raw gradient
        converged = stop.gradient < tol["grad_tol"]
    if converged:
        message = "ok"
    elif np.isfinite(stop.decrement):
        message = (f"the deviance could still drop by about {stop.decrement:.2g} at the stop "
                   f"(scaled gradient {stop.scaled_gradient:.1e} > {tol['grad_tol']:g})")
    else:
        message = f"gradient {stop.gradient:.1e} at the stop, with an indefinite Hessian"
    pieces = deviance_pieces(theta, ss, reml)
    if pieces is None:  # pragma: no cover - only for pathological data
        raise FloatingPointError("The deviance is not defined at the optimum.")
    beta = solve_triangular(pieces.RX.T, pieces.cbeta, lower=False)
    dof = ss.n - ss.p if reml else ss.n
    sigma2 = pieces.r2 / dof
    RXinv = solve_triangular(pieces.RX, np.eye(ss.p), lower=True)
    vcov = sigma2 * (RXinv.T @ RXinv)
    q = ss.q
    lam = theta_to_lambda(theta, ss.pattern) if q else np.zeros((0, 0))
    if q == 0:
        b = np.zeros((len(ss.counts), 0))
    else:
        rhs = pieces.cu - np.einsum("jap,p->ja", pieces.RZX, beta)
        u = np.linalg.solve(np.swapaxes(pieces.L, 1, 2), rhs[:, :, None])[:, :, 0]
        b = u @ lam.T
    summary = OptSummary(
        engine="fast", method=method, criterion="REML" if reml else "ML", n_evals=n_evals,
        objective=float(pieces.deviance), gradient=stop.gradient, scaled_gradient=stop.scaled_gradient,
        newton_decrement=stop.decrement, theta_start=np.asarray(start, float), theta=theta.copy(),
        restarts=restarts + ([f"Newton polish: {stop.iterations} iteration(s)"] if nt else []),
        tolerances={k: tol[k] for k in ("grad_tol", "xtol_rel", "fd_step", "boundary_tol")},
        converged=bool(converged), message=message,
    )
    return FastFit(theta, pieces.deviance, beta, vcov, float(sigma2), lam, b, bool(converged), message, n_evals,
                   reml, summary)


# ---------------------------------------------------------------------------------------------
# The profiled deviance for any number of grouping factors (crossed or nested).
#
# The same formulas as above (Bates et al. 2015, eqs. 10-17), written for a general Z: used to
# check, and re-optimise, what the statsmodels path reports for crossed and nested models. It
# is self-contained on purpose (the one-factor code above is the fast path).


#: Up to this many random effects, profiled_deviance_general factors Lambda'Z'Z Lambda + I densely;
#: above it, with SuperLU in symmetric mode (no pivoting off the diagonal).
DENSE_MAX_Q = 3000


@dataclass
class _GeneralSetup:
    """Model pieces that do not depend on theta: sparse Z, X, y and the layout of Lambda."""

    Z: object  # scipy.sparse CSC, n x Q, columns level-major within each grouping factor
    X: np.ndarray
    y: np.ndarray
    patterns: list[np.ndarray]
    n_levels: list[int]

    @property
    def n_theta(self) -> int:
        return int(sum(p.sum() for p in self.patterns))


def _general_setup(model: ModelFrame) -> _GeneralSetup:
    from scipy import sparse

    n = model.nobs
    mats = []
    for b in model.blocks:
        rows = np.repeat(np.arange(n), b.q)
        cols = (b.codes[:, None] * b.q + np.arange(b.q)[None, :]).ravel()
        mats.append(sparse.csc_matrix((b.Z.ravel(), (rows, cols)), shape=(n, b.n_levels * b.q)))
    Z = sparse.hstack(mats, format="csc") if mats else sparse.csc_matrix((n, 0))
    return _GeneralSetup(Z, model.X, model.y, [b.pattern for b in model.blocks], [b.n_levels for b in model.blocks])


def _general_lambda(setup: _GeneralSetup, theta: np.ndarray):
    """Lambda_theta: block diagonal, one copy of each factor's q x q lower-triangular factor per level."""
    from scipy import sparse

    parts, k = [], 0
    for pat, J in zip(setup.patterns, setup.n_levels, strict=True):
        m = int(pat.sum())
        lam = theta_to_lambda(np.asarray(theta[k : k + m], float), pat)
        k += m
        parts.append(sparse.kron(sparse.identity(J, format="csc"), sparse.csc_matrix(lam), format="csc"))
    return sparse.block_diag(parts, format="csc") if parts else sparse.csc_matrix((0, 0))


def _general_pieces(setup: _GeneralSetup, theta: np.ndarray, reml: bool) -> dict | None:
    """Everything the estimates need at theta (None where the deviance is undefined)."""
    from scipy import sparse
    from scipy.linalg import cho_factor, cho_solve
    from scipy.sparse.linalg import splu

    theta = np.asarray(theta, dtype=float)
    X, y = setup.X, setup.y
    n, p = X.shape
    Lam = _general_lambda(setup, theta)
    ZL = (setup.Z @ Lam).tocsc()
    Q = ZL.shape[1]
    A = (ZL.T @ ZL + sparse.identity(Q, format="csc")).tocsc()
    rhs = np.column_stack([np.asarray(ZL.T @ X), np.asarray(ZL.T @ y)])  # Q x (p + 1)
    if Q <= DENSE_MAX_Q:  # dense Cholesky of Lambda'Z'Z Lambda + I
        try:
            cf = cho_factor(A.toarray(), lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return None
        ldL2 = 2.0 * float(np.log(np.diag(cf[0])).sum())
        W = cho_solve(cf, rhs, check_finite=False)
    else:  # sparse LU without pivoting on the diagonal: for an SPD matrix its U has L's squared diagonal
        lu = splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
        d = lu.U.diagonal()
        if np.any(d <= 0):
            return None
        ldL2 = float(np.log(d).sum())
        W = lu.solve(rhs)
    G = rhs.T @ W  # [X y]' ZL A^-1 ZL' [X y]
    XtXa = X.T @ X - G[:p, :p]
    Xtya = X.T @ y - G[:p, p]
    try:
        RX = np.linalg.cholesky(XtXa)
    except np.linalg.LinAlgError:
        return None
    cbeta = solve_triangular(RX, Xtya, lower=True)
    beta = solve_triangular(RX.T, cbeta, lower=False)
    r2 = float(y @ y - G[p, p] - cbeta @ cbeta)  # penalised residual sum of squares
    if not r2 > 0 or not np.isfinite(ldL2):
        return None
    ldRX2 = 2.0 * float(np.log(np.diag(RX)).sum())
    if reml:
        dof = n - p
        dev = ldL2 + ldRX2 + dof * (1.0 + _LOG2PI + np.log(r2 / dof))
    else:
        dof = n
        dev = ldL2 + n * (1.0 + _LOG2PI + np.log(r2 / n))
    u = W[:, p] - W[:, :p] @ beta  # conditional modes of the spherical random effects
    return {"deviance": float(dev), "beta": beta, "RX": RX, "sigma2": r2 / dof, "b": Lam @ u}


def profiled_deviance_general(model: ModelFrame, theta, reml: bool = True) -> float:
    """lme4's profiled deviance (or REML criterion) for any number of grouping factors.

    The computation of Bates, Mächler, Bolker & Walker (2015, *J. Stat. Softw.* 67(1),
    eqs. 10-17) with a general sparse :math:`Z`: :math:`\\Lambda_\\theta` is block diagonal (one
    copy of each factor's lower-triangular factor per level), :math:`L L^\\top =
    \\Lambda^\\top Z^\\top Z \\Lambda + I` by a dense Cholesky (or a sparse factorisation when
    there are more than 3000 random effects), then :math:`R_X`, the penalised residual sum of
    squares :math:`r^2` and

    * ML:   :math:`\\log|L|^2 + n\\,[1 + \\log(2\\pi r^2/n)]`,
    * REML: :math:`\\log|L|^2 + \\log|R_X|^2 + (n-p)\\,[1 + \\log(2\\pi r^2/(n-p))]`.

    Parameters
    ----------
    model : ModelFrame
        From :func:`mlm_helpers.design.build_model`, with any number of grouping factors.
    theta : array-like
        The free entries of each factor's relative covariance factor, column by column,
        factors in the order of ``model.blocks`` (the formula's order; lme4 orders its terms by
        their number of levels instead).
    reml : bool
        REML criterion (True) or ML deviance (False).

    Returns
    -------
    float
        -2 x the (REML) log-likelihood at ``theta``; ``inf`` where it is undefined.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.design import build_model
    >>> m = build_model("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"),
    ...                 warn_few_groups=False)
    >>> round(profiled_deviance_general(m, [1.0, 1.0]), 4)  # lme4: 365.0734
    365.0734
    """
    setup = _general_setup(model)
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    if len(theta) != setup.n_theta:
        raise ValueError(f"theta has {len(theta)} entries; this model has {setup.n_theta}.")
    pieces = _general_pieces(setup, theta, reml)
    return np.inf if pieces is None else pieces["deviance"]


def theta_from_covs(model: ModelFrame, covs: list[np.ndarray], sigma2: float) -> np.ndarray:
    """lme4's theta from covariance matrices of the random effects: Cholesky factors of cov / sigma^2.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.design import build_model
    >>> m = build_model("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> theta_from_covs(m, [np.array([[4.0, 1.0], [1.0, 1.0]])], 1.0).round(4).tolist()
    [2.0, 0.5, 0.866]
    """
    out = []
    for b, cov in zip(model.blocks, covs, strict=True):
        rel = np.asarray(cov, float) / sigma2
        q = rel.shape[0]
        L = np.zeros((q, q))
        for j in range(q):
            s = rel[j, j] - np.sum(L[j, :j] ** 2)
            L[j, j] = np.sqrt(max(s, 0.0))
            for i in range(j + 1, q):
                if b.pattern[i, j]:
                    L[i, j] = (rel[i, j] - np.sum(L[i, :j] * L[j, :j])) / L[j, j] if L[j, j] > 0 else 0.0
        rows, cols = _theta_index(b.pattern)
        out.append(L[rows, cols])
    return np.concatenate(out) if out else np.zeros(0)


@dataclass
class GeneralFit:
    """Estimates at the optimum of :func:`profiled_deviance_general`."""

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


def fit_general(model: ModelFrame, reml: bool = True, theta0: np.ndarray | None = None) -> GeneralFit:
    """Minimise :func:`profiled_deviance_general` over theta (bounded L-BFGS-B, then Newton polish).

    Parameters
    ----------
    model : ModelFrame
    reml : bool
    theta0 : array, optional
        Starting point (default: lme4's, 1 on the diagonals and 0 elsewhere).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.design import build_model
    >>> m = build_model("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"),
    ...                 warn_few_groups=False)
    >>> round(-fit_general(m).deviance / 2, 3)  # lme4: -165.430
    -165.43
    """
    setup = _general_setup(model)
    n_evals = 0

    def fmany(ts: np.ndarray) -> np.ndarray:
        nonlocal n_evals
        n_evals += len(ts)
        out = []
        for t in np.atleast_2d(ts):
            pc = _general_pieces(setup, t, reml)
            out.append(np.inf if pc is None else pc["deviance"])
        return np.array(out)

    lb = np.concatenate([lower_bounds(p) for p in setup.patterns]) if setup.patterns else np.zeros(0)
    diag = np.concatenate([np.equal(*_theta_index(p)) for p in setup.patterns]) if setup.patterns else lb
    start = np.where(diag, 1.0, 0.0) if theta0 is None else np.maximum(np.asarray(theta0, float), lb)
    bounds = [(b if np.isfinite(b) else None, None) for b in lb]
    fg = lambda x: _value_and_grad(fmany, np.asarray(x, float), lb)  # noqa: E731
    best = optimize.minimize(fg, start, jac=True, method="L-BFGS-B", bounds=bounds,
                             options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-8})
    theta = np.array(best.x, dtype=float)
    for i in np.flatnonzero(diag & (np.abs(theta) < 1e-4)):  # as fit_fast: lme4 reports 0
        trial = theta.copy()
        trial[i] = 0.0
        if fmany(trial[None])[0] <= best.fun + TOLERANCES["boundary_tol"]:
            theta = trial
    theta, stop = _newton_polish(fmany, theta, lb)
    pc = _general_pieces(setup, theta, reml)
    if pc is None:  # pragma: no cover - pathological data
        raise FloatingPointError("The deviance is not defined at the optimum.")
    p = setup.X.shape[1]
    RXinv = solve_triangular(pc["RX"], np.eye(p), lower=True)
    covs, ranef, k, pos = [], [], 0, 0
    for b in model.blocks:
        m = int(b.pattern.sum())
        lam = theta_to_lambda(theta[k : k + m], b.pattern)
        k += m
        covs.append(pc["sigma2"] * lam @ lam.T)
        ranef.append(np.asarray(pc["b"][pos : pos + b.n_levels * b.q]).reshape(b.n_levels, b.q))
        pos += b.n_levels * b.q
    return GeneralFit(theta, pc["deviance"], pc["beta"], pc["sigma2"] * (RXinv.T @ RXinv), float(pc["sigma2"]),
                      covs, ranef, n_evals, stop.scaled_gradient, stop.gradient)
