r"""Denominator degrees of freedom for the fixed effects (the ``df`` column of ``result.fixed``).

Part of a fitted model's fixed-effects table, so it lives in the model layer; the multi-df Wald
test built on it is :func:`mlm_helpers.inference.wald.wald_test`.

Four methods, chosen with ``mh.fit(..., ddf=...)`` and recorded in ``result.ddf``:

``"satterthwaite"`` (the default, as lmerTest)
    Kuznetsova, Brockhoff & Christensen (2017, *J. Stat. Softw.* 82(13)). The variance
    parameters are :math:`\varphi = (\theta, \sigma)`. Their covariance is
    :math:`A = 2H^{-1}`, with :math:`H` the Hessian of the deviance
    :math:`d(\theta, \sigma)` (the profiled deviance with :math:`\sigma` held, not profiled out);
    the covariance of :math:`\hat\gamma` is :math:`V(\varphi) = \sigma^2 (X^\top \Sigma_\theta^{-1}
    X)^{-1}`, and for a contrast :math:`l`,
    :math:`\nu = 2 (l^\top V l)^2 / (g^\top A g)` with :math:`g_k = l^\top (\partial V/\partial
    \varphi_k) l`. :math:`H` and :math:`\partial V/\partial\theta` come from central differences of
    the one profiled deviance (:func:`~mlm_helpers.model.deviance.deviance_pieces`, one batched
    call for one grouping factor; :func:`~mlm_helpers.model.deviance.general_pieces` otherwise).
``"kenward-roger"`` (REML fits only; as pbkrtest)
    Kenward & Roger (1997, *Biometrics* 53); Halekoh & Højsgaard (2014, *J. Stat. Softw.*
    59(9)). The covariance parameters are pbkrtest's: every free variance and covariance of
    the random effects and :math:`\sigma^2`, so that :math:`\Sigma = \sum_r \gamma_r G_r`. The
    adjusted covariance :math:`\Phi_A = \Phi + 2\Phi U \Phi` replaces :math:`\Phi =
    (X^\top\Sigma^{-1}X)^{-1}` (the standard errors in ``result.fixed`` are adjusted), and the
    df are pbkrtest's ``Lb_ddf``. :math:`\Sigma^{-1}` is applied by the Woodbury identity through
    the sparse :math:`Z\Lambda_\theta`, so no :math:`n \times n` matrix is formed.
``"between-within"``
    The containment rule (SAS's ``DDFM=BETWITHIN``): a fixed effect whose column is constant
    within the groups of a grouping factor gets that factor's between-group df (groups minus the
    number of such terms, the intercept included); every other term gets the within df
    :math:`N - J - p_\text{within}`. With several factors the one with most levels is used.
``"normal"``
    Wald z with a normal reference (df = inf): what statsmodels reports.

Examples
--------
>>> import mlm_helpers as mh
>>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
>>> res.ddf, res.fixed["df"].round(2).tolist()  # lmerTest: 17.00, 17.00
('satterthwaite', [17.0, 17.0])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from .._threads import single_blas_thread
from ..errors import MLMInputError
from ._numerics import grad_hess_batched, stencil_batched
from .deviance import (
    GeneralSetup,
    deviance_pieces,
    general_pieces,
    general_setup,
    random_effects_design,
    relative_covariance_factor,
    sufficient_stats,
    theta_from_covs,
    theta_index,
)

#: A fitted ``MixedResult`` (named loosely: result.py imports this module, not the reverse).
FittedModel = Any

#: The denominator-degrees-of-freedom methods of ``mh.fit(..., ddf=...)``.
DDF_METHODS: tuple[str, ...] = ("satterthwaite", "kenward-roger", "between-within", "normal")


def check_ddf(ddf: object, reml: bool) -> str:
    """The validated ddf method name (an MLMInputError names the choices otherwise).

    Examples
    --------
    >>> check_ddf("Satterthwaite", True)
    'satterthwaite'
    """
    if not isinstance(ddf, str) or ddf.lower() not in DDF_METHODS:
        raise MLMInputError(f"ddf must be one of {', '.join(map(repr, DDF_METHODS))}; got {ddf!r}.")
    ddf = ddf.lower()
    if ddf == "kenward-roger" and not reml:
        raise MLMInputError("ddf='kenward-roger' needs a REML fit (reml=True), as pbkrtest; for an ML fit use "
                            "ddf='satterthwaite'.")
    return ddf

__all__ = ["fixed_table", "satterthwaite_parts", "satterthwaite_df", "determined_df", "kenward_roger_parts", "contrast_df", "DDF_METHODS", "check_ddf"]

#: Relative step of the central differences (Satterthwaite): h = STEP * max(1, |phi|).
STEP = 1e-3


# ------------------------------------------------------------------ Satterthwaite
@dataclass
class SatterthwaiteParts:
    """What every Satterthwaite contrast needs: V, its Jacobian over (theta, sigma), and A."""

    vcov: np.ndarray  # (p, p)
    jac: np.ndarray  # (k, p, p): dV / d phi_k
    A: np.ndarray  # (k, k): covariance of the variance parameters, 2 H^-1


def _theta(res: FittedModel) -> np.ndarray:
    """lme4's theta on the model's own scale (whatever the engine optimised on)."""
    return theta_from_covs(res.model, [np.asarray(c, float) for c in res._raw.covs], res.sigma2)


def _profile(res: FittedModel):
    """thetas (K, k) -> (profiled deviance, sigma^2 estimate, X' Sigma^-1 X * sigma^2) at each."""
    model = res.model
    n, p = model.X.shape
    m = n - p if res.reml else n
    if len(model.blocks) == 1:
        ss = sufficient_stats(model)

        def f(thetas: np.ndarray):
            pc = deviance_pieces(thetas, ss, res.reml)
            return pc.deviance, pc.r2 / m, pc.XtXa
    else:
        # The fast engine's theta-free pieces when the result carries them (a refit in a
        # simulation loop then pays for the stencil only).
        state = res._raw.state
        setup = state if (isinstance(state, GeneralSetup) and state.X.shape == model.X.shape
                          and np.array_equal(state.y, model.y) and np.array_equal(state.X, model.X)) \
            else general_setup(model)

        def f(thetas: np.ndarray):
            dev, s2, xx = [], [], []
            for t in thetas:
                pc = general_pieces(setup, t, res.reml, modes=False)
                if pc is None:
                    dev.append(np.inf)
                    s2.append(np.nan)
                    xx.append(np.full((p, p), np.nan))
                else:
                    dev.append(pc["deviance"])
                    s2.append(pc["sigma2"])
                    xx.append(pc["RX"] @ pc["RX"].T)
            return np.array(dev), np.array(s2), np.array(xx)
    return f, m


@single_blas_thread
def satterthwaite_parts(res: FittedModel) -> SatterthwaiteParts:
    """V, dV/dphi and A = 2 H^-1 at the estimates, from one stencil of the profiled deviance.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
    >>> satterthwaite_parts(res).A.shape
    (2, 2)
    """
    f, m = _profile(res)
    sigma = np.sqrt(res.sigma2)
    x0 = np.concatenate([_theta(res), [sigma]])
    k = len(x0)
    h = STEP * np.maximum(1.0, np.abs(x0))
    pts, pairs = stencil_batched(x0[None], h[None], k, True)
    pts = pts[0]
    dev, s2, xx = f(pts[:, :-1])
    sig2 = pts[:, -1] ** 2
    # the deviance with sigma held: d(theta) - m [1 + log(2 pi s2)] + m s2 / sigma^2 + m log(2 pi sigma^2)
    d = dev - m * (1.0 + np.log(s2)) + m * s2 / sig2 + m * np.log(sig2)
    _, H = grad_hess_batched(d[None], h[None], k, pairs, True)
    H = H[0]
    try:
        A = 2.0 * np.linalg.inv(H)
    except np.linalg.LinAlgError:  # pragma: no cover - a flat direction
        A = 2.0 * np.linalg.pinv(H)
    inv = np.linalg.inv(xx)  # (P, p, p)
    V = res.sigma2 * inv[0]
    jac = np.empty((k,) + V.shape)
    for a in range(k - 1):
        jac[a] = res.sigma2 * (inv[1 + 2 * a] - inv[2 + 2 * a]) / (2 * h[a])
    jac[k - 1] = 2.0 * sigma * inv[0]
    return SatterthwaiteParts(V, jac, A)


def satterthwaite_df(parts: SatterthwaiteParts, L: np.ndarray) -> np.ndarray:
    """Satterthwaite df of each contrast (row) of ``L`` (r, p), as lmerTest's ``contest1D``.

    ``2 (l' V l)^2 / (g' A g)``, with ``g`` the gradient of ``l' V l`` over the variance
    parameters and ``A`` their asymptotic covariance (:func:`satterthwaite_parts`). Unrounded:
    ``result.fixed`` shows them to :data:`DF_DIGITS` significant digits.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> satterthwaite_df(satterthwaite_parts(res), np.eye(2)).round(2).tolist()  # lmerTest: 17, 17
    [17.0, 17.0]
    """
    var = np.einsum("ip,pq,iq->i", L, parts.vcov, L)
    g = np.einsum("ip,kpq,iq->ik", L, parts.jac, L)
    denom = np.einsum("ik,kl,il->i", g, parts.A, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 2.0 * var**2 / denom, np.inf)


# ------------------------------------------------------------------ Kenward-Roger
@dataclass
class KRParts:
    """pbkrtest's vcovAdj: Phi, the adjusted PhiA, and the P_r and W it carries."""

    Phi: np.ndarray
    PhiA: np.ndarray
    P: list[np.ndarray]
    W: np.ndarray


@single_blas_thread
def kenward_roger_parts(res: FittedModel) -> KRParts:
    """pbkrtest's ``vcovAdj`` (Kenward & Roger 1997) through Woodbury and sparse algebra.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"),
    ...              ddf="kenward-roger")
    >>> kenward_roger_parts(res).W.shape  # tau00 and sigma^2
    (2, 2)
    """
    from scipy.linalg import cho_factor, cho_solve

    model = res.model
    if not res.reml:
        raise MLMInputError("Kenward-Roger needs a REML fit (pbkrtest's rule); refit with reml=True, or use "
                            "ddf='satterthwaite'.")
    X = model.X
    setup = general_setup(model)
    Z: Any = random_effects_design(model)  # scipy.sparse CSC
    s2 = res.sigma2
    U = (Z @ relative_covariance_factor(setup, _theta(res))).tocsc()
    C = (U.T @ U).toarray()
    Q = C.shape[0]
    cf = cho_factor(C + np.eye(Q), lower=True)

    def sinv(B: np.ndarray) -> np.ndarray:
        return (B - U @ cho_solve(cf, np.asarray(U.T @ B))) / s2

    SX = sinv(X)
    Phi = np.linalg.inv(X.T @ SX)
    SSX = sinv(SX)
    ZtZ = (Z.T @ Z).toarray()
    ZtU = (Z.T @ U).toarray()
    KUtZ = cho_solve(cf, ZtU.T)
    M = (ZtZ - ZtU @ KUtZ) / s2  # Z' Sigma^-1 Z
    KC = cho_solve(cf, C)
    N = (ZtZ - 2 * ZtU @ KUtZ + ZtU @ KC @ KUtZ) / s2**2  # Z' Sigma^-2 Z
    tr_s2 = (Z.shape[0] - 2 * np.trace(KC) + np.sum(KC * KC.T)) / s2**2  # tr(Sigma^-2)
    ZtSX = np.asarray(Z.T @ SX)
    ZtSSX = np.asarray(Z.T @ SSX)
    # E_r: one free variance or covariance of one factor, as kron(I_J, e_i e_j' + e_j e_i')
    Es = []
    off = 0
    for b in model.blocks:
        for i, j in zip(*theta_index(b.pattern), strict=True):
            E = np.zeros((b.q, b.q))
            E[i, j] = E[j, i] = 1.0
            Es.append((off, b.n_levels, b.q, E))
        off += b.n_levels * b.q

    def apply(E_spec, B: np.ndarray) -> np.ndarray:
        o, J, q, E = E_spec
        out = np.zeros_like(B)
        blk = B[o:o + J * q].reshape(J, q, -1)
        out[o:o + J * q] = (E[None] @ blk).reshape(J * q, -1)
        return out

    F = [apply(E, ZtSX) for E in Es]
    EM = [apply(E, M) for E in Es]
    nr = len(Es)
    g = nr + 1
    P = [-(ZtSX.T @ Fr) for Fr in F] + [-(SX.T @ SX)]
    P = [(x + x.T) / 2 for x in P]
    Qm = np.empty((g, g), dtype=object)
    K = np.empty((g, g))
    for r in range(nr):
        for s in range(r, nr):
            Qm[r, s] = F[r].T @ M @ F[s]
            K[r, s] = np.sum(EM[r] * EM[s].T)
        Qm[r, nr] = F[r].T @ ZtSSX
        K[r, nr] = np.sum(apply(Es[r], N).diagonal())
    Qm[nr, nr] = SX.T @ SSX
    K[nr, nr] = tr_s2
    IE2 = np.empty((g, g))
    for r in range(g):
        for s in range(r, g):
            IE2[r, s] = IE2[s, r] = K[r, s] - 2 * np.sum(Phi * Qm[r, s]) + np.sum((Phi @ P[r]) * (P[s] @ Phi))
            if s > r:
                Qm[s, r] = Qm[r, s].T
                K[s, r] = K[r, s]
    W = 2 * np.linalg.inv(IE2) if np.min(np.abs(np.linalg.eigvalsh(IE2))) > 1e-10 else 2 * np.linalg.pinv(IE2)
    Um = np.zeros_like(Phi)
    for r in range(g):
        for s in range(g):
            Um += W[r, s] * (Qm[r, s] - P[r] @ Phi @ P[s])
    PhiA = Phi + 2 * Phi @ Um @ Phi
    return KRParts(Phi, (PhiA + PhiA.T) / 2, P, W)


def _kr_df(parts: KRParts, L: np.ndarray) -> tuple[float, float]:
    """pbkrtest's df (Lb_ddf / .KR_adjust) for the rows of L, and the F scaling."""
    Phi = parts.Phi
    Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
    TP = Theta @ Phi
    u = [TP @ Pr @ Phi for Pr in parts.P]
    A1 = A2 = 0.0
    for i in range(len(u)):
        for j in range(len(u)):
            A1 += parts.W[i, j] * np.trace(u[i]) * np.trace(u[j])
            A2 += parts.W[i, j] * np.sum(u[i] * u[j].T)
    q = np.linalg.matrix_rank(L)
    B = (A1 + 6 * A2) / (2 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    c1 = g / (3 * q + 2 * (1 - g))
    c2 = (q - g) / (3 * q + 2 * (1 - g))
    c3 = (q + 2 - g) / (3 * q + 2 * (1 - g))
    V0 = 1 + c1 * B
    V0 = 0.0 if abs(V0) < 1e-10 else V0
    V1 = 1 - c2 * B
    V2 = 1 - c3 * B
    ratio = (1 - A2 / q) / V1 if V1 != 0 else 0.0
    rho = ratio**2 * V0 / V2 / q
    df2 = 4 + (q + 2) / (q * rho - 1)
    scaling = 1.0 if abs(df2 - 4) < 1e-2 else df2 * (1 - A2 / q) / (df2 - 2)
    return float(df2), float(scaling)


# ------------------------------------------------------------------ between-within
def _between_within(res: FittedModel) -> np.ndarray:
    model = res.model
    X = model.X
    n, p = X.shape
    if not model.blocks:
        return np.full(p, float(n - p))
    block = max(model.blocks, key=lambda b: b.n_levels)
    codes = block.codes
    J = block.n_levels
    counts = np.bincount(codes, minlength=J)
    means = np.zeros((J, p))
    np.add.at(means, codes, X)
    means /= np.maximum(counts, 1)[:, None]
    between = np.all(np.abs(X - means[codes]) <= 1e-10 * np.maximum(1.0, np.abs(X)), axis=0)
    df_between = J - int(between.sum())
    df_within = n - J - int((~between).sum())
    return np.where(between, float(df_between), float(df_within))


# ------------------------------------------------------------------ the table and the tests
def _cached(res: FittedModel, name: str, make):
    cache = res.__dict__.setdefault("_inference_cache", {})
    if name not in cache:
        cache[name] = make(res)
    return cache[name]


def _t_columns(est: np.ndarray, se: np.ndarray, df: np.ndarray, level: float = 0.95) -> dict[str, np.ndarray]:
    t = est / se
    finite = np.isfinite(df)
    dfs = np.where(finite, df, 1.0)
    p = np.where(finite, 2 * special.stdtr(dfs, -np.abs(t)), 2 * special.ndtr(-np.abs(t)))
    crit = np.where(finite, special.stdtrit(dfs, 0.5 + level / 2), special.ndtri(0.5 + level / 2))
    return {"estimate": est, "se": se, "df": df, "t": t, "p": p, "ci_lower": est - crit * se,
            "ci_upper": est + crit * se}


#: Significant digits kept of a Satterthwaite or Kenward-Roger df. They come from finite-difference
#: derivatives of the deviance (relative error about 1e-6), so digits beyond the sixth differ between
#: machines; four are more than any t quantile needs (lmerTest prints df to about four digits too).
DF_DIGITS = 4


def determined_df(df: np.ndarray | float) -> np.ndarray:
    """Denominator df rounded to :data:`DF_DIGITS` significant digits (inf and nan kept).

    Examples
    --------
    >>> determined_df(np.array([17.0000002, 149.99703, 28601.7251, np.inf])).tolist()
    [17.0, 150.0, 28600.0, inf]
    """
    df = np.asarray(df, dtype=float)
    out = df.copy()
    ok = np.isfinite(df) & (df > 0)
    mag = np.floor(np.log10(df[ok]))
    scale = 10.0 ** (DF_DIGITS - 1 - mag)
    out[ok] = np.round(df[ok] * scale) / scale
    return out


def fixed_table(res: FittedModel) -> pd.DataFrame:
    """``result.fixed``: estimate, se, df, t, p, ci_lower, ci_upper with the result's ddf method.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff"), ddf="normal")
    >>> fixed_table(res)["df"].tolist()
    [inf]
    """
    est = np.asarray(res._raw.beta, float)
    V = np.asarray(res._raw.vcov_beta, float)
    p = len(est)
    method = res.ddf
    if method == "normal":
        se, df = np.sqrt(np.diag(V)), np.full(p, np.inf)
    elif not res.model.blocks:
        se, df = np.sqrt(np.diag(V)), np.full(p, float(res.nobs - p))
    elif method == "satterthwaite":
        parts = _cached(res, "satterthwaite", satterthwaite_parts)
        se, df = np.sqrt(np.diag(parts.vcov)), satterthwaite_df(parts, np.eye(p))
    elif method == "kenward-roger":
        kr = _cached(res, "kenward-roger", kenward_roger_parts)
        se = np.sqrt(np.diag(kr.PhiA))
        df = np.array([_kr_df(kr, np.eye(p)[[k]])[0] for k in range(p)])
    else:
        se, df = np.sqrt(np.diag(V)), _between_within(res)
    return pd.DataFrame(_t_columns(est, se, determined_df(df)), index=pd.Index(res.model.x_names, name="term"))


def contrast_df(res: FittedModel, L: np.ndarray) -> dict[str, Any]:
    """F (or chi-squared) test of L gamma = 0 with the result's ddf method.

    Returns a dict with ``statistic``, ``num_df``, ``den_df`` (inf for "normal"), ``p`` and the
    test's ``name``.
    """
    L = np.atleast_2d(np.asarray(L, float))
    beta = np.asarray(res._raw.beta, float)
    V = np.asarray(res._raw.vcov_beta, float)
    q = L.shape[0]
    Lb = L @ beta
    method = res.ddf
    if method == "normal":
        chi2 = float(Lb @ np.linalg.solve(L @ V @ L.T, Lb))
        return {"name": "chi2 (Wald)", "statistic": chi2, "num_df": float(q), "den_df": np.inf,
                "p": float(special.chdtrc(q, chi2))}
    if method == "kenward-roger" and res.model.blocks:
        kr = _cached(res, "kenward-roger", kenward_roger_parts)
        ddf, scaling = _kr_df(kr, L)
        F = scaling * float(Lb @ np.linalg.solve(L @ kr.PhiA @ L.T, Lb)) / q
        name = "F (K-R)"
    elif method == "satterthwaite" and res.model.blocks:
        parts = _cached(res, "satterthwaite", satterthwaite_parts)
        d, Pm = np.linalg.eigh(L @ parts.vcov @ L.T)
        order = np.argsort(d)[::-1]
        d, Pm = d[order], Pm[:, order]
        PtL = Pm.T @ L
        F = float(np.sum((PtL @ beta) ** 2 / d) / q)
        nu = satterthwaite_df(parts, PtL)
        if q == 1:
            ddf = float(nu[0])
        elif np.all(np.abs(np.diff(nu)) < 1e-8):
            ddf = float(np.mean(nu))
        elif np.any(nu <= 2):
            ddf = 2.0
        else:
            E = float(np.sum(nu / (nu - 2)))
            ddf = 2 * E / (E - q)
        name = "F (Satt.)"
    else:
        F = float(Lb @ np.linalg.solve(L @ V @ L.T, Lb)) / q
        if res.model.blocks:
            dfs = _between_within(res)
            used = np.any(L != 0, axis=0)
            ddf = float(dfs[used].min())
        else:
            ddf = float(res.nobs - len(beta))
        name = "F (between-within)" if res.model.blocks else "F"
    ddf = float(determined_df(ddf))
    return {"name": name, "statistic": F, "num_df": float(q), "den_df": ddf,
            "p": float(special.fdtrc(q, ddf, F))}
