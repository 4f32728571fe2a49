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

from ._numerics import LOG2PI, chol_batched, forward_batched

__all__ = ["SuffStats", "Pieces", "sufficient_stats", "sufficient_stats_arrays", "deviance_pieces",
           "deviance_many", "profiled_deviance", "theta_to_lambda", "theta_index", "lower_bounds",
           "conditional_modes", "response_parts"]


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
    ``RX @ RX.T = XtX - sum_j X_j'Z_j W_j Z_j'X_j``.
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
        L = W
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
    return Pieces(dev, W, L, RX, cbeta, r2, ldL2, ldRX2, XtXa)


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
