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
from typing import Any

import numpy as np

from ._numerics import LOG2PI, chol_batched, forward_batched, relative_factor

__all__ = ["SuffStats", "Pieces", "sufficient_stats", "sufficient_stats_arrays", "deviance_pieces",
           "deviance_many", "profiled_deviance", "theta_to_lambda", "theta_index", "lower_bounds",
           "conditional_modes", "response_parts", "GeneralSetup", "general_setup", "general_pieces",
           "profiled_deviance_general", "theta_from_covs", "random_effects_design",
           "relative_covariance_factor", "DENSE_MAX_Q"]


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
    key = (pattern.shape, pattern.tobytes())
    hit = _THETA_INDEX.get(key)
    if hit is not None:
        return hit[0].copy(), hit[1].copy()
    rows, cols = [], []
    q = pattern.shape[0]
    for j in range(q):
        for i in range(j, q):
            if pattern[i, j]:
                rows.append(i)
                cols.append(j)
    out = np.array(rows, dtype=int), np.array(cols, dtype=int)
    _THETA_INDEX[key] = out
    return out[0].copy(), out[1].copy()


_THETA_INDEX: dict = {}


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


# ---------------------------------------------------------------------------------------------
# Several grouping factors (crossed or nested, any random terms): the blocked Cholesky factor.
#
# The method of MixedModels.jl (Bates et al.; ``updateL!``, ``cholUnblocked!``, ``rankUpdate!``):
# the random-effect terms are ordered by their number of random effects, largest first, and
# A = [Z_1 Z_r X y]'[Z_1 Z_r X y] is computed once, by blocks. For a theta, the lower Cholesky
# factor L of Lambda'Z'Z Lambda + I is built block by block:
#
#   L_11 L_11' = Lambda_1'A_11 Lambda_1 + I      block diagonal: one q1 x q1 factor per level
#   L_r1       = Lambda_r'A_r1 Lambda_1 L_11^-T   sparse (the pattern of Z_r'Z_1)
#   L_rr L_rr' = Lambda_r'A_rr Lambda_r + I - L_r1 L_r1'
#
# where r stands for all the other terms together. L_rr is dense (up to ``DENSE_MAX_Q`` random
# effects), block diagonal when the first factor is nested in a second and last one (then
# L_r1 L_r1' stays block diagonal), and otherwise the sparse factorisation of the whole matrix.
# The rows of [X y] follow the same steps; their Schur complement gives R_X, c_beta and r^2.


#: Up to this many random effects in the terms after the largest one, their block is factorised
#: densely; above it (two huge crossed factors) the whole Lambda'Z'Z Lambda + I by SuperLU.
DENSE_MAX_Q = 3000
#: L_r1 is made dense for the rank update L_r1 L_r1' when at least this share of it is filled.
DENSE_SHARE = 0.05
#: The nested (block-diagonal) form is used from this many random effects in the second factor on
#: (below it the dense form is as fast).
NESTED_MIN_Q = 200


