"""What the optimiser did: the method, its evaluations, the gradient at the stop, restarts, tolerances.

Every :class:`~mlm_helpers.MixedResult` carries one as ``result.optsummary``, in the spirit of
MixedModels.jl's ``OptSummary``: a fit is trustworthy when the stop is explained, not merely
when an optimiser said "converged".

The fast engine stops on a stated criterion. After its optimiser (a bounded 1-D search, or
L-BFGS-B with restarts off the boundary), a Newton polish on the free parameters runs until a
step moves theta by less than ``xtol_rel`` (relative). The fit is *converged* when the gradient of
the profiled deviance, projected at the boundary (a standard deviation at 0 whose gradient points
outwards counts as 0) and scaled by the Cholesky factor of the Hessian, is below ``grad_tol``
in every component: lme4's ``check.conv.grad`` rule, with its tolerance 0.002.

Examples
--------
>>> import mlm_helpers as mh
>>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
>>> res.optsummary.converged, res.optsummary.engine
(True, 'fast')
>>> res.optsummary.scaled_gradient < res.optsummary.tolerances["grad_tol"]
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["OptSummary", "TOLERANCES"]

#: The fast engine's tolerances, named in one place. ``singular_tol`` is lme4's ``isSingular``
#: threshold on the diagonal of the relative covariance factor; ``grad_tol`` its
#: ``check.conv.grad`` threshold on the scaled gradient; ``xtol_rel`` is where the Newton polish
#: stops (a step smaller than this, relative to theta); ``fd_step`` the relative step of the
#: central differences for gradients; ``boundary_tol`` how much worse (in deviance units) the
#: boundary may be and still be preferred to an interior optimum (a flat deviance near 0).
TOLERANCES: dict[str, float] = {
    "grad_tol": 2e-3,
    "xtol_rel": 1e-8,
    "fd_step": 1e-4,
    "boundary_tol": 1e-8,
    "singular_tol": 1e-4,
}


@dataclass
class OptSummary:
    """A record of one optimisation.

    Attributes
    ----------
    engine : str
        ``"fast"`` or ``"statsmodels"``.
    method : str
        The optimiser(s) that produced the reported estimates.
    criterion : str
        ``"REML"`` or ``"ML"``.
    n_evals : int or None
        Evaluations of the objective (each point of a batched evaluation counts once); None where
        the engine does not count them (statsmodels).
    objective : float
        The final objective: the profiled deviance (-2 log-likelihood).
    gradient : float
        Largest component of the gradient at the stop, projected at the boundary (NaN where the
        engine does not expose it).
    scaled_gradient : float
        lme4's convergence measure: the projected gradient scaled by the Cholesky factor of the
        Hessian (NaN where not available).
    newton_decrement : float
        How much the deviance could still drop by a Newton step (NaN where not available).
    theta_start, theta : numpy.ndarray or None
        Starting and final values of the relative covariance factor's free entries.
    restarts : list of str
        Restarts, fallbacks and boundary moves that ran, in order.
    tolerances : dict
        The tolerances in force.
    converged : bool
    message : str

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> s = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy")).optsummary
    >>> s.method
    'bounded 1-D search, then Newton polish'
    """

    engine: str
    method: str
    criterion: str
    n_evals: int | None
    objective: float
    gradient: float = float("nan")
    scaled_gradient: float = float("nan")
    newton_decrement: float = float("nan")
    theta_start: np.ndarray | None = None
    theta: np.ndarray | None = None
    restarts: list[str] = field(default_factory=list)
    tolerances: dict[str, float | str] = field(default_factory=dict)
    converged: bool = True
    message: str = "ok"

    def __str__(self) -> str:
        def num(x: float) -> str:
            return "not available" if x is None or not np.isfinite(x) else f"{x:.1e}"

        def vec(v: np.ndarray | None) -> str:
            return "-" if v is None or len(v) == 0 else "[" + ", ".join(f"{t:.5g}" for t in v) + "]"

        rows = [
            ("engine", self.engine),
            ("method", self.method),
            ("criterion", self.criterion),
            ("evaluations", "not counted" if self.n_evals is None else str(self.n_evals)),
            ("theta at the start", vec(self.theta_start)),
            ("theta at the stop", vec(self.theta)),
            ("final objective", f"{self.objective:.6f}" if np.isfinite(self.objective) else "-"),
            ("projected gradient", num(self.gradient)),
            ("scaled gradient", num(self.scaled_gradient)),
            ("Newton decrement", num(self.newton_decrement)),
            ("restarts and fallbacks", "; ".join(self.restarts) if self.restarts else "none"),
            ("tolerances", ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in self.tolerances.items()) or "-"),
            ("converged", f"{'yes' if self.converged else 'no'} ({self.message})"),
        ]
        width = max(len(k) for k, _ in rows)
        return "Optimisation summary\n" + "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython shows the table, not the dataclass repr
        p.text(str(self))
