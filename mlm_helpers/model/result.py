"""The result of a mixed-model fit: plain attributes, ``summary()`` and ``predict()``.

Examples
--------
>>> import mlm_helpers as mh
>>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
>>> round(res.loglik, 2), res.engine
(-871.81, 'fast')
>>> list(res.fixed.index)
['Intercept', 'Days']
"""

from __future__ import annotations

import dataclasses
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import special

from .._threads import one_blas_thread
from ..errors import ConvergenceWarning, MLMInputError, SingularFitWarning, warn_at_caller
from ..numbers import format_column, unsigned_zero
from ._numerics import relative_factor
from .ddf import DDF_METHODS, check_ddf, fixed_table
from .engines import EngineFit
from .frame import ModelFrame, design_matrix
from .optsummary import TOLERANCES, OptSummary

__all__ = ["MixedResult", "RawFit", "NotDefined", "DDF_METHODS"]

#: What ``summary()`` says about the t-tests, as lmerTest's line.
_DDF_LINES = {
    "satterthwaite": "Fixed effects (t-tests use Satterthwaite's method):",
    "kenward-roger": "Fixed effects (t-tests use the Kenward-Roger method; adjusted standard errors):",
    "between-within": "Fixed effects (t-tests use the between-within df):",
    "normal": "Fixed effects (Wald z, normal reference):",
}


#: lme4's tolerance for calling a fit singular (isSingular(tol = 1e-4)).
SINGULAR_TOL = TOLERANCES["singular_tol"]


def _abbreviate(names: list[str], minlength: int = 6) -> list[str]:
    """Short column labels in the spirit of R's ``abbreviate``: drop lower-case vowels, then letters, from the right.

    Examples
    --------
    >>> _abbreviate(["Intercept", "age", "Sex[T.Male]", "age:Sex[T.Male]"])
    ['Intrcp', 'age', 'S[T.M]', 'a:S[T.']
    """
    out: list[str] = []
    for name in names:
        chars = list(name)
        for pool in ("aeiou", "abcdefghijklmnopqrstuvwxyz"):
            k = len(chars) - 1
            while len(chars) > minlength and k > 0:
                if chars[k] in pool:
                    del chars[k]
                k -= 1
        short = "".join(chars)[:minlength]
        while short in out:  # keep labels distinct
            short = short[:-1] + str(len(out))
        out.append(short)
    return out


class NotDefined(str):
    """A string that explains why a quantity (such as a single ICC) is not defined.

    ``float()`` of it raises a ``TypeError`` carrying the explanation.
    """

    def __float__(self) -> float:
        raise TypeError(str(self))


#: The estimates an engine returns (the engine contract's type, under its former name).
RawFit = EngineFit


