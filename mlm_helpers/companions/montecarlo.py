"""A small Monte Carlo engine for sample-size questions (chapter 12): how many groups?

The study simulates, many times over, two-level data from a model with a random intercept,
a random slope and a cross-level interaction,

.. math:: y_{ij} = \\gamma_{00} + \\gamma_{10} x_{ij} + \\gamma_{01} w_j + \\gamma_{11} x_{ij} w_j
          + u_{0j} + u_{1j} x_{ij} + e_{ij},

with :math:`(u_{0j}, u_{1j}) \\sim N(0, T)`, :math:`T = [[\\tau_{00}, \\tau_{01}], [\\tau_{01}, \\tau_{11}]]`
and :math:`e_{ij} \\sim N(0, \\sigma^2)`, and fits every data set by REML (or ML) with
:func:`mlm_helpers.model.engines.fast.fit_fast`, the engine behind ``mh.fit``.

How it stays fast and readable:

* **One design per cell.** A *cell* is one combination of number of groups ``J`` and group
  size ``m``. The predictors :math:`x_{ij} \\sim N(0, 1)` and :math:`w_j \\sim N(0, 1)` are
  drawn once per cell, standardised to mean 0 and SD 1 (so that cells differ only in ``J`` and
  ``m``, not in the spread of a particular draw of the predictors), and kept fixed; each replication draws new random effects and
  residuals. So :math:`X^\\top X`, :math:`Z_j^\\top Z_j` and :math:`Z_j^\\top X_j` are
  computed once (:func:`make_design`), and a replication only adds :math:`Z_j^\\top y_j`,
  :math:`X^\\top y` and :math:`y^\\top y` (:func:`make_batch`).
* **All replications at once.** :func:`profiled_deviance_batch` evaluates the profiled
  deviance of :mod:`mlm_helpers.model.engines.fast` (Bates et al. 2015) for every replication of a
  chunk in one vectorised call, and :func:`newton_fit` minimises it for all of them together
  by Newton steps with step halving, started at the true value. A replication whose optimum
  is on or near the boundary (a variance 0, a correlation +-1), or where Newton makes no
  progress, is refitted by :func:`~mlm_helpers.model.engines.fast.fit_fast`, the optimiser of
  ``mh.fit``. The tests check both paths against ``fit_fast`` and against lme4.
* **Singular fits** are flagged as lme4's ``isSingular`` does: a diagonal entry of the relative
  covariance factor below 1e-4 (a zero variance or a correlation of +-1).
* **Intervals.** Fixed effects: Wald intervals :math:`\\hat\\gamma \\pm 1.96\\,SE` (normal
  quantile, as ``mh.fit`` and most software report). Variance components: Wald intervals on
  the variance scale, :math:`\\hat\\tau \\pm 1.96\\,SE`, with the SE from the observed
  information, i.e. the inverse of half the numerical Hessian of the REML (or ML) criterion
  in the parameters :math:`(\\tau_{00}, \\tau_{01}, \\tau_{11}, \\sigma^2)`. At a singular fit
  this Hessian does not exist; the variance intervals of that replication are then recorded as
  missing and **counted as not covering** the true value.
* **Seeds.** ``numpy.random.SeedSequence(seed)`` is spawned into one child per cell; a cell's
  child is spawned into a design seed and one seed per replication. Work is cut into chunks of
  replications and run with joblib (loky backend); because every replication owns its seed,
  the results are identical for any ``n_jobs``. Each worker runs its linear algebra on one
  BLAS thread (``fit_fast`` limits it, and joblib limits the workers' thread pools).

Examples
--------
>>> from mlm_helpers import montecarlo
>>> res = montecarlo.run_design(30, 5, n_reps=20, seed=1)
>>> res.shape[0], bool(res["converged"].all())
(20, True)
>>> tab = montecarlo.summarise(res)
>>> sorted(tab.index.get_level_values("parameter").unique())[:3]
['gamma00', 'gamma01', 'gamma10']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from numbers import Integral

import numpy as np
import pandas as pd

from ..errors import MLMInputError
from ..model._numerics import LOG2PI, grad_hess_batched, relative_factor, stencil_batched
from ..model.deviance import Pieces, SuffStats, deviance_pieces, sufficient_stats_arrays
from ..model.engines.fast import fit_fast
from ..model.result import SINGULAR_TOL

__all__ = ["DEFAULT_TRUTH", "FIXED", "VARIANCES", "PARAMETERS", "Design", "Batch", "make_design", "make_batch",
           "simulate_y", "profiled_deviance_batch", "criterion_variances_batch", "newton_fit", "variance_se_batch",
           "simulate_dataset", "run_design", "run_study", "summarise", "ddf_coverage", "DDF_TRUTH", "DDF_COMPARED"]

#: Names of the fixed effects (intercept, x, w, x:w) and of the variance parameters.
FIXED = ["gamma00", "gamma10", "gamma01", "gamma11"]
VARIANCES = ["tau00", "tau01", "tau11", "sigma2"]
PARAMETERS = FIXED + VARIANCES

#: The population of the chapter: ICC 0.2 for x = 0, a slope SD of about 0.35, a weak cross-level interaction.
DEFAULT_TRUTH: dict[str, float] = {
    "gamma00": 1.0, "gamma10": 0.3, "gamma01": 0.3, "gamma11": 0.2,
    "tau00": 0.125, "tau01": 0.0, "tau11": 0.125, "sigma2": 0.5,
}

_Z95 = 1.959963984540054
_PATTERN = np.tril(np.ones((2, 2), dtype=bool))


# ---------------------------------------------------------------------------- checks
def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise MLMInputError(f"{name} must be a whole number of at least {minimum}, got {value!r}.")
    return int(value)


def _truth(overrides: dict[str, float]) -> dict[str, float]:
    unknown = set(overrides) - set(PARAMETERS)
    if unknown:
        raise MLMInputError(f"Unknown true value(s) {sorted(unknown)}; the parameters are {PARAMETERS}.")
    truth = {**DEFAULT_TRUTH, **{k: float(v) for k, v in overrides.items()}}
    if not all(np.isfinite(v) for v in truth.values()):
        raise MLMInputError(f"All true values must be finite numbers, got {truth}.")
    if truth["tau00"] < 0 or truth["tau11"] < 0 or truth["sigma2"] <= 0:
        raise MLMInputError("tau00 and tau11 must be 0 or more and sigma2 greater than 0 "
                            f"(got tau00={truth['tau00']}, tau11={truth['tau11']}, sigma2={truth['sigma2']}).")
    if truth["tau01"] ** 2 > truth["tau00"] * truth["tau11"] + 1e-12:
        raise MLMInputError(f"tau01 = {truth['tau01']} is too large: the random-effects covariance matrix needs "
                            f"tau01^2 <= tau00 * tau11 = {truth['tau00'] * truth['tau11']}.")
    return truth


def _seedseq(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    """A fresh SeedSequence: a copy of one passed in, so spawning never changes the caller's object."""
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
    return np.random.SeedSequence(seed)