@dataclass
class GeneralSetup:
    """The theta-free pieces of a model with any number of grouping factors (blocks of A = [Z X y]'[Z X y]).

    ``order`` lists the model's blocks (``model.blocks`` order) largest first; ``mode`` says how
    the block of the later terms is factorised: ``"none"`` (at most one factor), ``"dense"``,
    ``"nested"`` (block diagonal) or ``"sparse"``.
    """

    X: np.ndarray
    y: np.ndarray
    patterns: list[np.ndarray]  # model order
    n_levels: list[int]  # model order
    qs: list[int]  # model order
    order: list[int]
    mode: str
    codes1: np.ndarray  # (n,) level of the first (largest) term
    Z1: np.ndarray  # (n, q1)
    A11: np.ndarray  # (J1, q1, q1)
    Z1W: np.ndarray  # (J1, q1, p + 1)
    Zr: Any  # scipy.sparse CSC (n, Q2): the other terms, level-major within each
    A21: Any  # scipy.sparse CSR (Q2, J1 q1)
    A22: Any  # dense (Q2, Q2), or sparse in the sparse mode, or (J2, q2, q2) when nested
    ZrW: np.ndarray  # (Q2, p + 1)
    WtW: np.ndarray  # (p + 1, p + 1)
    a21_rows: np.ndarray  # row of every stored entry of A21
    parent: Any = None  # nested: level of the second factor of each first-factor level
    A21b: Any = None  # nested: (J1, q2, q1) blocks of A21
    Z: Any = None  # sparse mode: the whole Z (model order)
    a22_diag: np.ndarray | None = None  # dense mode: the diagonal of A22 when A22 is diagonal
    #: dense mode: A21 Lambda_1 M_1^-1 Lambda_1' A21' (lower triangle) and A21 Lambda_1 L_11^-T by
    #: Lambda_1, a few recent ones (they depend on the first term's theta only)
    _k_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_theta(self) -> int:
        return int(sum(p.sum() for p in self.patterns))

    @property
    def p(self) -> int:
        return self.X.shape[1]

    def with_response(self, y: np.ndarray) -> GeneralSetup:
        """The same design with another response (a refit, a simulation, a bootstrap sample).

        Examples
        --------
        >>> import mlm_helpers as mh
        >>> from mlm_helpers.model.frame import build_model
        >>> m = build_model("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"),
        ...                 warn_few_groups=False)
        >>> s = general_setup(m)
        >>> bool(np.allclose(s.with_response(2 * m.y).WtW[-1, -1], 4 * s.WtW[-1, -1]))
        True
        """
        import dataclasses

        y = np.asarray(y, dtype=float)
        p = self.p
        Z1W = self.Z1W.copy()
        Z1W[:, :, p] = _group_sums(self.codes1, self.Z1 * y[:, None], len(Z1W))
        ZrW = self.ZrW.copy()
        ZrW[:, p] = self.Zr.T @ y
        WtW = self.WtW.copy()
        WtW[:p, p] = WtW[p, :p] = self.X.T @ y
        WtW[p, p] = y @ y
        return dataclasses.replace(self, y=y, Z1W=Z1W, ZrW=ZrW, WtW=WtW)


def _group_sums(codes: np.ndarray, V: np.ndarray, J: int) -> np.ndarray:
    """Sums of the rows of V (n, m) within each level: (J, m)."""
    out = np.empty((J, V.shape[1]))
    for a in range(V.shape[1]):
        out[:, a] = np.bincount(codes, weights=V[:, a], minlength=J)
    return out


def _sparse_z(codes: np.ndarray, Z: np.ndarray, J: int):
    from scipy import sparse

    n, q = Z.shape
    rows = np.repeat(np.arange(n), q)
    cols = (codes[:, None] * q + np.arange(q)[None, :]).ravel()
    return sparse.csc_matrix((Z.ravel(), (rows, cols)), shape=(n, J * q))