class MixedResult:
    """A fitted linear mixed model.

    Attributes
    ----------
    formula : str
        The formula as given.
    reml : bool
        True for REML estimates, False for ML.
    engine : str
        ``"fast"`` or ``"statsmodels"``.
    loglik : float
        The maximised log-likelihood (the REML criterion's log-likelihood for
        REML fits, as lme4's ``logLik``).
    fixed : pandas.DataFrame
        One row per fixed effect in formula order (``Intercept`` first), with
        ``estimate``, ``se``, ``df``, ``t``, ``p`` (two-sided, t reference with
        ``df``) and a 95% interval ``ci_lower``, ``ci_upper``. The df come from
        the ``ddf`` method (computed when ``fixed`` is first read); with
        ``"normal"`` they are inf (Wald z); with ``"kenward-roger"`` ``se`` is
        the adjusted standard error.
    ddf : str
        The degrees-of-freedom method: ``"satterthwaite"`` (default),
        ``"kenward-roger"``, ``"between-within"`` or ``"normal"``.
    varcorr : pandas.DataFrame
        As lme4's ``as.data.frame(VarCorr(fit))``: ``group``, ``var1``,
        ``var2``, ``vcov`` (variance or covariance), ``sdcor`` (standard
        deviation or correlation); the ``Residual`` row last.
    sigma2 : float
        Residual variance.
    ranef : pandas.DataFrame or dict
        Conditional modes (BLUPs) of the random effects, one row per group;
        a dict of DataFrames (one per grouping factor) when there are several.
    converged, is_singular : bool
    nobs : int
    ngroups : int or dict
        Number of groups (a dict when there are several grouping factors).
    """

    def __init__(self, model: ModelFrame, raw: RawFit, *, reml: bool, engine: str, formula: str,
                 data: pd.DataFrame, ddf: str = "satterthwaite"):
        self.ddf = check_ddf(ddf, bool(reml))
        self._model = model
        self._raw = raw
        self._data = data
        self.formula = formula
        self.reml = bool(reml)
        self.engine = engine
        self.loglik = float(raw.loglik)
        self.sigma2 = float(raw.sigma2)
        self.converged = bool(raw.converged)
        self.convergence_message = raw.message
        self.notes: list[str] = list(raw.notes)
        self.nobs = int(model.nobs)
        self.n_dropped = int(model.n_dropped)
        self.theta = raw.theta
        #: What the optimiser did (method, evaluations, gradient at the stop, restarts, tolerances).
        self.optsummary: OptSummary | None = raw.optsummary
        if len(model.blocks) == 1:
            self.ngroups: int | dict[str, int] = model.blocks[0].n_levels
        else:
            self.ngroups = {b.group: b.n_levels for b in model.blocks}

    @property
    def model(self) -> ModelFrame:
        """The checked model frame: formula parts, response ``y``, design ``X``, random-effect blocks."""
        return self._model

    @property
    def data(self) -> pd.DataFrame:
        """The data the model was fitted to, as given."""
        return self._data

    def warn(self) -> None:
        """Raise this fit's warnings (the engine's, convergence, singular fit) at the user's line."""
        for category, message in self._raw.warnings:
            warn_at_caller(message, category)
        if not self.converged:
            warn_at_caller(f"The optimiser may not have converged ({self.convergence_message}); check the model "
                           "and the scaling of the predictors.", ConvergenceWarning)
        if self._model.blocks and self.is_singular:
            warn_at_caller(
                "Boundary (singular) fit: a random-effect variance is estimated as 0 (or a correlation as "
                "+-1). The data do not support that part of the model; see result.varcorr.",
                SingularFitWarning,
            )

    # ------------------------------------------------------------------ fixed part
    @cached_property
    def fixed(self) -> pd.DataFrame:
        # Computed on first use (a slider's refit does not pay for the df): see model/ddf.py.
        return fixed_table(self)

    @property
    def vcov_fixed(self) -> pd.DataFrame:
        """Covariance matrix of the fixed-effect estimates."""
        names = self._model.x_names
        return pd.DataFrame(self._raw.vcov_beta, index=names, columns=names)

    # ------------------------------------------------------------------ random part
    @cached_property
    def varcorr(self) -> pd.DataFrame:
        rows: list[tuple[object, ...]] = []
        for b, cov in zip(self._model.blocks, self._raw.covs, strict=True):
            for t in range(len(b.terms)):
                cols = [k for k in range(b.q) if b.term_of_column[k] == t]
                gname = b.group if t == 0 else f"{b.group}.{t}"
                for k in cols:
                    rows.append((gname, b.names[k], np.nan, cov[k, k], np.sqrt(max(cov[k, k], 0.0))))
                for a_i, a in enumerate(cols):
                    for c in cols[a_i + 1:]:
                        denom = np.sqrt(cov[a, a] * cov[c, c])
                        corr = cov[a, c] / denom if denom > 0 else np.nan
                        rows.append((gname, b.names[a], b.names[c], cov[a, c], corr))
        rows.append(("Residual", np.nan, np.nan, self.sigma2, np.sqrt(self.sigma2)))
        return pd.DataFrame(rows, columns=["group", "var1", "var2", "vcov", "sdcor"])

    @cached_property
    def ranef(self) -> pd.DataFrame | dict[str, pd.DataFrame]:
        frames = {}
        for b, r in zip(self._model.blocks, self._raw.ranef, strict=True):
            frames[b.group] = pd.DataFrame(r, index=pd.Index(b.levels.astype(str), name=b.group), columns=b.names)
        if len(frames) == 1:
            return next(iter(frames.values()))
        return frames

    def condvar(self) -> np.ndarray:
        """Conditional covariance of each group's random effects given the data (lme4's condVar).

        For group j, Var(b_j | y) = G (I + Z_j' Z_j G / sigma2)^-1 with the parameters at their
        estimates (so it leaves out the uncertainty of the estimates themselves). For a random
        intercept it equals tau00 (1 - lambda_j), lambda_j = tau00 / (tau00 + sigma2 / n_j).

        Returns
        -------
        numpy.ndarray
            Shape (J, q, q), groups in the order of ``ranef``'s rows.

        Examples
        --------
        >>> import mlm_helpers as mh
        >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
        >>> res.condvar()[0].round(2)
        array([[145.71, -21.44],
               [-21.44,   5.31]])
        """
        if len(self._model.blocks) != 1:
            raise MLMInputError(
                "condvar() is available for models with one grouping factor; with crossed or nested "
                "factors the random effects of different factors are correlated given the data."
            )
        block = self._model.blocks[0]
        G = np.asarray(self._raw.covs[0], dtype=float)
        Z = block.Z
        q = Z.shape[1]
        ZtZ = np.zeros((block.n_levels, q, q))
        np.add.at(ZtZ, block.codes, Z[:, :, None] * Z[:, None, :])
        M = np.eye(q)[None] + ZtZ @ G[None] / self.sigma2  # I + Z'Z G / sigma2
        # G M^{-1} = (M^{-T} G)^T because G is symmetric
        V = np.swapaxes(np.linalg.solve(np.swapaxes(M, 1, 2), np.broadcast_to(G, M.shape)), 1, 2)
        return (V + np.swapaxes(V, 1, 2)) / 2

    @property
    def ranef_sd(self) -> pd.DataFrame:
        """Conditional standard deviations of the random effects (same layout as ``ranef``)."""
        V = self.condvar()
        block = self._model.blocks[0]
        sd = np.sqrt(np.clip(np.diagonal(V, axis1=1, axis2=2), 0.0, None))
        return pd.DataFrame(sd, index=pd.Index(block.levels.astype(str), name=block.group), columns=block.names)

    @cached_property
    def is_singular(self) -> bool:
        from .frame import BAD_SCALE

        for b, cov in zip(self._model.blocks, self._raw.covs, strict=True):
            # One rule on every engine: lme4's isSingular on the relative covariance factor, taken on
            # the scale the fast engine optimises on (columns far from scale 1 rescaled, as it does).
            rms = np.sqrt(np.mean(b.Z**2, axis=0))
            s = np.where((rms > 0) & ((rms > BAD_SCALE) | (rms < 1 / BAD_SCALE)), rms, 1.0)
            diag = np.diag(relative_factor(cov * np.outer(s, s), self.sigma2, b.pattern))
            if np.any(diag < SINGULAR_TOL):
                return True
        return False

    @property
    def n_params(self) -> int:
        """Number of estimated parameters: fixed effects, covariance parameters, sigma."""
        n_cov = sum(int(b.pattern.sum()) for b in self._model.blocks)
        return len(self._model.x_names) + n_cov + 1

    @property
    def n_cov_params(self) -> int:
        """Number of random-effects covariance parameters (variances and covariances)."""
        return sum(int(b.pattern.sum()) for b in self._model.blocks)

    # ------------------------------------------------------------------ ICC and VPC
    @property
    def _intercept_only(self) -> bool:
        return bool(self._model.blocks) and all(b.names == ["Intercept"] for b in self._model.blocks)

    @property
    def icc(self) -> float | NotDefined:
        """Intraclass correlation tau00 / (tau00 + sigma2) of a random-intercept model.

        For a model with random slopes (or several grouping factors) a single
        ICC is not defined: the result is a :class:`NotDefined` string that
        says why (and :attr:`vpc` gives the shares for intercept-only models).
        """
        blocks = self._model.blocks
        if not blocks:
            return NotDefined("This model has no random effects, so there is no ICC.")
        if not self._intercept_only:
            return NotDefined(
                "A single ICC is not defined for a model with random slopes: the between-group "
                "variance tau00 + 2 tau01 x + tau11 x^2 changes with x, so the share of variance "
                "between groups is different at every value of x. Report the ICC of the null model "
                "(y ~ 1 + (1 | g)), or compute the VPC at chosen values of x."
            )
        if len(blocks) > 1:
            return NotDefined(
                "With several grouping factors there is one variance share per factor and several "
                "correlations (same level of one factor, of both, ...), so no single ICC: see .vpc."
            )
        tau = float(self._raw.covs[0][0, 0])
        return tau / (tau + self.sigma2)

    @property
    def vpc(self) -> pd.Series:
        """Variance partition: each component's share of the total variance (intercept-only models)."""
        if not self._intercept_only:
            raise MLMInputError(
                "The variance partition coefficient (VPC) is defined here for random-intercept models "
                "only; with random slopes the between-group variance depends on x."
            )
        vals = {b.group: float(c[0, 0]) for b, c in zip(self._model.blocks, self._raw.covs, strict=True)}
        vals["Residual"] = self.sigma2
        s = pd.Series(vals, name="vpc")
        return s / s.sum()

    # ------------------------------------------------------------------ information criteria
    @cached_property
    def _ml_loglik(self) -> float:
        if not self.reml:
            return self.loglik
        return self.refit(reml=False).loglik

    @property
    def aic(self) -> float:
        """AIC from the ML log-likelihood.

        For a REML fit the model is refitted by ML for this (REML likelihoods
        of models with different fixed effects cannot be compared, which is
        why statsmodels reports NaN). lme4's ``AIC()`` of a REML fit uses the
        REML criterion instead: that is :attr:`aic_reml`.
        """
        return -2 * self._ml_loglik + 2 * self.n_params

    @property
    def bic(self) -> float:
        """BIC from the ML log-likelihood (refitting by ML if needed), log(nobs) per parameter."""
        return -2 * self._ml_loglik + np.log(self.nobs) * self.n_params

    @property
    def aic_reml(self) -> float:
        """lme4-style AIC of the fitted criterion (REML for REML fits): compare only same fixed effects."""
        return -2 * self.loglik + 2 * self.n_params

    @property
    def bic_reml(self) -> float:
        """lme4-style BIC of the fitted criterion."""
        return -2 * self.loglik + np.log(self.nobs) * self.n_params

    # ------------------------------------------------------------------ refit and predict
    def refit(self, y: np.ndarray | pd.Series | None = None, *, reml: bool | None = None,
              engine: str | None = None, warn: bool = True, ddf: str | None = None) -> MixedResult:
        """Fit the same model again: to a new response ``y``, or by ML instead of REML, or with another engine.

        Like lme4's ``refit(fit, newresp)``, a new response reuses everything else: the model
        matrices and, with the fast engine, the per-group statistics of the design, so a refit
        costs about a millisecond. This is the tool for simulation loops; see also
        :meth:`simulate` and :meth:`refit_many`.

        Parameters
        ----------
        y : array-like, optional
            A new response, one value per row of the fitted model (``len(y) == result.nobs``,
            rows in the order of ``result.model.y``). Default: the same response.
        reml : bool, optional
            REML or ML (default: as this fit).
        engine : str, optional
            Default: this fit's engine.
        warn : bool
            Raise convergence and singular-fit warnings (default True; a simulation loop that
            records ``converged`` and ``is_singular`` may turn them off).
        ddf : str, optional
            Degrees-of-freedom method (default: this fit's; Kenward-Roger falls back to
            Satterthwaite for an ML refit).

        Returns
        -------
        MixedResult

        Examples
        --------
        >>> import mlm_helpers as mh
        >>> res = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
        >>> y_new = res.simulate(1, seed=1)[0]
        >>> res.refit(y_new).nobs, res.refit(reml=False).reml
        (180, False)
        """
        from .engines import choose

        reml = self.reml if reml is None else bool(reml)
        if ddf is None:
            ddf = "satterthwaite" if (self.ddf == "kenward-roger" and not reml) else self.ddf
        model = self._model
        if y is not None:
            y = np.asarray(y, dtype=float).ravel()
            if y.shape != (self.nobs,):
                raise MLMInputError(f"refit(y) needs one value per row of the fitted model ({self.nobs}); "
                                    f"got {y.shape[0]}.")
            if not np.all(np.isfinite(y)):
                raise MLMInputError("refit(y): the new response has missing or infinite values.")
            model = dataclasses.replace(model, y=y)
        chosen = choose(model, self.engine if engine is None else engine)
        with one_blas_thread():
            if chosen.name == "fast" and y is not None and self._raw.state is not None:
                from .engines.fast import refit_model

                raw = refit_model(model, self._raw.state, y, reml)
            else:
                raw = chosen.fit(model, reml)
        data = self._data
        if y is not None:
            data = model.data.copy()
            data[self._model.spec.response] = y
        result = MixedResult(model, raw, reml=reml, engine=chosen.name, formula=self.formula, data=data,
                             ddf=ddf)
        if warn:
            result.warn()
        return result

    def with_ddf(self, ddf: str) -> MixedResult:
        """The same fit with another degrees-of-freedom method for ``fixed`` (no refit).

        Examples
        --------
        >>> import mlm_helpers as mh
        >>> res = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
        >>> res.with_ddf("normal").fixed["df"].tolist()
        [inf, inf]
        """
        return MixedResult(self._model, self._raw, reml=self.reml, engine=self.engine, formula=self.formula,
                           data=self._data, ddf=ddf)

    def simulate(self, nsim: int = 1, seed: int | np.random.Generator | None = None) -> np.ndarray:
        r"""Draw new responses from the fitted model, as lme4's ``simulate()``.

        Each draw is :math:`X\hat\beta + Z b^* + \varepsilon^*` with new random effects
        :math:`b^* \sim N(0, \hat T)` and residuals :math:`\varepsilon^* \sim N(0, \hat\sigma^2)`
        (a parametric bootstrap sample).

        Parameters
        ----------
        nsim : int
            Number of responses.
        seed : int, Generator or None
            Seed of the draws.

        Returns
        -------
        numpy.ndarray
            Shape ``(nsim, nobs)``, rows in the order of ``result.model.y``.

        Examples
        --------
        >>> import mlm_helpers as mh
        >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
        >>> res.simulate(3, seed=1).shape
        (3, 180)
        """
        if not isinstance(nsim, int | np.integer) or isinstance(nsim, bool) or nsim < 1:
            raise MLMInputError(f"nsim must be a whole number of at least 1; got {nsim!r}.")
        rng = np.random.default_rng(seed)
        model = self._model
        mean = model.X @ self._raw.beta
        Y = np.empty((int(nsim), self.nobs))
        for s in range(int(nsim)):
            y = mean + rng.normal(0.0, np.sqrt(self.sigma2), self.nobs)
            for b, cov in zip(model.blocks, self._raw.covs, strict=True):
                evals, evecs = np.linalg.eigh(cov)
                root = evecs * np.sqrt(np.clip(evals, 0.0, None))
                u = rng.standard_normal((b.n_levels, b.q)) @ root.T
                y += np.einsum("nq,nq->n", b.Z, u[b.codes])
            Y[s] = y
        return Y

    def refit_many(self, Y: np.ndarray, *, reml: bool | None = None) -> pd.DataFrame:
        """Refit the model to many responses at once (a simulation study's inner loop).

        With the fast engine and one grouping factor, all responses are fitted together: one
        vectorised search for a random intercept; batched Newton steps from this fit's estimates
        for several covariance parameters (random slopes), any response they do not settle refitted
        on its own. With several grouping factors the fast engine refits each in turn, reusing the
        design's theta-free pieces and starting the search at this fit's theta; other engines run
        :meth:`refit` for each. No warnings are raised: the table records ``converged`` and
        ``singular``.

        Parameters
        ----------
        Y : array, shape (R, nobs)
            Responses, one per row, e.g. from :meth:`simulate`.
        reml : bool, optional
            Default: as this fit.

        Returns
        -------
        pandas.DataFrame
            One row per response: ``loglik``, the fixed effects (``<term>``) and their standard
            errors (``se_<term>``), the variance components as in :attr:`varcorr` (``vcov_<k>``),
            ``sigma2``, ``singular`` and ``converged``.

        Examples
        --------
        >>> import mlm_helpers as mh
        >>> res = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
        >>> table = res.refit_many(res.simulate(200, seed=2))
        >>> table.shape[0], bool(table["converged"].all())
        (200, True)
        """
        Y = np.atleast_2d(np.asarray(Y, dtype=float))
        if Y.ndim != 2 or Y.shape[1] != self.nobs:
            raise MLMInputError(f"refit_many(Y) needs an array of shape (R, {self.nobs}); got {Y.shape}.")
        reml = self.reml if reml is None else bool(reml)
        names = list(self._model.x_names)
        state = self._raw.state
        if self._batched_refits():
            from .deviance import response_parts, theta_index
            from .engines.fast import fit_fast_many

            ss = state.with_response(*response_parts(self._model, Y))
            theta0 = None if state.n_theta == 1 else np.asarray(self.theta, float)
            with one_blas_thread():
                est = fit_fast_many(ss, reml=reml, theta0=theta0)
            out: dict[str, np.ndarray] = {"loglik": -0.5 * est["deviance"]}
            for k, name in enumerate(names):
                out[name] = est["beta"][:, k]
            for k, name in enumerate(names):
                out[f"se_{name}"] = est["se"][:, k]
            covs = est["covs"]
            block = self._model.blocks[0]
            pos = 0
            for t in range(len(block.terms)):  # result.varcorr's row order
                cols = [k for k in range(block.q) if block.term_of_column[k] == t]
                for k in cols:
                    out[f"vcov_{pos}"] = covs[:, k, k]
                    pos += 1
                for a_i, a in enumerate(cols):
                    for c in cols[a_i + 1:]:
                        out[f"vcov_{pos}"] = covs[:, a, c]
                        pos += 1
            out["sigma2"] = est["sigma2"]
            t_rows, t_cols = theta_index(block.pattern)
            th = np.atleast_2d(est["theta"].T).T
            out["singular"] = np.any(th[:, t_rows == t_cols] < SINGULAR_TOL, axis=1)
            out["converged"] = est["converged"]
            return pd.DataFrame(out)
        rows = []
        fast = self.engine == "fast" and state is not None
        if fast:
            from .engines.fast import refit_model
        for y in Y:
            if fast:
                # The design's theta-free pieces are reused and the search starts at this fit's
                # theta (a warm start: simulated responses are near the fitted model).
                if not np.all(np.isfinite(y)):
                    raise MLMInputError("refit_many(Y): a response has missing or infinite values.")
                with one_blas_thread():
                    raw = refit_model(self._model, state, y, reml, theta0=self._raw.theta)
                r = MixedResult(self._model, raw, reml=reml, engine="fast", formula=self.formula, data=self._data,
                                ddf="satterthwaite")
            else:
                r = self.refit(y, reml=reml, warn=False)
            se = np.sqrt(np.diag(r._raw.vcov_beta))  # Wald se: no df needed here
            row = {"loglik": r.loglik, **dict(zip(names, r._raw.beta, strict=True)),
                   **{f"se_{n}": v for n, v in zip(names, se, strict=True)}}
            row.update({f"vcov_{k}": v for k, v in enumerate(r.varcorr["vcov"].iloc[:-1])})
            row.update(sigma2=r.sigma2, singular=r.is_singular, converged=r.converged)
            rows.append(row)
        return pd.DataFrame(rows)

    def _random_part_variance(self, data: pd.DataFrame) -> np.ndarray:
        r"""Variance of each row's random part with several grouping factors (known and new levels per factor).

        For the levels seen in the fit, the joint conditional covariance of all factors' random
        effects, :math:`\sigma^2 \Lambda (\Lambda^\top Z^\top Z \Lambda + I)^{-1} \Lambda^\top`
        (the effects of crossed factors are correlated given the data); a level not seen adds its
        factor's covariance matrix :math:`T_f`, independent of the rest.
        """
        from scipy import sparse
        from scipy.linalg import cho_factor, cho_solve

        blocks = self._model.blocks
        n_fit = self.nobs
        Q = sum(b.n_levels * b.q for b in blocks)
        if Q > 5000:
            raise MLMInputError(f"Intervals with several grouping factors form a dense {Q} x {Q} matrix; this "
                                "model has too many random effects for that (at most 5000).")
        mats, lams, rows_new = [], [], []
        n_new = len(data)
        var = np.zeros(n_new)
        for b, cov in zip(blocks, self._raw.covs, strict=True):
            rows = np.repeat(np.arange(n_fit), b.q)
            cols = (b.codes[:, None] * b.q + np.arange(b.q)[None, :]).ravel()
            mats.append(sparse.csr_matrix((b.Z.ravel(), (rows, cols)), shape=(n_fit, b.n_levels * b.q)))
            lam = relative_factor(np.asarray(cov, float), self.sigma2, b.pattern)
            lams.append(sparse.kron(sparse.identity(b.n_levels), sparse.csr_matrix(lam)))
            codes = b.codes_for(data)
            try:
                Zn = b.z_matrix(data)
            except KeyError as exc:
                raise MLMInputError(f"newdata lacks the column {exc.args[0]!r} used by a random term.") from None
            seen = codes >= 0
            var[~seen] += np.einsum("na,ab,nb->n", Zn[~seen], np.asarray(cov, float), Zn[~seen])
            r = np.repeat(np.flatnonzero(seen), b.q)
            c = (codes[seen][:, None] * b.q + np.arange(b.q)[None, :]).ravel()
            rows_new.append(sparse.csr_matrix((Zn[seen].ravel(), (r, c)), shape=(n_new, b.n_levels * b.q)))
        ZL = (sparse.hstack(mats) @ sparse.block_diag(lams)).tocsc()
        A = (ZL.T @ ZL).toarray() + np.eye(Q)
        B = np.asarray((sparse.hstack(rows_new) @ sparse.block_diag(lams)).todense()).T  # Q x n_new
        cf = cho_factor(A, lower=True)
        return var + self.sigma2 * np.einsum("qn,qn->n", B, cho_solve(cf, B))

    def _batched_refits(self) -> bool:
        """refit_many can fit all responses together: the fast engine, no internal rescaling."""
        from .frame import BAD_SCALE

        state = self._raw.state
        if self.engine != "fast" or state is None or len(self._model.blocks) != 1:
            return False
        rms = np.sqrt(np.einsum("jkk->k", state.ZtZ) / state.n)
        return not np.any((rms > 0) & ((rms > BAD_SCALE) | (rms < 1.0 / BAD_SCALE)))

    def predict(self, newdata: pd.DataFrame | None = None, include_random: bool = True, *,
                interval: str | None = None, level: float = 0.95) -> np.ndarray | pd.DataFrame:
        r"""Predictions for existing or new data, with confidence or prediction intervals if asked.

        Parameters
        ----------
        newdata : DataFrame, optional
            Rows to predict (default: the data the model was fitted to).
        include_random : bool
            Add each row's group's conditional mode. Groups not seen in the fit
            get the population-level prediction (random effects 0), as lme4's
            ``allow.new.levels = TRUE``.
        interval : {None, "confidence", "prediction"}
            ``None`` (default): the array of predictions. Otherwise a DataFrame with ``fit``,
            ``lower``, ``upper`` (normal quantiles; the variance parameters are taken as known).
            ``"confidence"``: for the mean of the row's group at x, variance
            :math:`x^\top V_\gamma x + z^\top C_j z` for a known group (:math:`C_j`: the
            conditional covariance of its random effects, :meth:`condvar`) and
            :math:`x^\top V_\gamma x + z^\top T z` for a new group (a group drawn anew: the
            random-effect variance). ``"prediction"``: for one new unit, adding :math:`\sigma^2`.
            With several grouping factors, each factor's level is known or new on its own: the
            known levels use the joint conditional covariance of all factors' random effects, a
            new level adds its factor's covariance matrix.
        level : float
            Level of the intervals.

        Returns
        -------
        numpy.ndarray or pandas.DataFrame

        Examples
        --------
        >>> import mlm_helpers as mh, pandas as pd
        >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
        >>> new = pd.DataFrame({"Days": [0, 5], "Subject": ["308", "new"]})
        >>> res.predict(new).round(1)
        array([253.7, 303.7])
        >>> list(res.predict(new, interval="prediction").columns)
        ['fit', 'lower', 'upper']
        """
        if interval is not None and interval not in ("confidence", "prediction"):
            raise MLMInputError(f"interval must be None, 'confidence' or 'prediction'; got {interval!r}.")
        if interval is not None and (isinstance(level, bool) or not isinstance(level, int | float)
                                     or not 0 < level < 1):
            raise MLMInputError(f"level must be a number strictly between 0 and 1, such as 0.95; got {level!r}.")
        data = self._model.data if newdata is None else newdata
        if not isinstance(data, pd.DataFrame):
            raise MLMInputError(f"newdata must be a DataFrame, got {type(data).__name__}.")
        try:
            X = design_matrix(self._model.x_design_info, data)
        except KeyError as exc:
            raise MLMInputError(f"newdata lacks the column {exc.args[0]!r} that the fixed part uses.") from None
        except Exception as exc:  # patsy errors: missing values, unknown factor levels
            raise MLMInputError(f"Cannot build the fixed part for newdata: {exc}") from None
        pred = X @ self._raw.beta
        if include_random:
            for b, r in zip(self._model.blocks, self._raw.ranef, strict=True):
                codes = b.codes_for(data)
                try:
                    Z = b.z_matrix(data)
                except KeyError as exc:
                    raise MLMInputError(f"newdata lacks the column {exc.args[0]!r} used by a random term.") from None
                seen = codes >= 0
                pred[seen] += np.einsum("nq,nq->n", Z[seen], r[codes[seen]])
        if interval is None:
            return pred
        if not include_random:
            raise MLMInputError("Intervals need include_random=True (a known group's interval uses its "
                                "conditional mode; a new group's, the random-effect variance).")
        var = np.einsum("np,pq,nq->n", X, np.asarray(self._raw.vcov_beta, float), X)
        if len(self._model.blocks) == 1:
            block = self._model.blocks[0]
            codes = block.codes_for(data)
            Z = block.z_matrix(data)
            T = np.asarray(self._raw.covs[0], float)
            C = self.condvar()
            cov = np.where((codes >= 0)[:, None, None], C[np.maximum(codes, 0)], T[None])
            var = var + np.einsum("na,nab,nb->n", Z, cov, Z)
        else:
            var = var + self._random_part_variance(data)
        if interval == "prediction":
            var = var + self.sigma2
        crit = special.ndtri(0.5 + float(level) / 2)
        half = crit * np.sqrt(var)
        index = data.index if isinstance(data, pd.DataFrame) else None
        return pd.DataFrame({"fit": pred, "lower": pred - half, "upper": pred + half}, index=index)

    # ------------------------------------------------------------------ display
    def summary(self, digits: int = 4, correlation: bool | None = None) -> str:
        """A printable summary laid out as lme4's ``print(summary(fit))``.

        In lme4's order: the fit, the formula and a data line; the AIC, BIC, logLik, deviance and
        df.resid line for ML fits (the REML criterion for REML fits); the scaled residuals; the
        random effects (Groups, Name, Variance, Std.Dev., Corr); the fixed effects in the
        formula's order; the correlation of the fixed effects (hidden, as lme4 does, when there
        are more than 12 of them, unless ``correlation=True``).

        Numbers are shown by significance, as lme4 prints them (see ``CONTRIBUTING.md``,
        "Numbers"): each column of the random-effects table gets the decimals its smallest entry
        needs for ``digits`` significant digits, correlations two decimals in a ``Corr`` column,
        and the fixed effects follow R's ``printCoefmat`` rule.

        Parameters
        ----------
        digits : int
            Significant digits (lme4's summary uses 4).
        correlation : bool, optional
            Show the correlation of the fixed effects: by default when there are 2 to 12 of them.

        Examples
        --------
        >>> import mlm_helpers as mh
        >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
        >>> print(res.summary())  # doctest: +ELLIPSIS
        Linear mixed model fit by REML (mlm_helpers, engine: fast)
        ...
         Groups    Name       Variance Std.Dev. Corr
         Subject   Intercept  612.09   24.740
                   Days        35.07    5.922   0.07
         Residual             654.94   25.592
        ...
        """
        crit = "REML" if self.reml else "ML"
        lines = [f"Linear mixed model fit by {crit} (mlm_helpers, engine: {self.engine})",
                 f"Formula: {self.formula}"]
        name = self._data.attrs.get("name") if isinstance(self._data, pd.DataFrame) else None
        lines.append(f"Data: {name}" if name else
                     f"Data: a DataFrame with {len(self._data)} rows and {self._data.shape[1]} columns")
        if isinstance(self.ngroups, dict):
            grp = ", ".join(f"{k}: {v}" for k, v in self.ngroups.items())
        elif self._model.blocks:
            grp = f"{self._model.blocks[0].group}: {self.ngroups}"
        else:
            grp = "none"
        lines.append(f"Observations: {self.nobs}; groups: {grp}")
        if self.n_dropped:
            lines.append(f"({self.n_dropped} rows with missing values were dropped)")
        if self.reml:
            lines.append(f"REML criterion at convergence: {-2 * self.loglik:.1f}   "
                         f"(REML log-likelihood {self.loglik:.2f})")
        else:
            lines.append("")
            lines.extend(self._fit_line(digits))
        lines.append("")
        lines.append("Scaled residuals:")
        lines.extend(self._scaled_residuals(digits))
        lines.append("")
        lines.append("Random effects:")
        lines.extend(self._random_effects_table(digits))
        lines.append("")
        lines.append(_DDF_LINES[self.ddf])
        lines.extend(self._fixed_effects_table(digits))
        p = len(self._model.x_names)
        show = (1 < p <= 12) if correlation is None else (bool(correlation) and p > 1)
        if show:
            lines.append("")
            lines.append("Correlation of Fixed Effects:")
            lines.extend(self._fixed_correlation_table())
        elif correlation is None and p > 12:
            lines.append("")
            lines.append(f"Correlation matrix not shown by default, as p = {p} > 12. Use "
                         "summary(correlation=True) or result.vcov_fixed if you need it.")
        notes = []
        if self.is_singular:
            notes.append("Boundary (singular) fit: a variance is 0 or a correlation is +-1 (see chapter 05).")
        if not self.converged:
            notes.append(f"The optimiser may not have converged: {self.convergence_message}.")
        notes.extend(self.notes)
        if notes:
            lines.append("")
            lines.extend("Note: " + n for n in notes)
        return "\n".join(lines)

    def _fit_line(self, digits: int) -> list[str]:
        """lme4's line for ML fits: AIC, BIC, logLik, deviance to one decimal, df.resid."""
        vals = [unsigned_zero(f"{v:.1f}") for v in (self.aic_reml, self.bic_reml, self.loglik, -2 * self.loglik)]
        vals.append(str(self.nobs - self.n_params))
        heads = ["AIC", "BIC", "logLik", "deviance", "df.resid"]
        w = [max(len(h), len(v)) + 1 for h, v in zip(heads, vals, strict=True)]
        w = [max(wk, 9) for wk in w]
        return ["".join(f"{h:>{wk}}" for h, wk in zip(heads, w, strict=True)),
                "".join(f"{v:>{wk}}" for v, wk in zip(vals, w, strict=True))]

    @property
    def residuals_scaled(self) -> np.ndarray:
        """Conditional residuals divided by sigma (lme4's ``residuals(fit, scaled = TRUE)``)."""
        return (self._model.y - self.predict()) / np.sqrt(self.sigma2)

    def _scaled_residuals(self, digits: int) -> list[str]:
        q = np.quantile(self.residuals_scaled, [0, 0.25, 0.5, 0.75, 1.0])
        mx = float(np.max(np.abs(q)))  # R's zapsmall(q, digits + 1), as lme4 prints them
        q = np.round(q, max(0, digits + 1 - int(np.ceil(np.log10(mx)))) if mx > 0 else digits + 1)
        vals = [unsigned_zero(v) for v in format_column(q, digits)]
        heads = ["Min", "1Q", "Median", "3Q", "Max"]
        w = max(8, *(len(v) + 1 for v in vals))
        return ["".join(f"{h:>{w}}" for h in heads), "".join(f"{v:>{w}}" for v in vals)]

    def _fixed_correlation_table(self) -> list[str]:
        """Lower triangle of the correlation of the fixed-effect estimates, abbreviated column names."""
        V = np.asarray(self._raw.vcov_beta, dtype=float)
        sd = np.sqrt(np.diag(V))
        C = V / np.outer(sd, sd)
        names = list(self._model.x_names)
        short = _abbreviate(names)
        wn = max(len(n) for n in names) + 1
        wc = max(7, *(len(a) + 1 for a in short[:-1]))
        out = [" " * wn + "".join(f"{a:<{wc}}" for a in short[:-1]).rstrip()]
        for i in range(1, len(names)):
            cells = "".join(f"{unsigned_zero(f'{C[i, j]:.3f}'):>6}" + " " * (wc - 6) for j in range(i))
            out.append(f"{names[i]:<{wn}}{cells}".rstrip())
        return out

    def _random_effects_table(self, digits: int) -> list[str]:
        """lme4's layout: Groups, Name, Variance, Std.Dev., then correlations in a Corr column."""
        rows: list[tuple[str, str, float, float, list[float]]] = []
        for b, cov in zip(self._model.blocks, self._raw.covs, strict=True):
            for t in range(len(b.terms)):
                cols = [k for k in range(b.q) if b.term_of_column[k] == t]
                gname = b.group if t == 0 else f"{b.group}.{t}"
                for pos, k in enumerate(cols):
                    corrs = []
                    for c in cols[:pos]:
                        denom = np.sqrt(cov[k, k] * cov[c, c])
                        corrs.append(cov[k, c] / denom if denom > 0 else np.nan)
                    rows.append((gname if pos == 0 else "", b.names[k], cov[k, k], np.sqrt(max(cov[k, k], 0.0)),
                                 corrs))
        rows.append(("Residual", "", self.sigma2, np.sqrt(self.sigma2), []))
        variances = format_column([r[2] for r in rows], digits)
        sds = format_column([r[3] for r in rows], digits)
        corr_txt = [" ".join(unsigned_zero(f"{c:5.2f}") if np.isfinite(c) else "  NaN" for c in r[4]) for r in rows]
        wg = max(6, *(len(r[0]) for r in rows)) + 2
        wn = max(4, *(len(r[1]) for r in rows)) + 2
        wv = max(8, *map(len, variances))
        ws = max(8, *map(len, sds))
        has_corr = any(r[4] for r in rows)
        out = [f" {'Groups':<{wg}}{'Name':<{wn}}{'Variance':<{wv}} {'Std.Dev.':<{ws}}" + (" Corr" if has_corr else "")]
        for r, v, sd, ct in zip(rows, variances, sds, corr_txt, strict=True):
            # Right-align numbers on the decimal point within the column width, as R does.
            line = f" {r[0]:<{wg}}{r[1]:<{wn}}{v:>{len(max(variances, key=len))}}{'':<{wv - len(max(variances, key=len))}}" \
                   f" {sd:>{len(max(sds, key=len))}}{'':<{ws - len(max(sds, key=len))}}"
            if ct:
                line += " " + ct.strip() if ct.strip() else ""
            out.append(line.rstrip())
        return out

    def _fixed_effects_table(self, digits: int) -> list[str]:
        """Estimates and standard errors by R's ``printCoefmat`` rule; df to 2 decimals, t (or z) to at most 3."""
        fx = self.fixed
        est, se = fx["estimate"].to_numpy(), fx["se"].to_numpy()
        both = np.abs(np.concatenate([est, se]))
        both = both[(both > 0) & np.isfinite(both)]
        if len(both):
            digmin = 1 + np.floor(np.log10([both.min(), both.max()]))
            dec = int(max(1, *(digits - digmin)))
        else:
            dec = digits
        est_txt = [unsigned_zero(f"{x:.{dec}f}") for x in est]
        se_txt = [f"{x:.{dec}f}" for x in se]
        z_txt = format_column(np.round(fx["t"].to_numpy(), 3), digits, max_decimals=3)
        p_txt = ["<0.001" if p < 0.001 else f"{p:.3f}" for p in fx["p"]]
        normal = self.ddf == "normal"
        df_txt = [] if normal else format_column(np.round(fx["df"].to_numpy(), 2), digits, max_decimals=2)
        lo_txt = [unsigned_zero(f"{x:.{dec}f}") for x in fx["ci_lower"]]
        hi_txt = [unsigned_zero(f"{x:.{dec}f}") for x in fx["ci_upper"]]
        ci = lo_txt + hi_txt
        wn = max(len(str(n)) for n in fx.index) + 2
        we = max(9, *map(len, est_txt)) + 1
        ws = max(9, *map(len, se_txt)) + 1
        wz = max(8, *map(len, z_txt)) + 1
        wc = max(7, *map(len, ci)) + 1
        wd = 0 if normal else max(3, *map(len, df_txt)) + 1
        stat, ptxt = ("z value", "Pr(>|z|)") if normal else ("t value", "Pr(>|t|)")
        head = f" {'':<{wn}}{'Estimate':>{we}}{'Std.Err.':>{ws}}" + ("" if normal else f"{'df':>{wd}}")
        out = [head + f"{stat:>{wz}}{ptxt:>9}{'[0.025':>{wc}}{'0.975]':>{wc}}"]
        dfs = df_txt if df_txt else [""] * len(est_txt)
        for name, e, s_, d, z, p, lo, hi in zip(fx.index, est_txt, se_txt, dfs, z_txt, p_txt, lo_txt, hi_txt,
                                                strict=True):
            out.append(f" {name:<{wn}}{e:>{we}}{s_:>{ws}}{d:>{wd}}{z:>{wz}}{p:>9}{lo:>{wc}}{hi:>{wc}}")
        return out

    def __repr__(self) -> str:
        crit = "REML" if self.reml else "ML"
        return (f"<MixedResult {self.formula!r}: {crit} loglik {self.loglik:.3f}, "
                f"{self.nobs} obs, engine {self.engine!r}>")
