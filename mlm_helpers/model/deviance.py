"""The profiled deviance of a linear mixed model with one grouping factor: the one implementation.

This is the objective of Bates, Mächler, Bolker & Walker (2015, *J. Stat. Softw.* 67(1),
section 3) for models whose random effects all belong to one grouping factor. The model is

.. math:: y = X\\beta + Zb + \\varepsilon,\\quad b \\sim N(0, \\sigma^2\\Lambda_\\theta\\Lambda_\\theta^\\top),
          \\quad \\varepsilon \\sim N(0, \\sigma^2 I).

:math:`Z^\\top Z` is block diagonal, one q x q block per group, so everything runs on per-group
*sufficient statistics* :math:`Z_j^\\top Z_j, Z_j^\\top X_j, Z_j^\\top y_j` and on
:math:`X^\\top X, X^\\top y, y^\\top y` (:class:`SuffStats`). For a value of :math:`\\theta` (the
free entries of the lower-triangular relative covariance factor :math:`\\Lambda_\\theta`):

1. per group, :math:`M_j = \\Lambda^\\top Z_j^\\top Z_j \\Lambda + I_q = L_j L_j^\\top` and
   :math:`W_j = \\Lambda M_j^{-1} \\Lambda^\\top` (so that :math:`\\sigma^2 W_j` is the conditional
   covariance of :math:`b_j`);
2. :math:`R_X R_X^\\top = X^\\top X - \\sum_j X_j^\\top Z_j W_j Z_j^\\top X_j` and
   :math:`c_\\beta = R_X^{-1}(X^\\top y - \\sum_j X_j^\\top Z_j W_j Z_j^\\top y_j)`;
3. the penalised residual sum of squares
   :math:`r^2 = y^\\top y - \\sum_j y_j^\\top Z_j W_j Z_j^\\top y_j - \\lVert c_\\beta\\rVert^2`;
4. ML: :math:`d(\\theta) = \\log|L|^2 + n\\,[1 + \\log(2\\pi r^2 / n)]`;
   REML: :math:`d(\\theta) = \\log|L|^2 + \\log|R_X|^2 + (n-p)\\,[1 + \\log(2\\pi r^2/(n-p))]`.

(The sums over groups are lme4's :math:`\\lVert R_{ZX,j}\\rVert^2`, :math:`R_{ZX,j}^\\top c_{u,j}` and
:math:`\\lVert c_{u,j}\\rVert^2`, written through :math:`W_j`.) :math:`\\beta` and :math:`\\sigma^2`
have closed forms given :math:`\\theta`: they are "profiled out".

**Batches.** Every array may carry leading batch axes, and so may ``theta``: a grid of thetas, the
points of a finite-difference stencil, many simulated data sets on one design (only the
y-parts ``Zty``, ``Xty``, ``yty`` differ), or both at once. Batch axes broadcast as in numpy.
:func:`deviance_pieces` evaluates them all in one vectorised pass; :func:`profiled_deviance` is
the single-point form. Where the deviance is not defined (a factor that is not positive
definite, r^2 <= 0) the deviance is ``inf``.

Examples
--------
>>> import mlm_helpers as mh
>>> from mlm_helpers.model.frame import build_model
>>> ss = sufficient_stats(build_model("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff"),
...                                   warn_few_groups=False))
>>> round(profiled_deviance([0.8], ss), 3)
319.672
>>> deviance_many(np.array([[0.0], [0.8]]), ss).round(3).tolist()
[326.023, 319.672]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import solve_triangular as _solve_triangular

from ._numerics import LOG2PI, chol_batched, forward_batched, relative_factor

__all__ = ["SuffStats", "Pieces", "sufficient_stats", "sufficient_stats_arrays", "deviance_pieces",
           "deviance_many", "profiled_deviance", "theta_to_lambda", "theta_index", "lower_bounds",
           "conditional_modes", "response_parts", "InterceptStats", "intercept_stats",
           "intercept_deviance_pieces", "intercept_modes", "GeneralSetup", "general_setup", "general_pieces",
           "profiled_deviance_general", "theta_from_covs", "DENSE_MAX_Q"]


@dataclass
class SuffStats:
    """Per-group cross-products: everything the deviance needs, computed once.

    The design parts (``ZtZ``, and usually ``ZtX``, ``XtX``) are shared; the y-parts may carry
    leading batch axes (many data sets on one design), and so may ``ZtX`` and ``XtX`` (data sets
    whose fixed-effects designs differ).
    """

    ZtZ: np.ndarray  # (J, q, q)
    ZtX: np.ndarray  # (..., J, q, p)
    Zty: np.ndarray  # (..., J, q)
    XtX: np.ndarray  # (..., p, p)
    Xty: np.ndarray  # (..., p)
    yty: np.ndarray | float  # (...)
    n: int
    pattern: np.ndarray  # (q, q) bool, free entries of Lambda
    counts: np.ndarray  # (J,) rows per group
    _pxx: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def q(self) -> int:
        return self.pattern.shape[0]

    @property
    def p(self) -> int:
        return self.XtX.shape[-1]

    @property
    def n_theta(self) -> int:
        return int(self.pattern.sum())

    @property
    def shared_x(self) -> bool:
        """True when every data set in the batch has the same fixed-effects design."""
        return self.ZtX.ndim == 3

    def with_response(self, Zty: np.ndarray, Xty: np.ndarray, yty: np.ndarray | float) -> SuffStats:
        """The same design with other y-parts (one new response, or a batch of them)."""
        return SuffStats(self.ZtZ, self.ZtX, np.asarray(Zty, float), self.XtX, np.asarray(Xty, float),
                         np.asarray(yty, float) if np.ndim(yty) else float(yty), self.n, self.pattern,
                         self.counts, self._pxx)

    def xx_products(self) -> np.ndarray:
        """(J*q*q, p*p): the products Z_j'X_j (a) x Z_j'X_j (b) that turn sum_j X_j'Z_j W_j Z_j'X_j
        into one matrix product with the W_j (computed once, for a shared design)."""
        if self._pxx is None:
            J, q, p = self.ZtX.shape
            self._pxx = np.einsum("jap,jbr->jabpr", self.ZtX, self.ZtX).reshape(J * q * q, p * p)
        return self._pxx


def theta_index(pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the free entries, column by column (lme4's order).

    Examples
    --------
    >>> [a.tolist() for a in theta_index(np.tril(np.ones((2, 2), bool)))]
    [[0, 1, 1], [0, 0, 1]]
    """
    rows, cols = [], []
    q = pattern.shape[0]
    for j in range(q):
        for i in range(j, q):
            if pattern[i, j]:
                rows.append(i)
                cols.append(j)
    return np.array(rows, dtype=int), np.array(cols, dtype=int)