# ---------------------------------------------------------------------------- design and data
@dataclasses.dataclass
class Design:
    """The fixed part of one cell: predictors, design matrices and the y-free sufficient statistics."""

    n_groups: int
    group_size: int
    x: np.ndarray  # (n,) level-1 predictor
    w: np.ndarray  # (J,) level-2 predictor
    group: np.ndarray  # (n,) group codes 0..J-1, sorted
    X: np.ndarray  # (n, 4): 1, x, w, x*w
    Z: np.ndarray  # (n, 2): 1, x
    base: SuffStats  # sufficient statistics with y = 0 (y-parts filled per replication)


def make_design(n_groups: int, group_size: int, seed: int | np.random.SeedSequence | None = None) -> Design:
    """Draw the predictors of one cell and precompute everything that does not depend on y.

    Parameters
    ----------
    n_groups : int
        Number of groups ``J`` (at least 3).
    group_size : int
        Observations per group ``m`` (at least 2; the design is balanced).
    seed : int or SeedSequence
        Seed of the predictors.

    Examples
    --------
    >>> d = make_design(10, 5, seed=1)
    >>> d.X.shape, d.base.ZtZ.shape
    ((50, 4), (10, 2, 2))
    """
    J = _check_int("n_groups", n_groups, 3)
    m = _check_int("group_size", group_size, 2)
    rng = np.random.default_rng(_seedseq(seed))
    group = np.repeat(np.arange(J), m)
    x = rng.standard_normal(J * m)
    w = rng.standard_normal(J)
    x = (x - x.mean()) / x.std()  # standardised, so every cell has the same spread of x and w
    w = (w - w.mean()) / w.std()
    X = np.column_stack([np.ones(J * m), x, w[group], x * w[group]])
    Z = X[:, :2].copy()
    base = sufficient_stats_arrays(np.zeros(J * m), X, Z, group, J, _PATTERN)
    return Design(J, m, x, w, group, X, Z, base)