def general_setup(model, *, X: np.ndarray | None = None, y: np.ndarray | None = None) -> GeneralSetup:
    """The theta-free pieces of ``model``; ``X`` and ``y`` replace the model's own when given.

    Replacing them serves profiles over a fixed effect (drop its column, move it into an offset)
    and refits to simulated responses, on the same random-effects design
    (:meth:`GeneralSetup.with_response` swaps the response alone, more cheaply).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> m = build_model("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"),
    ...                 warn_few_groups=False)
    >>> s = general_setup(m)
    >>> s.n_theta, s.mode, [m.blocks[i].group for i in s.order]
    (2, 'dense', ['plate', 'sample'])
    """
    from scipy import sparse

    n = model.nobs
    X = model.X if X is None else np.asarray(X, dtype=float)
    y = model.y if y is None else np.asarray(y, dtype=float)
    p = X.shape[1]
    W = np.column_stack([X, y])
    blocks = model.blocks
    sizes = [b.n_levels * b.q for b in blocks]
    order = [int(i) for i in np.argsort([-s for s in sizes], kind="stable")]
    patterns = [b.pattern for b in blocks]
    n_levels = [b.n_levels for b in blocks]
    qs = [b.q for b in blocks]
    if blocks:
        b1 = blocks[order[0]]
        codes1, Z1, J1, q1 = np.asarray(b1.codes, np.intp), np.asarray(b1.Z, float), b1.n_levels, b1.q
    else:
        codes1, Z1, J1, q1 = np.zeros(n, np.intp), np.zeros((n, 0)), 0, 0
    A11 = _group_sums(codes1, (Z1[:, :, None] * Z1[:, None, :]).reshape(n, q1 * q1), J1).reshape(J1, q1, q1)
    Z1W = _group_sums(codes1, (Z1[:, :, None] * W[:, None, :]).reshape(n, q1 * (p + 1)), J1).reshape(J1, q1, p + 1)
    rest = order[1:]
    if rest:
        Zr = sparse.hstack([_sparse_z(blocks[i].codes, blocks[i].Z, blocks[i].n_levels) for i in rest], format="csc")
    else:
        Zr = sparse.csc_matrix((n, 0))
    Q2 = Zr.shape[1]
    A21 = (Zr.T @ _sparse_z(codes1, Z1, J1)).tocsr() if blocks else sparse.csr_matrix((0, 0))
    A21.sum_duplicates()
    A21.sort_indices()
    a21_rows = np.repeat(np.arange(A21.shape[0]), np.diff(A21.indptr))
    ZrW = np.asarray(Zr.T @ W)
    parent: Any = None
    A21b: Any = None
    Zfull: Any = None
    A22: Any
    if not rest:
        mode, A22 = "none", np.zeros((0, 0))
    else:
        mode = "dense"
        if len(rest) == 1:
            b2 = blocks[rest[0]]
            parents = np.full(J1, -1)
            parents[codes1] = b2.codes
            same = np.all(parents[codes1] == b2.codes)
            if same and Q2 >= NESTED_MIN_Q:  # the first factor nested in the second: L_rr is block diagonal
                mode, parent = "nested", parents
                q2 = b2.q
                A22 = _group_sums(b2.codes, (b2.Z[:, :, None] * b2.Z[:, None, :]).reshape(n, q2 * q2),
                                  b2.n_levels).reshape(b2.n_levels, q2, q2)
                A21b = _group_sums(codes1, (b2.Z[:, :, None] * Z1[:, None, :]).reshape(n, q2 * q1),
                                   J1).reshape(J1, q2, q1)
        if mode == "dense":
            if Q2 <= DENSE_MAX_Q:
                A22 = (Zr.T @ Zr).toarray()
            else:
                mode = "sparse"
                A22 = None
                Zfull = random_effects_design(model)
    a22_diag = None
    if mode == "dense":
        d22 = np.diag(A22).copy()
        if np.count_nonzero(A22) == np.count_nonzero(d22):
            a22_diag = d22
    return GeneralSetup(X, y, patterns, n_levels, qs, order, mode, codes1, Z1, A11, Z1W, Zr, A21, A22, ZrW,
                        W.T @ W, a21_rows, parent, A21b, Zfull, a22_diag)


def _split_theta(setup: GeneralSetup, theta: np.ndarray) -> list[np.ndarray]:
    """Each block's Lambda (model order) from theta."""
    lams, k = [], 0
    for pat in setup.patterns:
        m = int(pat.sum())
        lams.append(theta_to_lambda(theta[k : k + m], pat))
        k += m
    return lams


def _blockdiag(blocks: np.ndarray):
    """A sparse block-diagonal matrix from a stack (J, a, b) of blocks."""
    from scipy import sparse

    J, a, b = blocks.shape
    return sparse.bsr_matrix((blocks, np.arange(J), np.arange(J + 1)), shape=(J * a, J * b)).tocsr()


def _rest_lambda(setup: GeneralSetup, lams: list[np.ndarray]):
    """Lambda_r of the later terms: a vector (all scalar terms) or a sparse block-diagonal matrix."""
    from scipy import sparse

    rest = setup.order[1:]
    if all(setup.qs[i] == 1 for i in rest):
        return np.concatenate([np.full(setup.n_levels[i], lams[i][0, 0]) for i in rest])
    return sparse.block_diag([_blockdiag(np.broadcast_to(lams[i], (setup.n_levels[i],) + lams[i].shape))
                              for i in rest], format="csr")


def _trisolve(L: np.ndarray, B: np.ndarray, trans: int = 0) -> np.ndarray:
    """Solve L X = B (``trans=1``: L' X = B) for lower-triangular L: LAPACK's dtrtrs, no checks."""
    from scipy.linalg.lapack import dtrtrs

    X, info = dtrtrs(L, B, lower=1, trans=trans)
    return X