def theta_to_lambda(theta: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """Fill the lower-triangular relative covariance factor from theta (batch axes allowed).

    Examples
    --------
    >>> theta_to_lambda(np.array([1.0, 0.5, 2.0]), np.tril(np.ones((2, 2), bool)))
    array([[1. , 0. ],
           [0.5, 2. ]])
    """
    theta = np.asarray(theta, dtype=float)
    rows, cols = theta_index(pattern)
    lam = np.zeros(theta.shape[:-1] + pattern.shape)
    lam[..., rows, cols] = theta
    return lam


def lower_bounds(pattern: np.ndarray) -> np.ndarray:
    """0 for diagonal entries of Lambda (standard deviations), -inf for the others."""
    rows, cols = theta_index(pattern)
    return np.where(rows == cols, 0.0, -np.inf)


def sufficient_stats_arrays(
    y: np.ndarray, X: np.ndarray, Z: np.ndarray, codes: np.ndarray, n_levels: int, pattern: np.ndarray
) -> SuffStats:
    """Sufficient statistics from plain arrays (rows in any order; empty levels are dropped)."""
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
    J = len(counts)
    ZtZ = np.add.reduceat(Zs[:, :, None] * Zs[:, None, :], starts, axis=0) if q else np.zeros((J, 0, 0))
    ZtX = np.add.reduceat(Zs[:, :, None] * Xs[:, None, :], starts, axis=0) if q else np.zeros((J, 0, p))
    Zty = np.add.reduceat(Zs * ys[:, None], starts, axis=0) if q else np.zeros((J, 0))
    return SuffStats(ZtZ, ZtX, Zty, X.T @ X, X.T @ y, float(y @ y), n, pattern, counts)


def sufficient_stats(model) -> SuffStats:
    """Sufficient statistics of a checked model with at most one grouping factor (see ``build_model``)."""
    if len(model.blocks) > 1:
        from ..errors import MLMInputError

        raise MLMInputError("These sufficient statistics are for one grouping factor; this model has several.")
    if not model.blocks:
        z = np.zeros((model.nobs, 0))
        return sufficient_stats_arrays(model.y, model.X, z, np.zeros(model.nobs, dtype=np.intp), 1,
                                       np.zeros((0, 0), dtype=bool))
    b = model.blocks[0]
    return sufficient_stats_arrays(model.y, model.X, b.Z, b.codes, b.n_levels, b.pattern)


@dataclass
class Pieces:
    """Everything computed on the way to the deviance, with the batch axes in front.

    ``W`` is (..., J, q, q), ``L`` (..., J, q, q); ``RX`` (..., p, p) is lower triangular with
    ``RX @ RX.T = XtX - sum_j X_j'Z_j W_j Z_j'X_j``. lme4's per-group pieces ``RZX`` (..., J, q, p)
    and ``cu`` (..., J, q) are computed when asked for.
    """

    deviance: np.ndarray
    W: np.ndarray
    L: np.ndarray
    RX: np.ndarray
    cbeta: np.ndarray
    r2: np.ndarray
    ldL2: np.ndarray
    ldRX2: np.ndarray
    XtXa: np.ndarray
    V: np.ndarray  # (..., J, q, q): L_j^-1 Lambda'
    stats: SuffStats = field(repr=False)

    @property
    def RZX(self) -> np.ndarray:
        """lme4's R_ZX,j = L_j^-1 Lambda' Z_j'X_j, shape (..., J, q, p)."""
        return self.V @ self.stats.ZtX

    @property
    def cu(self) -> np.ndarray:
        """lme4's c_u,j = L_j^-1 Lambda' Z_j'y_j, shape (..., J, q)."""
        return (self.V @ self.stats.Zty[..., None])[..., 0]


def deviance_pieces(theta: np.ndarray, ss: SuffStats, reml: bool = True) -> Pieces:
    """The profiled deviance and its pieces at ``theta`` (..., n_theta), batched.

    Batch axes of ``theta`` broadcast with those of the statistics' y-parts (and ``ZtX``,
    ``XtX`` when they carry any). The deviance is ``inf`` where it is not defined.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> ss = sufficient_stats(build_model("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy")))
    >>> pc = deviance_pieces(np.array([[1.0, 0.0, 1.0], [0.97, 0.015, 0.23]]), ss)
    >>> pc.deviance.shape, pc.W.shape
    ((2,), (2, 18, 2, 2))
    """
    theta = np.asarray(theta, dtype=float)
    q, p = ss.q, ss.p
    batch = theta.shape[:-1]
    if q == 0:
        W = np.zeros(batch + (len(ss.counts), 0, 0))
        L = V = W
        ldL2 = np.zeros(batch)
        Sxx = np.zeros(batch + (p, p))
        Sxy = np.zeros(batch + (p,))
        Syy = np.zeros(batch)
    else:
        if q == 1:
            t2 = theta[..., 0, None] ** 2  # (..., 1)
            m = t2 * ss.ZtZ[:, 0, 0] + 1.0  # (..., J)
            w = t2 / m
            W = w[..., None, None]
            L = np.sqrt(m)[..., None, None]
            V = (theta[..., 0, None] / np.sqrt(m))[..., None, None]
            ldL2 = np.log(m).sum(axis=-1)
        else:
            lam = theta_to_lambda(theta, ss.pattern)[..., None, :, :]  # (..., 1, q, q)
            lamT = np.swapaxes(lam, -1, -2)
            M = lamT @ ss.ZtZ @ lam
            M[..., np.arange(q), np.arange(q)] += 1.0
            L = chol_batched(M)
            V = forward_batched(L, np.broadcast_to(lamT, M.shape))  # L^-1 Lambda'
            W = np.swapaxes(V, -1, -2) @ V
            with np.errstate(invalid="ignore", divide="ignore"):
                ldL2 = 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=(-1, -2))
        if ss.shared_x:
            J = ss.ZtZ.shape[0]
            if q == 1:
                Sxx = (w @ (ss.ZtX[:, 0, :, None] * ss.ZtX[:, 0, None, :]).reshape(J, p * p))
            else:
                Sxx = W.reshape(W.shape[:-3] + (J * q * q,)) @ ss.xx_products()
            Sxx = Sxx.reshape(Sxx.shape[:-1] + (p, p))
        else:
            Sxx = np.einsum("...jab,...jap,...jbr->...pr", W, ss.ZtX, ss.ZtX)
        WZty = (W @ ss.Zty[..., None])[..., 0]  # (..., J, q)
        Sxy = np.einsum("...ja,...jap->...p", WZty, ss.ZtX)
        Syy = np.einsum("...ja,...ja->...", WZty, ss.Zty)
    XtXa = ss.XtX - Sxx
    rhs = ss.Xty - Sxy
    RX = chol_batched(XtXa)
    cbeta = forward_batched(RX, rhs[..., None])[..., 0]
    r2 = ss.yty - Syy - (cbeta * cbeta).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ldRX2 = 2.0 * np.log(np.diagonal(RX, axis1=-2, axis2=-1)).sum(axis=-1)
        if reml:
            dof = ss.n - p
            dev = ldL2 + ldRX2 + dof * (1.0 + LOG2PI + np.log(r2 / dof))
        else:
            dev = ldL2 + ss.n * (1.0 + LOG2PI + np.log(r2 / ss.n))
    dev = np.where(np.isfinite(dev) & (r2 > 0), dev, np.inf)
    return Pieces(dev, W, L, RX, cbeta, r2, ldL2, ldRX2, XtXa, V, ss)