def simulate_y(design: Design, truth: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """One response vector for the cell's fixed predictors: new random effects and residuals.

    Examples
    --------
    >>> d = make_design(10, 5, seed=1)
    >>> simulate_y(d, DEFAULT_TRUTH, np.random.default_rng(2)).shape
    (50,)
    """
    L = relative_factor(np.array([[truth["tau00"], truth["tau01"]], [truth["tau01"], truth["tau11"]]]))
    u = rng.standard_normal((design.n_groups, 2)) @ L.T
    e = rng.standard_normal(len(design.x)) * np.sqrt(truth["sigma2"])
    gamma = np.array([truth[k] for k in FIXED])
    g = design.group
    return design.X @ gamma + u[g, 0] + u[g, 1] * design.x + e


def _cell_seeds(seed: int | np.random.SeedSequence | None, n_reps: int
                ) -> tuple[np.random.SeedSequence, list[np.random.SeedSequence]]:
    design_seq, reps_seq = _seedseq(seed).spawn(2)
    return design_seq, reps_seq.spawn(n_reps)


def simulate_dataset(n_groups: int, group_size: int, *, rep: int = 0,
                     seed: int | np.random.SeedSequence | None = None, **truth: float) -> pd.DataFrame:
    """Replication ``rep`` of :func:`run_design` with the same arguments, as a DataFrame.

    Use it to refit one simulated data set with ``mh.fit``, statsmodels or lme4 and compare
    with the row ``rep`` of :func:`run_design`'s result.

    Returns
    -------
    DataFrame
        Columns ``g`` (group label), ``x``, ``w``, ``y``; the true values in ``attrs["truth"]``.

    Examples
    --------
    >>> df = simulate_dataset(10, 5, rep=3, seed=1)
    >>> list(df.columns), len(df)
    (['g', 'x', 'w', 'y'], 50)
    """
    tr = _truth(truth)
    n_reps = _check_int("rep", rep, 0) + 1
    design_seq, rep_seqs = _cell_seeds(seed, n_reps)
    d = make_design(n_groups, group_size, design_seq)
    y = simulate_y(d, tr, np.random.default_rng(rep_seqs[rep]))
    df = pd.DataFrame({"g": [f"g{j + 1:03d}" for j in d.group], "x": d.x, "w": d.w[d.group], "y": y})
    df.attrs["truth"] = tr
    return df


# ---------------------------------------------------------------------------- batched deviance
@dataclasses.dataclass
class Batch:
    """Sufficient statistics of R replications on one design: the y-parts per replication."""

    design: Design
    Zty: np.ndarray  # (R, J, 2)
    Xty: np.ndarray  # (R, p)
    yty: np.ndarray  # (R,)

    def rep(self, r: int) -> SuffStats:
        """The :class:`~mlm_helpers.model.engines.fast.SuffStats` of replication ``r`` (for ``fit_fast``)."""
        return dataclasses.replace(self.design.base, Zty=self.Zty[r], Xty=self.Xty[r], yty=float(self.yty[r]))


def make_batch(design: Design, Y: np.ndarray) -> Batch:
    """Per-replication sufficient statistics from R response vectors (rows of ``Y``).

    Examples
    --------
    >>> d = make_design(10, 5, seed=1)
    >>> make_batch(d, np.ones((3, 50))).Zty.shape
    (3, 10, 2)
    """
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    R = Y.shape[0]
    J, m = design.n_groups, design.group_size
    Zty = np.stack([(Y * design.Z[:, k]).reshape(R, J, m).sum(axis=2) for k in range(2)], axis=2)
    return Batch(design, Zty, Y @ design.X, (Y * Y).sum(axis=1))


def _core_pieces(theta: np.ndarray, b: Batch, reml: bool) -> Pieces:
    """The core's deviance pieces at thetas (R, K, 3) for the R replications of ``b`` (shape (R, K))."""
    ss = b.design.base.with_response(b.Zty[:, None], b.Xty[:, None], b.yty[:, None])
    return deviance_pieces(np.asarray(theta, dtype=float), ss, reml)


def profiled_deviance_batch(theta: np.ndarray, b: Batch, reml: bool = True) -> np.ndarray:
    """The profiled deviance (REML criterion) at thetas of shape (R, K, 3): ``inf`` where undefined.

    The same number as :func:`mlm_helpers.model.engines.fast.profiled_deviance` for each replication.

    Examples
    --------
    >>> from mlm_helpers.model.deviance import profiled_deviance
    >>> d = make_design(10, 5, seed=1)
    >>> b = make_batch(d, np.random.default_rng(99).normal(size=(2, 50)))
    >>> th = np.array([0.5, 0.1, 0.4])
    >>> ours = profiled_deviance_batch(np.tile(th, (2, 1, 1)), b)[:, 0]
    >>> bool(np.allclose(ours, [profiled_deviance(th, b.rep(r)) for r in range(2)]))
    True
    """
    return _core_pieces(theta, b, reml).deviance


def criterion_variances_batch(v: np.ndarray, b: Batch, reml: bool = True) -> np.ndarray:
    """-2 x (REML or ML) log-likelihood at points v = (tau00, tau01, tau11, sigma2) of shape (R, K, 4).

    For the relative factor Lambda with Lambda Lambda' = T / sigma2 the criterion is
    log|L|^2 [+ log|R_X|^2] + dof log(2 pi sigma2) + r^2 / sigma2 (Bates et al. 2015): the
    profiled deviance before sigma2 is replaced by its estimate r^2 / dof. ``nan`` outside the
    parameter space.
    """
    v = np.asarray(v, dtype=float)
    t00, t01, t11, s2 = (v[..., k] for k in range(4))
    with np.errstate(invalid="ignore", divide="ignore"):
        l11 = np.sqrt(t00 / s2)
        l21 = (t01 / s2) / l11
        l22 = np.sqrt(t11 / s2 - l21 * l21)
        pc = _core_pieces(np.stack([l11, l21, l22], axis=-1), b, reml)
    n, p = b.design.base.n, b.design.base.p
    dof = n - p if reml else n
    with np.errstate(invalid="ignore", divide="ignore"):
        crit = pc.ldL2 + (pc.ldRX2 if reml else 0.0) + dof * (LOG2PI + np.log(s2)) + pc.r2 / s2
    return np.where(np.isfinite(pc.deviance), crit, np.nan)


def newton_fit(b: Batch, theta0: np.ndarray, reml: bool = True, max_iter: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Minimise the profiled deviance of all replications at once by damped Newton steps.

    Returns ``theta`` (R, 3) and a boolean ``ok`` (R,): True where Newton converged to an interior
    minimum (positive definite Hessian, Newton decrement below 1e-9). Replications with
    ``ok`` False (an optimum on or near the boundary, or no progress) must be refitted with
    :func:`mlm_helpers.model.engines.fast.fit_fast`, which handles the boundary; :func:`run_design` does.

    Examples
    --------
    >>> d = make_design(40, 10, seed=1)
    >>> b = make_batch(d, np.stack([simulate_y(d, DEFAULT_TRUTH, np.random.default_rng(r)) for r in range(4)]))
    >>> th, ok = newton_fit(b, np.array([0.5, 0.0, 0.5]))
    >>> ff = fit_fast(b.rep(0))
    >>> bool(ok[0]) and bool(np.allclose(th[0], ff.theta, atol=1e-4))
    True
    """
    R = len(b.yty)
    theta = np.tile(np.asarray(theta0, dtype=float), (R, 1))
    status = np.zeros(R, dtype=int)  # 0 active, 1 converged, -1 failed
    for _ in range(max_iter):
        idx = np.flatnonzero(status == 0)
        if not len(idx):
            break
        x = theta[idx]
        h = 1e-4 * np.maximum(1.0, np.abs(x))
        pts, pairs = stencil_batched(x, h, 3, full=False)
        sub = Batch(b.design, b.Zty[idx], b.Xty[idx], b.yty[idx])
        f = profiled_deviance_batch(pts, sub, reml)
        g, H = grad_hess_batched(f, h, 3, pairs, full=False)
        finite = np.isfinite(f).all(axis=1)
        H[~finite] = np.eye(3)
        pd_ = finite & (np.linalg.eigvalsh(H)[:, 0] > 0)
        step = np.zeros_like(x)
        step[pd_] = np.linalg.solve(H[pd_], g[pd_][..., None])[..., 0]
        decrement = np.where(pd_, (g * step).sum(axis=1) / 2, np.inf)
        conv = pd_ & (decrement < 1e-9)
        status[idx[~pd_]] = -1
        status[idx[conv]] = 1
        # One more full Newton step where converged: quadratic convergence takes theta from about
        # 1e-5 (where a decrement of 1e-9 leaves it) to the rounding level of the gradient, so the
        # estimates, and what counts as singular or inside an interval, do not depend on the machine.
        final = x[conv] - step[conv]
        inside = (final[:, 0] > 0) & (final[:, 2] > 0)
        theta[idx[np.flatnonzero(conv)[inside]]] = final[inside]
        move = pd_ & ~conv
        t = np.ones(len(idx))
        accepted = np.zeros(len(idx), dtype=bool)
        for _ in range(12):
            todo = move & ~accepted
            if not todo.any():
                break
            trial = x[todo] - t[todo, None] * step[todo]
            inside = (trial[:, 0] > 0) & (trial[:, 2] > 0)
            subt = Batch(b.design, sub.Zty[todo], sub.Xty[todo], sub.yty[todo])
            ft = np.where(inside, profiled_deviance_batch(trial[:, None, :], subt, reml)[:, 0], np.inf)
            better = ft <= f[todo, 0]
            rows = np.flatnonzero(todo)
            theta[idx[rows[better]]] = trial[better]
            accepted[rows[better]] = True
            t[rows[~better]] /= 2
        status[idx[move & ~accepted]] = -1
    return theta, status == 1


def _estimates(theta: np.ndarray, b: Batch, reml: bool) -> dict[str, np.ndarray]:
    """Fixed effects, their covariance matrices, sigma2 and the variances at theta (R, 3)."""
    pc = _core_pieces(theta[:, None, :], b, reml)
    RX, cb, r2 = pc.RX[:, 0], pc.cbeta[:, 0], pc.r2[:, 0]
    n, p = b.design.base.n, b.design.base.p
    sigma2 = r2 / (n - p if reml else n)
    beta = np.linalg.solve(np.swapaxes(RX, 1, 2), cb[..., None])[..., 0]
    vcov = sigma2[:, None, None] * np.linalg.inv(pc.XtXa[:, 0])
    lam = np.zeros((len(theta), 2, 2))
    lam[:, 0, 0], lam[:, 1, 0], lam[:, 1, 1] = theta[:, 0], theta[:, 1], theta[:, 2]
    T = sigma2[:, None, None] * lam @ np.swapaxes(lam, 1, 2)
    v = np.stack([T[:, 0, 0], T[:, 1, 0], T[:, 1, 1], sigma2], axis=1)
    return {"beta": beta, "vcov": vcov, "v": v}


def variance_se_batch(v_hat: np.ndarray, b: Batch, reml: bool = True) -> np.ndarray:
    """SEs of (tau00, tau01, tau11, sigma2) from the observed information, one row per replication.

    The square roots of the diagonal of the inverse of half the central-difference Hessian of
    :func:`criterion_variances_batch` at ``v_hat`` (R, 4); ``nan`` where the Hessian does not exist
    (an estimate on the boundary) or is not positive definite.

    Examples
    --------
    >>> d = make_design(40, 10, seed=1)
    >>> b = make_batch(d, simulate_y(d, DEFAULT_TRUTH, np.random.default_rng(3))[None])
    >>> ff = fit_fast(b.rep(0))
    >>> T = ff.sigma2 * ff.lam @ ff.lam.T
    >>> se = variance_se_batch(np.array([[T[0, 0], T[1, 0], T[1, 1], ff.sigma2]]), b)
    >>> bool(np.all(se > 0))
    True
    """
    x = np.atleast_2d(np.asarray(v_hat, dtype=float))
    scale = np.stack([x[:, 0], np.sqrt(np.abs(x[:, 0] * x[:, 2])), x[:, 2], x[:, 3]], axis=1)
    h = 1e-4 * np.maximum(np.abs(x), scale).clip(1e-8)
    pts, pairs = stencil_batched(x, h, 4, full=True)
    f = criterion_variances_batch(pts, b, reml)
    _, H = grad_hess_batched(f, h, 4, pairs, full=True)
    out = np.full(x.shape, np.nan)
    ok = np.isfinite(f).all(axis=1)
    if ok.any():
        Hk = H[ok]
        pd_ = np.linalg.eigvalsh(Hk)[:, 0] > 0
        rows = np.flatnonzero(ok)[pd_]
        if len(rows):
            V = 2.0 * np.linalg.inv(Hk[pd_])
            out[rows] = np.sqrt(np.diagonal(V, axis1=1, axis2=2))
    return out


# ---------------------------------------------------------------------------- the study
def _run_chunk(n_groups: int, group_size: int, truth: dict[str, float], design_seq: np.random.SeedSequence,
               rep_seqs: list[np.random.SeedSequence], first_rep: int, reml: bool) -> pd.DataFrame:
    d = make_design(n_groups, group_size, design_seq)
    Y = np.stack([simulate_y(d, truth, np.random.default_rng(sq)) for sq in rep_seqs])
    b = make_batch(d, Y)
    L = relative_factor(np.array([[truth["tau00"], truth["tau01"]], [truth["tau01"], truth["tau11"]]]), truth["sigma2"])
    theta0 = np.array([max(L[0, 0], 0.1), L[1, 0], max(L[1, 1], 0.1)])  # start at the truth (inside the space)
    theta, ok = newton_fit(b, theta0, reml)
    converged = np.ones(len(Y), dtype=bool)
    for r in np.flatnonzero(~ok):  # boundary or difficult: the full optimiser of mh.fit
        ff = fit_fast(b.rep(int(r)), reml=reml, theta0=theta0)
        theta[r] = ff.theta
        converged[r] = ff.converged
    est = _estimates(theta, b, reml)
    singular = (theta[:, 0] < SINGULAR_TOL) | (theta[:, 2] < SINGULAR_TOL)  # lme4's isSingular
    vse = np.full((len(Y), 4), np.nan)
    if (~singular).any():
        nb = Batch(d, b.Zty[~singular], b.Xty[~singular], b.yty[~singular])
        vse[~singular] = variance_se_batch(est["v"][~singular], nb, reml)
    out = {"n_groups": n_groups, "group_size": group_size, "rep": first_rep + np.arange(len(Y))}
    se_fixed = np.sqrt(np.diagonal(est["vcov"], axis1=1, axis2=2))
    for k, name in enumerate(FIXED):
        out[f"est_{name}"] = est["beta"][:, k]
        out[f"se_{name}"] = se_fixed[:, k]
    for k, name in enumerate(VARIANCES):
        out[f"est_{name}"] = est["v"][:, k]
        out[f"se_{name}"] = vse[:, k]
    out["singular"] = singular
    out["converged"] = converged
    out["newton"] = ok
    return pd.DataFrame(out)


def _tasks(cells: Iterable[tuple[int, int]], n_reps: int, seed, truth, reml: bool, chunk: int):
    cells = [(_check_int("n_groups", J, 3), _check_int("group_size", m, 2)) for J, m in cells]
    cell_seqs = _seedseq(seed).spawn(len(cells))
    for (J, m), cs in zip(cells, cell_seqs, strict=True):
        design_seq, rep_seqs = _cell_seeds(cs, n_reps)
        for start in range(0, n_reps, chunk):
            yield (J, m, truth, design_seq, rep_seqs[start: start + chunk], start, reml)


def _attach(df: pd.DataFrame, truth: dict[str, float], reml: bool) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df.attrs["truth"] = dict(truth)
    df.attrs["reml"] = reml
    return df


def run_design(n_groups: int, group_size: int, *, n_reps: int, seed: int | np.random.SeedSequence | None = None,
               reml: bool = True, **truth: float) -> pd.DataFrame:
    """Simulate and fit ``n_reps`` data sets of one cell (``n_groups`` groups of ``group_size``).

    Parameters
    ----------
    n_groups, group_size : int
        The cell: ``J`` groups of ``m`` observations.
    n_reps : int
        Number of replications.
    seed : int or SeedSequence
        Seed; the same seed gives the same data and results.
    reml : bool
        Fit by REML (default) or ML.
    **truth : float
        True values overriding :data:`DEFAULT_TRUTH` (``gamma00``, ``gamma10``, ``gamma01``,
        ``gamma11``, ``tau00``, ``tau01``, ``tau11``, ``sigma2``).

    Returns
    -------
    DataFrame
        One row per replication: ``n_groups``, ``group_size``, ``rep``, ``est_<par>`` and
        ``se_<par>`` for each parameter, ``singular`` and ``converged``; ``attrs["truth"]``.

    Examples
    --------
    >>> res = run_design(20, 5, n_reps=5, seed=3, gamma11=0.5)
    >>> res.attrs["truth"]["gamma11"], len(res)
    (0.5, 5)
    """
    tr = _truth(truth)
    n_reps = _check_int("n_reps", n_reps, 1)
    design_seq, rep_seqs = _cell_seeds(seed, n_reps)
    J = _check_int("n_groups", n_groups, 3)
    m = _check_int("group_size", group_size, 2)
    return _attach(_run_chunk(J, m, tr, design_seq, rep_seqs, 0, reml), tr, reml)


def run_study(cells: Sequence[tuple[int, int]], n_reps: int, seed: int | None = None, n_jobs: int = 2, *,
              reml: bool = True, chunk: int = 100, **truth: float) -> pd.DataFrame:
    """Run :func:`run_design` for several cells in parallel (joblib, loky backend).

    Cell ``k`` uses the ``k``-th child of ``SeedSequence(seed)``, so
    ``run_study(cells, n, seed)`` restricted to cell ``k`` equals
    ``run_design(*cells[k], n_reps=n, seed=SeedSequence(seed).spawn(len(cells))[k])``,
    and the results do not depend on ``n_jobs`` or ``chunk``.

    Parameters
    ----------
    cells : sequence of (n_groups, group_size)
        The cells of the study.
    n_reps : int
        Replications per cell.
    seed : int
        Seed of the whole study.
    n_jobs : int
        Worker processes (1 runs in this process).
    reml : bool
        REML (default) or ML.
    chunk : int
        Replications per task (load balancing only).
    **truth : float
        True values overriding :data:`DEFAULT_TRUTH`.

    Returns
    -------
    DataFrame
        As :func:`run_design`, all cells stacked in the order given.

    Examples
    --------
    >>> res = run_study([(10, 5), (20, 5)], n_reps=4, seed=1, n_jobs=1)
    >>> res.groupby("n_groups").size().tolist()
    [4, 4]
    """
    from joblib import Parallel, delayed

    tr = _truth(truth)
    n_reps = _check_int("n_reps", n_reps, 1)
    n_jobs = _check_int("n_jobs", n_jobs, 1)
    chunk = _check_int("chunk", chunk, 1)
    tasks = list(_tasks(cells, n_reps, seed, tr, reml, chunk))
    if n_jobs == 1:
        parts = [_run_chunk(*t) for t in tasks]
    else:
        parts = Parallel(n_jobs=n_jobs, backend="loky")(delayed(_run_chunk)(*t) for t in tasks)
    return _attach(pd.concat(parts, ignore_index=True), tr, reml)


def summarise(results: pd.DataFrame, truth: dict[str, float] | None = None, level: float = 0.95) -> pd.DataFrame:
    """Bias, relative bias, interval coverage (with Monte Carlo SEs) and rejection rates per cell.

    Parameters
    ----------
    results : DataFrame
        From :func:`run_design` or :func:`run_study`.
    truth : dict, optional
        True values (default: ``results.attrs["truth"]``).
    level : float
        Confidence level of the Wald intervals (default 0.95).

    Returns
    -------
    DataFrame
        Index (``n_groups``, ``group_size``, ``parameter``); columns ``true``, ``mean``,
        ``bias``, ``rel_bias`` (bias / true value; ``nan`` for a true value of 0), ``emp_sd``
        (SD of the estimates), ``mean_se``, ``coverage`` and its Monte Carlo SE
        ``coverage_mcse`` = sqrt(c (1 - c) / R), ``reject`` (share of Wald z-tests of
        "parameter = 0" rejected at 1 - level: the power for a non-zero fixed effect;
        ``nan`` for variances), ``n_reps``, ``n_singular`` and ``n_nonconverged``.
        A variance's missing interval (singular fit) counts as not covering.

    Examples
    --------
    >>> tab = summarise(run_design(30, 5, n_reps=10, seed=2))
    >>> list(tab.columns[:4])
    ['true', 'mean', 'bias', 'rel_bias']
    """
    if not isinstance(results, pd.DataFrame) or "est_gamma00" not in results:
        raise MLMInputError("results must be the DataFrame returned by run_design or run_study.")
    truth = _truth(truth if truth is not None else results.attrs.get("truth", {}))
    if not 0 < level < 1:
        raise MLMInputError(f"level must be between 0 and 1, got {level!r}.")
    from scipy.stats import norm

    zq = float(norm.ppf(0.5 + level / 2))
    rows = []
    for (J, m), cell in results.groupby(["n_groups", "group_size"], sort=True):
        R = len(cell)
        for name in PARAMETERS:
            est, se, true = cell[f"est_{name}"], cell[f"se_{name}"], truth[name]
            covered = ((est - zq * se <= true) & (true <= est + zq * se)).fillna(False)
            cov = float(covered.mean())
            reject = float(((est / se).abs() > zq).mean()) if name in FIXED else np.nan
            rows.append({
                "n_groups": J, "group_size": m, "parameter": name, "true": true,
                "mean": float(est.mean()), "bias": float(est.mean() - true),
                "rel_bias": float((est.mean() - true) / true) if true != 0 else np.nan,
                "emp_sd": float(est.std(ddof=1)) if R > 1 else np.nan, "mean_se": float(se.mean()),
                "coverage": cov, "coverage_mcse": float(np.sqrt(cov * (1 - cov) / R)), "reject": reject,
                "n_reps": R, "n_singular": int(cell["singular"].sum()),
                "n_nonconverged": int((~cell["converged"]).sum()),
            })
    return pd.DataFrame(rows).set_index(["n_groups", "group_size", "parameter"])


# ------------------------------------------------------------------ df methods for a level-2 effect
#: The population of :func:`ddf_coverage`: y_ij = gamma00 + gamma10 x_ij + gamma01 w_j + u_0j + e_ij.
DDF_TRUTH: dict[str, float] = {"gamma00": 0.0, "gamma10": 0.3, "gamma01": 0.5, "tau00": 0.5, "sigma2": 2.0}

#: The interval methods :func:`ddf_coverage` compares, as ``mh.fit(..., ddf=...)`` names them.
DDF_COMPARED = ("normal", "satterthwaite", "kenward-roger")


def _ddf_design(n_groups: int, seed: np.random.SeedSequence) -> pd.DataFrame:
    """One cell's predictors: unequal group sizes 2-8 (mean 5), w_j and x_ij standardised."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 9, n_groups)
    g = np.repeat(np.arange(n_groups), sizes)
    w = rng.normal(size=n_groups)
    w = (w - w.mean()) / w.std()
    x = rng.normal(size=len(g))
    x = (x - x.mean()) / x.std()
    return pd.DataFrame({"g": g.astype(str), "w": w[g], "x": x, "y": 0.0})


def _ddf_chunk(n_groups: int, design_seed: np.random.SeedSequence, rep_seeds: list, truth: dict[str, float],
               level: float) -> pd.DataFrame:
    import warnings

    from ..model.fitting import fit

    data = _ddf_design(n_groups, design_seed)
    g = data["g"].astype(int).to_numpy()
    mean = truth["gamma00"] + truth["gamma10"] * data["x"].to_numpy() + truth["gamma01"] * data["w"].to_numpy()

    def draw(rng: np.random.Generator) -> np.ndarray:
        u = rng.normal(0.0, np.sqrt(truth["tau00"]), n_groups)
        return mean + u[g] + rng.normal(0.0, np.sqrt(truth["sigma2"]), len(g))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = fit("y ~ x + w + (1 | g)", data.assign(y=draw(np.random.default_rng(rep_seeds[0]))))
    rows = []
    for s in rep_seeds:
        res = base.refit(draw(np.random.default_rng(s)), warn=False)
        row: dict[str, float | bool] = {"n_groups": n_groups, "singular": res.is_singular}
        for method in DDF_COMPARED:
            fx = res.with_ddf(method).fixed.loc["w"]
            row[f"df_{method}"] = float(fx["df"])
            row[f"covered_{method}"] = bool(fx["ci_lower"] <= truth["gamma01"] <= fx["ci_upper"])
        rows.append(row)
    return pd.DataFrame(rows)


def ddf_coverage(n_groups: Sequence[int] = (6, 10, 20, 40), n_reps: int = 1000, seed: int | None = 2013,
                 n_jobs: int = 2, *, chunk: int = 250, level: float = 0.95) -> pd.DataFrame:
    """Coverage of 95% intervals for a level-2 fixed effect by Wald z, Satterthwaite and Kenward-Roger.

    The simulation behind chapter 12's section on degrees of freedom. Each cell has ``J`` groups of
    unequal sizes (2 to 8, mean 5), a level-1 predictor ``x`` and a level-2 predictor ``w``
    (both standardised, drawn once per cell), and the population :data:`DDF_TRUTH`
    (:math:`\\gamma_{01} = 0.5`, ICC 0.2). Each replication draws new random intercepts and
    residuals, refits ``y ~ x + w + (1 | g)`` by REML (``result.refit``), and checks whether the
    interval for :math:`\\gamma_{01}` (the coefficient of ``w``) of each ``ddf`` method
    (``result.with_ddf``) contains 0.5: ``"normal"`` (estimate +- 1.96 SE, Wald z, what
    statsmodels reports), ``"satterthwaite"`` (``mh.fit``'s default) and ``"kenward-roger"``
    (adjusted SE and df). Seeds as :func:`run_study`: one child of ``SeedSequence(seed)`` per
    cell, one seed per replication, so the results do not depend on ``n_jobs``.

    Parameters
    ----------
    n_groups : sequence of int
        Numbers of groups J (at least 4 each).
    n_reps : int
        Replications per cell.
    seed : int, optional
        Seed of the whole study.
    n_jobs : int
        Worker processes (joblib, loky backend).
    chunk : int
        Replications per task.
    level : float
        Confidence level of the intervals (``result.fixed`` reports 95%; only 0.95 is supported).

    Returns
    -------
    pandas.DataFrame
        Index (``n_groups``, ``method``); columns ``covered`` (count), ``n_reps``, ``coverage``,
        ``mc_se`` (its Monte Carlo SE, sqrt(c (1 - c) / R)), ``median_df`` and ``singular`` (the
        share of singular fits in the cell).

    Examples
    --------
    >>> from mlm_helpers import montecarlo
    >>> tab = montecarlo.ddf_coverage((6, 10), n_reps=20, seed=1, n_jobs=1)
    >>> tab.index.get_level_values("method").unique().tolist()
    ['normal', 'satterthwaite', 'kenward-roger']
    >>> float(tab.loc[(10, "normal"), "median_df"])
    inf
    """
    from joblib import Parallel, delayed

    if isinstance(n_groups, int | np.integer) or not len(n_groups):
        raise MLMInputError(f"n_groups must be a sequence of numbers of groups such as (6, 10, 20, 40); "
                            f"got {n_groups!r}.")
    cells = [_check_int("n_groups", J, 4) for J in n_groups]
    n_reps = _check_int("n_reps", n_reps, 1)
    n_jobs = _check_int("n_jobs", n_jobs, 1)
    chunk = _check_int("chunk", chunk, 1)
    if level != 0.95:
        raise MLMInputError(f"level must be 0.95 (the level of result.fixed's intervals); got {level!r}.")
    tasks = []
    for J, child in zip(cells, np.random.SeedSequence(seed).spawn(len(cells)), strict=True):
        design_seed, rep_root = child.spawn(2)
        reps = rep_root.spawn(n_reps)
        for start in range(0, n_reps, chunk):
            tasks.append((J, design_seed, reps[start:start + chunk], DDF_TRUTH, level))
    if n_jobs == 1:
        parts = [_ddf_chunk(*t) for t in tasks]
    else:
        parts = Parallel(n_jobs=n_jobs, backend="loky")(delayed(_ddf_chunk)(*t) for t in tasks)
    raw = pd.concat(parts, ignore_index=True)
    rows = []
    for J, cell in raw.groupby("n_groups", sort=True):
        R = len(cell)
        for method in DDF_COMPARED:
            c = int(cell[f"covered_{method}"].sum())
            p = c / R
            rows.append({"n_groups": int(J), "method": method, "covered": c, "n_reps": R, "coverage": p,
                         "mc_se": float(np.sqrt(p * (1 - p) / R)),
                         "median_df": float(cell[f"df_{method}"].median()),
                         "singular": float(cell["singular"].mean())})
    out = pd.DataFrame(rows).set_index(["n_groups", "method"])
    out.attrs["truth"] = dict(DDF_TRUTH)
    return out