def general_pieces(setup: GeneralSetup, theta: np.ndarray, reml: bool, *, modes: bool = True) -> dict | None:
    """Everything the estimates need at theta (None where the deviance is undefined).

    Returns a dict with ``deviance``, ``beta``, ``RX`` (lower triangular, ``RX @ RX.T`` = X'V^-1 X
    times sigma^2), ``cbeta``, ``r2``, ``sigma2`` and ``b``, the conditional modes of all random
    effects stacked in ``model.blocks`` order (level-major within a block; left out, as ``None``,
    with ``modes=False``, which an optimiser's evaluations use).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> m = build_model("strength ~ 1 + (1 | batch/cask)", mh.load_dataset("pastes"), warn_few_groups=False)
    >>> pc = general_pieces(general_setup(m), np.array([1.3, 3.1]), True)
    >>> pc["b"].shape, round(pc["deviance"], 4)
    ((40,), 247.4946)
    """
    theta = np.asarray(theta, dtype=float)
    if setup.mode == "sparse":
        return _sparse_pieces(setup, theta, reml)
    n, p = setup.X.shape
    lams = _split_theta(setup, theta)
    J1, q1 = setup.A11.shape[:2]
    lam1 = lams[setup.order[0]] if lams else np.zeros((0, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        if q1 == 1:
            t = lam1[0, 0]
            d = t * t * setup.A11[:, 0, 0] + 1.0
            sd = np.sqrt(d)
            L1 = sd[:, None, None]
            R1 = (t / sd)[:, None, None]  # L_11^-1 Lambda_1'
            ldL2 = float(np.log(d).sum())
        else:
            M1 = lam1.T @ setup.A11 @ lam1
            M1[:, np.arange(q1), np.arange(q1)] += 1.0
            L1 = chol_batched(M1)
            R1 = forward_batched(L1, np.broadcast_to(lam1.T, M1.shape))
            ldL2 = 2.0 * float(np.log(np.diagonal(L1, axis1=1, axis2=2)).sum()) if J1 else 0.0
    if not np.isfinite(ldL2):
        return None
    c1 = R1 @ setup.Z1W  # (J1, q1, p + 1)
    c1f = c1.reshape(J1 * q1, p + 1)
    G = c1f.T @ c1f
    L2: Any = None
    L21: Any = None
    c2: Any = None
    lamr: Any = None
    if setup.mode == "dense":
        lamr = _rest_lambda(setup, lams)
        K, A21R = _first_term_product(setup, lam1, R1)
        Q2 = K.shape[0]
        vector = isinstance(lamr, np.ndarray)
        if vector:
            # S = Lambda_r'(A22 - K) Lambda_r + I, the lower triangle (all that dpotrf reads)
            S = K * (-lamr[:, None])
            S *= lamr[None, :]
            if setup.a22_diag is not None:
                S[np.arange(Q2), np.arange(Q2)] += lamr * lamr * setup.a22_diag
            else:
                S += lamr[:, None] * setup.A22 * lamr[None, :]
            rhs2 = lamr[:, None] * (setup.ZrW - A21R @ c1f)
        else:
            Kf = K + np.tril(K, -1).T
            S = np.asarray(lamr.T @ (lamr.T @ (setup.A22 - Kf)).T)
            rhs2 = np.asarray(lamr.T @ (setup.ZrW - A21R @ c1f))
        S[np.arange(Q2), np.arange(Q2)] += 1.0
        from scipy.linalg import lapack

        L2, info = lapack.dpotrf(S, lower=1, clean=1, overwrite_a=1)
        if info != 0:
            return None
        c2 = _trisolve(L2, rhs2)
        ldL2 += 2.0 * float(np.log(np.diag(L2)).sum())
        G += c2.T @ c2
        if modes:
            L21 = A21R.multiply(lamr[:, None]).tocsr() if vector else (lamr.T @ A21R).tocsr()
    elif setup.mode == "nested":
        i2 = setup.order[1]
        lam2 = lams[i2]
        q2 = lam2.shape[0]
        J2 = setup.n_levels[i2]
        L21 = lam2.T @ setup.A21b @ np.swapaxes(R1, 1, 2)  # (J1, q2, q1): one block per first-factor level
        S = lam2.T @ setup.A22 @ lam2
        S[:, np.arange(q2), np.arange(q2)] += 1.0
        upd = (L21 @ np.swapaxes(L21, 1, 2)).reshape(J1, q2 * q2)
        S -= _group_sums(setup.parent, upd, J2).reshape(J2, q2, q2)
        L2 = chol_batched(S)
        rhs2 = (lam2.T @ setup.ZrW.reshape(J2, q2, p + 1)) \
            - _group_sums(setup.parent, (L21 @ c1).reshape(J1, q2 * (p + 1)), J2).reshape(J2, q2, p + 1)
        c2 = forward_batched(L2, rhs2)
        with np.errstate(invalid="ignore", divide="ignore"):
            ldL2 += 2.0 * float(np.log(np.diagonal(L2, axis1=1, axis2=2)).sum())
        if not np.isfinite(ldL2):
            return None
        c2f = c2.reshape(J2 * q2, p + 1)
        G += c2f.T @ c2f
    M = setup.WtW - G
    try:
        RX = np.linalg.cholesky(M[:p, :p])
    except np.linalg.LinAlgError:
        return None
    cbeta = _trisolve(RX, M[:p, p])
    beta = _trisolve(RX, cbeta, trans=1)
    r2 = float(M[p, p] - cbeta @ cbeta)
    dev, dof = _deviance(ldL2, RX, r2, n, p, reml)
    if dev is None:
        return None
    if not modes:
        return {"deviance": dev, "beta": beta, "RX": RX, "cbeta": cbeta, "r2": r2, "sigma2": r2 / dof, "b": None}
    # Conditional modes: back-substitution through L' with the right-hand side Lambda'Z'(y - X beta).
    wb = np.concatenate([-beta, [1.0]])
    v1 = c1 @ wb  # (J1, q1)
    out: list[np.ndarray] = [np.zeros(0)] * len(setup.patterns)
    if setup.mode == "dense":
        u2 = _trisolve(L2, c2 @ wb, trans=1)
        v1 = v1 - (L21.T @ u2).reshape(J1, q1)
        b2 = lamr * u2 if isinstance(lamr, np.ndarray) else lamr @ u2
        start = 0
        for i in setup.order[1:]:
            size = setup.n_levels[i] * setup.qs[i]
            out[i] = np.asarray(b2[start : start + size])
            start += size
    elif setup.mode == "nested":
        u2 = np.linalg.solve(np.swapaxes(L2, 1, 2), (c2 @ wb)[..., None])[..., 0]  # (J2, q2)
        v1 = v1 - (np.swapaxes(L21, 1, 2) @ u2[setup.parent][..., None])[..., 0]
        out[setup.order[1]] = (u2 @ lams[setup.order[1]].T).ravel()
    if J1:
        u1 = np.linalg.solve(np.swapaxes(L1, 1, 2), v1[..., None])[..., 0]
        out[setup.order[0]] = (u1 @ lam1.T).ravel()
    b = np.concatenate(out) if out else np.zeros(0)
    return {"deviance": dev, "beta": beta, "RX": RX, "cbeta": cbeta, "r2": r2, "sigma2": r2 / dof, "b": b}


def _first_term_product(setup: GeneralSetup, lam1: np.ndarray, R1: np.ndarray) -> tuple[np.ndarray, Any]:
    """K = A21 R1' R1 A21' (lower triangle, Q2 x Q2) and A21 R1' (sparse), with R1 = L_11^-1 Lambda_1'.

    Both depend on the first term's theta only: points of a finite-difference stencil that move
    the other terms' theta share them, so a few recent ones are kept in ``setup._k_cache``.
    """
    key = lam1.tobytes()
    cache = setup._k_cache
    hit = cache.get(key)
    if hit is not None:
        return hit
    A21 = setup.A21
    J1, q1 = R1.shape[:2]
    if q1 == 1:
        vals = A21.data * R1[:, 0, 0][A21.indices]
        A21R = type(A21)((vals, A21.indices, A21.indptr), shape=A21.shape)
    else:
        A21R = (A21 @ _blockdiag(np.swapaxes(R1, 1, 2))).tocsr()
    if A21R.nnz >= DENSE_SHARE * A21R.shape[0] * A21R.shape[1]:
        from scipy.linalg.blas import dsyrk

        K = dsyrk(1.0, A21R.toarray(), lower=1)
    else:
        K = np.tril((A21R @ A21R.T).toarray())
    Q2 = K.shape[0]
    keep = max(2, min(8, int(64e6 // max(1, 8 * Q2 * Q2))))
    while len(cache) >= keep:
        cache.pop(next(iter(cache)))
    cache[key] = (K, A21R)
    return K, A21R


def _deviance(ldL2: float, RX: np.ndarray, r2: float, n: int, p: int, reml: bool) -> tuple[float | None, int]:
    """The profiled deviance from its pieces (None where it is undefined)."""
    if not (r2 > 0 and np.isfinite(ldL2)):
        return None, 1
    if reml:
        ldRX2 = 2.0 * float(np.log(np.diag(RX)).sum())
        dof = n - p
        return float(ldL2 + ldRX2 + dof * (1.0 + LOG2PI + np.log(r2 / dof))), dof
    return float(ldL2 + n * (1.0 + LOG2PI + np.log(r2 / n))), n


def random_effects_design(model):
    """The sparse random-effects design Z (n x Q, scipy.sparse CSC) in ``model.blocks`` order.

    Columns are level-major within each grouping factor (level 1's q columns, then level 2's),
    matching :func:`relative_covariance_factor` and the stacked conditional modes ``"b"`` of
    :func:`general_pieces`.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> m = build_model("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"),
    ...                 warn_few_groups=False)
    >>> random_effects_design(m).shape  # 24 plates + 6 samples
    (144, 30)
    """
    from scipy import sparse

    parts = [_sparse_z(b.codes, b.Z, b.n_levels) for b in model.blocks]
    return sparse.hstack(parts, format="csc") if parts else sparse.csc_matrix((model.nobs, 0))


def relative_covariance_factor(setup: GeneralSetup, theta: np.ndarray):
    """Lambda_theta (Q x Q, scipy.sparse CSC, ``model.blocks`` order), one copy of each factor's
    lower-triangular factor per level, so that Var(b) = sigma^2 Lambda Lambda'.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> from mlm_helpers.model.frame import build_model
    >>> m = build_model("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"),
    ...                 warn_few_groups=False)
    >>> relative_covariance_factor(general_setup(m), np.array([1.5, 3.0])).diagonal()[[0, 24]].tolist()
    [1.5, 3.0]
    """
    return _general_lambda(setup, theta)


def _general_lambda(setup: GeneralSetup, theta: np.ndarray):
    """Lambda_theta (model order): block diagonal, one copy of each factor's factor per level."""
    from scipy import sparse

    parts = [_blockdiag(np.broadcast_to(lam, (J,) + lam.shape))
             for lam, J in zip(_split_theta(setup, theta), setup.n_levels, strict=True)]
    return sparse.block_diag(parts, format="csc") if parts else sparse.csc_matrix((0, 0))


def _sparse_pieces(setup: GeneralSetup, theta: np.ndarray, reml: bool) -> dict | None:
    """The fallback for two huge crossed factors: SuperLU of the whole Lambda'Z'Z Lambda + I.

    Symmetric mode without pivoting off the diagonal: for a positive definite matrix its U has
    L's squared diagonal.
    """
    from scipy import sparse
    from scipy.linalg import solve_triangular
    from scipy.sparse.linalg import splu

    X, y = setup.X, setup.y
    n, p = X.shape
    Lam = _general_lambda(setup, theta)
    ZL = (setup.Z @ Lam).tocsc()
    Q = ZL.shape[1]
    A = (ZL.T @ ZL + sparse.identity(Q, format="csc")).tocsc()
    rhs = np.column_stack([np.asarray(ZL.T @ X), np.asarray(ZL.T @ y)])
    lu = splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    d = lu.U.diagonal()
    if np.any(d <= 0):
        return None
    ldL2 = float(np.log(d).sum())
    W = lu.solve(rhs)
    G = rhs.T @ W
    try:
        RX = np.linalg.cholesky(X.T @ X - G[:p, :p])
    except np.linalg.LinAlgError:
        return None
    cbeta = solve_triangular(RX, X.T @ y - G[:p, p], lower=True)
    beta = solve_triangular(RX.T, cbeta, lower=False)
    r2 = float(y @ y - G[p, p] - cbeta @ cbeta)
    dev, dof = _deviance(ldL2, RX, r2, n, p, reml)
    if dev is None:
        return None
    u = W[:, p] - W[:, :p] @ beta
    return {"deviance": dev, "beta": beta, "RX": RX, "cbeta": cbeta, "r2": r2, "sigma2": r2 / dof,
            "b": np.asarray(Lam @ u)}


def profiled_deviance_general(model, theta, reml: bool = True) -> float:
    """lme4's profiled deviance (or REML criterion) for any number of grouping factors.

    The computation of Bates, Mächler, Bolker & Walker (2015, *J. Stat. Softw.* 67(1),
    eqs. 10-17), with the blocked Cholesky factor of MixedModels.jl (see :func:`general_pieces`):
    :math:`L L^\\top = \\Lambda^\\top Z^\\top Z \\Lambda + I` block by block, then :math:`R_X`,
    the penalised residual sum of squares :math:`r^2` and

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