def deviance_many(thetas: np.ndarray, ss: SuffStats, reml: bool = True) -> np.ndarray:
    """The profiled deviance at the rows of ``thetas`` (K, n_theta): ``inf`` where undefined.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> ss = sufficient_stats(build_model("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy")))
    >>> deviance_many(np.array([[0.5], [1.0]]), ss).shape
    (2,)
    """
    th = np.atleast_2d(np.asarray(thetas, dtype=float))
    return deviance_pieces(th, ss, reml).deviance


def profiled_deviance(theta, ss: SuffStats, reml: bool = True) -> float:
    """The profiled deviance (or REML criterion) at one ``theta``: -2 x the log-likelihood.

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
    >>> from mlm_helpers.model.frame import build_model
    >>> ss = sufficient_stats(build_model("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy")))
    >>> round(profiled_deviance([1.0], ss) / 2, 2) > 0
    True
    """
    return float(deviance_pieces(np.atleast_1d(np.asarray(theta, dtype=float)), ss, reml).deviance)


def conditional_modes(pieces: Pieces, ss: SuffStats, beta: np.ndarray) -> np.ndarray:
    """The conditional modes (BLUPs) b_j = W_j (Z_j'y_j - Z_j'X_j beta), shape (..., J, q).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> ss = sufficient_stats(build_model("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy")))
    >>> pc = deviance_pieces(np.array([1.0]), ss)
    >>> beta = np.linalg.solve(pc.RX.T, pc.cbeta)
    >>> conditional_modes(pc, ss, beta).shape
    (18, 1)
    """
    resid = ss.Zty - np.einsum("...jap,...p->...ja", ss.ZtX, beta)
    return (pieces.W @ resid[..., None])[..., 0]


def response_parts(model, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The y-parts ``Zty`` (..., J, q), ``Xty`` (..., p), ``yty`` (...) for new responses ``Y`` (..., n).

    ``Y`` holds one response (n,) or a batch (R, n) in the model frame's row order; the groups come
    in the order of :func:`sufficient_stats`. Used to refit a model to new responses without
    rebuilding anything else.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> m = build_model("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> Zty, Xty, yty = response_parts(m, np.stack([m.y, 2 * m.y]))
    >>> Zty.shape, bool(np.allclose(Zty[0], sufficient_stats(m).Zty))
    ((2, 18, 2), True)
    """
    from scipy import sparse

    Y = np.asarray(Y, dtype=float)
    Xty = Y @ model.X
    yty = (Y * Y).sum(axis=-1)
    if not model.blocks:
        return np.zeros(Y.shape[:-1] + (1, 0)), Xty, yty
    b = model.blocks[0]
    n = len(b.codes)
    counts = np.bincount(b.codes, minlength=b.n_levels)
    keep = np.flatnonzero(counts > 0)
    G = sparse.csr_matrix((np.ones(n), (b.codes, np.arange(n))), shape=(b.n_levels, n))[keep]
    Zty = np.stack([(G @ (Y * b.Z[:, a]).reshape(-1, n).T).T.reshape(Y.shape[:-1] + (len(keep),))
                    for a in range(b.Z.shape[1])], axis=-1)
    return Zty, Xty, yty


# ------------------------------------------------------------------ several grouping factors, intercepts only
@dataclass
class InterceptStats:
    """Cross-products for ``y ~ X + (1 | g1) + (1 | g2) + ...``: crossed or nested random intercepts.

    The factor with most levels comes first: its block of Z'Z is diagonal, so the penalised normal
    equations are solved through the Schur complement of that block, and only the other factors'
    block is factorised densely (as lme4's sparse Cholesky does in effect). Dense in the smaller
    factors: for up to a few hundred levels there.
    """

    order: list[int]  # factor indices, the largest first
    n1: np.ndarray  # (J1,) rows per level of the first factor
    Z1W: np.ndarray  # (J1, p + 1): Z1'[X y]
    WtW: np.ndarray  # (p + 1, p + 1)
    Z1Z2: np.ndarray  # (J1, Q2)
    Z2Z2: np.ndarray  # (Q2, Q2)
    Z2W: np.ndarray  # (Q2, p + 1)
    expand2: np.ndarray  # (Q2,) factor (position in order[1:]) of each column of Z2
    n: int
    p: int


def intercept_stats(X: np.ndarray, y: np.ndarray, codes: list[np.ndarray], sizes: list[int]) -> InterceptStats:
    """Build :class:`InterceptStats` from the fixed-effects design, the response and each factor's codes."""
    order = [int(i) for i in np.argsort([-q for q in sizes], kind="stable")]
    n, p = X.shape
    W = np.column_stack([X, y])
    first = order[0]
    n1 = np.bincount(codes[first], minlength=sizes[first]).astype(float)
    Z1W = np.zeros((sizes[first], p + 1))
    np.add.at(Z1W, codes[first], W)
    rest = order[1:]
    Q2 = sum(sizes[i] for i in rest)
    Z2 = np.zeros((n, Q2))
    start = 0
    for i in rest:
        Z2[np.arange(n), start + codes[i]] = 1.0
        start += sizes[i]
    Z1Z2 = np.zeros((sizes[first], Q2))
    np.add.at(Z1Z2, codes[first], Z2)
    expand2 = np.repeat(np.arange(len(rest)), [sizes[i] for i in rest]) if rest else np.zeros(0, int)
    return InterceptStats(order, n1, Z1W, W.T @ W, Z1Z2, Z2.T @ Z2, Z2.T @ W, expand2, n, p)


@dataclass
class InterceptPieces:
    deviance: float
    RX: np.ndarray
    cbeta: np.ndarray
    r2: float
    d: np.ndarray  # (J1,) diagonal of the first factor's block
    A12: np.ndarray
    L: np.ndarray | None  # Cholesky factor of the Schur complement (other factors)


def intercept_deviance_pieces(theta: np.ndarray, st: InterceptStats, reml: bool = True) -> InterceptPieces:
    """The profiled deviance of a crossed or nested random-intercept model at ``theta`` (one per factor,
    in the model's factor order). ``inf`` where it is not defined.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> m = build_model("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"),
    ...                 warn_few_groups=False)
    >>> st = intercept_stats(m.X, m.y, [b.codes for b in m.blocks], [b.n_levels for b in m.blocks])
    >>> round(intercept_deviance_pieces(np.array([1.54, 3.51]), st).deviance / -2, 2)
    -165.43
    """
    theta = np.abs(np.asarray(theta, dtype=float))
    p, n = st.p, st.n
    t1 = theta[st.order[0]]
    d = t1 * t1 * st.n1 + 1.0
    W1 = t1 * st.Z1W
    G = W1.T @ (W1 / d[:, None])
    logdet = float(np.log(d).sum())
    A12 = np.zeros((len(d), 0))
    L = None
    if len(st.order) > 1:
        lam2 = theta[st.order[1:]][st.expand2]
        A12 = t1 * st.Z1Z2 * lam2[None, :]
        S = lam2[:, None] * st.Z2Z2 * lam2[None, :] + np.eye(len(lam2)) - A12.T @ (A12 / d[:, None])
        L = chol_batched(S) if len(lam2) <= 8 else np.linalg.cholesky(S)
        B = forward_batched(L, lam2[:, None] * st.Z2W - A12.T @ (W1 / d[:, None])) if len(lam2) <= 8 else \
            np.linalg.solve(L, lam2[:, None] * st.Z2W - A12.T @ (W1 / d[:, None]))
        G = G + B.T @ B
        logdet += 2.0 * float(np.log(np.diag(L)).sum())
    M = st.WtW - G
    RX = chol_batched(M[:p, :p])
    cb = forward_batched(RX, M[:p, p, None])[:, 0]
    r2 = float(M[p, p] - cb @ cb)
    with np.errstate(invalid="ignore", divide="ignore"):
        ldRX2 = 2.0 * float(np.log(np.diag(RX)).sum())
        if reml:
            dev = logdet + ldRX2 + (n - p) * (1.0 + LOG2PI + np.log(r2 / (n - p)))
        else:
            dev = logdet + n * (1.0 + LOG2PI + np.log(r2 / n))
    if not (np.isfinite(dev) and r2 > 0):
        dev = np.inf
    return InterceptPieces(float(dev), RX, cb, r2, d, A12, L)


def intercept_modes(theta: np.ndarray, pc: InterceptPieces, st: InterceptStats, beta: np.ndarray,
                    sizes: list[int]) -> list[np.ndarray]:
    """Conditional modes of every factor's random intercepts (in the model's factor order)."""
    theta = np.abs(np.asarray(theta, dtype=float))
    t1 = theta[st.order[0]]
    wbeta = np.concatenate([-beta, [1.0]])  # Z'(y - X beta) from the Z'[X y] products
    c1 = t1 * (st.Z1W @ wbeta)
    out: list[np.ndarray] = [np.zeros(0)] * len(sizes)
    if len(st.order) > 1:
        lam2 = theta[st.order[1:]][st.expand2]
        c2 = lam2 * (st.Z2W @ wbeta)
        rhs = c2 - pc.A12.T @ (c1 / pc.d)
        assert pc.L is not None  # several factors: the Schur complement was factorised
        u2 = np.linalg.solve(pc.L.T, np.linalg.solve(pc.L, rhs))
        u1 = (c1 - pc.A12 @ u2) / pc.d
        b2 = lam2 * u2
        start = 0
        for k, i in enumerate(st.order[1:]):
            out[i] = b2[start:start + sizes[i]]
            start += sizes[i]
            assert np.all(st.expand2[start - sizes[i]:start] == k)
    else:
        u1 = c1 / pc.d
    out[st.order[0]] = t1 * u1
    return out


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
class GeneralSetup:
    """Model pieces that do not depend on theta: sparse Z, X, y and the layout of Lambda."""

    Z: object  # scipy.sparse CSC, n x Q, columns level-major within each grouping factor
    X: np.ndarray
    y: np.ndarray
    patterns: list[np.ndarray]
    n_levels: list[int]

    @property
    def n_theta(self) -> int:
        return int(sum(p.sum() for p in self.patterns))


def general_setup(model, *, X: np.ndarray | None = None, y: np.ndarray | None = None) -> GeneralSetup:
    """The theta-free pieces of ``model``; ``X`` and ``y`` replace the model's own when given.

    Replacing them serves profiles over a fixed effect (drop its column, move it into an offset)
    and refits to simulated responses, on the same random-effects design.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> m = build_model("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"),
    ...                 warn_few_groups=False)
    >>> general_setup(m).n_theta
    2
    """
    from scipy import sparse

    n = model.nobs
    mats = []
    for b in model.blocks:
        rows = np.repeat(np.arange(n), b.q)
        cols = (b.codes[:, None] * b.q + np.arange(b.q)[None, :]).ravel()
        mats.append(sparse.csc_matrix((b.Z.ravel(), (rows, cols)), shape=(n, b.n_levels * b.q)))
    Z = sparse.hstack(mats, format="csc") if mats else sparse.csc_matrix((n, 0))
    X = model.X if X is None else np.asarray(X, dtype=float)
    y = model.y if y is None else np.asarray(y, dtype=float)
    return GeneralSetup(Z, X, y, [b.pattern for b in model.blocks], [b.n_levels for b in model.blocks])


def _general_lambda(setup: GeneralSetup, theta: np.ndarray):
    """Lambda_theta: block diagonal, one copy of each factor's q x q lower-triangular factor per level."""
    from scipy import sparse

    parts, k = [], 0
    for pat, J in zip(setup.patterns, setup.n_levels, strict=True):
        m = int(pat.sum())
        lam = theta_to_lambda(np.asarray(theta[k : k + m], float), pat)
        k += m
        parts.append(sparse.kron(sparse.identity(J, format="csc"), sparse.csc_matrix(lam), format="csc"))
    return sparse.block_diag(parts, format="csc") if parts else sparse.csc_matrix((0, 0))


def general_pieces(setup: GeneralSetup, theta: np.ndarray, reml: bool) -> dict | None:
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
    cbeta = _solve_triangular(RX, Xtya, lower=True)
    beta = _solve_triangular(RX.T, cbeta, lower=False)
    r2 = float(y @ y - G[p, p] - cbeta @ cbeta)  # penalised residual sum of squares
    if not r2 > 0 or not np.isfinite(ldL2):
        return None
    ldRX2 = 2.0 * float(np.log(np.diag(RX)).sum())
    if reml:
        dof = n - p
        dev = ldL2 + ldRX2 + dof * (1.0 + LOG2PI + np.log(r2 / dof))
    else:
        dof = n
        dev = ldL2 + n * (1.0 + LOG2PI + np.log(r2 / n))
    u = W[:, p] - W[:, :p] @ beta  # conditional modes of the spherical random effects
    return {"deviance": float(dev), "beta": beta, "RX": RX, "sigma2": r2 / dof, "b": Lam @ u}


def profiled_deviance_general(model, theta, reml: bool = True) -> float:
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
        From :func:`mlm_helpers.model.frame.build_model`, with any number of grouping factors.
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
    >>> from mlm_helpers.model.frame import build_model
    >>> m = build_model("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"),
    ...                 warn_few_groups=False)
    >>> round(profiled_deviance_general(m, [1.0, 1.0]), 4)  # lme4: 365.0734
    365.0734
    """
    setup = general_setup(model)
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    if len(theta) != setup.n_theta:
        from ..errors import MLMInputError

        raise MLMInputError(f"theta has {len(theta)} entries; this model has {setup.n_theta}.")
    pieces = general_pieces(setup, theta, reml)
    return np.inf if pieces is None else pieces["deviance"]


def theta_from_covs(model, covs: list[np.ndarray], sigma2: float) -> np.ndarray:
    """lme4's theta from covariance matrices of the random effects: Cholesky factors of cov / sigma^2.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> m = build_model("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> theta_from_covs(m, [np.array([[4.0, 1.0], [1.0, 1.0]])], 1.0).round(4).tolist()
    [2.0, 0.5, 0.866]
    """
    out = []
    for b, cov in zip(model.blocks, covs, strict=True):
        L = relative_factor(cov, sigma2, b.pattern)
        rows, cols = theta_index(b.pattern)
        out.append(L[rows, cols])
    return np.concatenate(out) if out else np.zeros(0)
