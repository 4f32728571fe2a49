"""Reporting fitted models: a journal-style table, standard sentences, and checks against known truth.

* :func:`model_table` puts several fits side by side in one long table
  (model, fixed effect, estimate, SE, random effect, variance) with the
  log-likelihood, deviance, AIC, BIC and the numbers of groups and
  observations, the way papers report a sequence of multilevel models.
* :func:`describe_fit` writes the standard sentences about one fit from its
  numbers, so a report cannot drift from the output.
* :func:`parameter_table`, :func:`parametric_bootstrap` and
  :func:`truth_table` list every parameter under one label, give standard
  errors for the variance components by a parametric bootstrap, and compare
  estimates with the values that generated simulated data.

Every parameter has one label, used in all these tables: a fixed effect by
its term name (``"Intercept"``, ``"SES"``), a variance as
``"School: var(Intercept)"``, a covariance as ``"School: cov(Intercept, SES)"``
and the residual variance as ``"Residual: var"``.

Examples
--------
>>> import mlm_helpers as mh
>>> from mlm_helpers import reporting
>>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
>>> reporting.parameter_table(res)["estimate"].round(2).tolist()
[251.41, 10.47, 612.09, 35.07, 9.6, 654.94]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import MLMInputError
from ..model._numerics import relative_factor
from ..model.deviance import SuffStats, response_parts, sufficient_stats, theta_index
from ..model.engines.fast import fit_fast
from ..model.result import MixedResult

__all__ = ["model_table", "describe_fit", "parameter_table", "parametric_bootstrap", "truth_table",
           "TABLE_COLUMNS"]

#: The columns of :func:`model_table`, in order.
TABLE_COLUMNS = ["model", "fixed effect", "estimate", "SE", "random effect", "variance"]

RESIDUAL_LABEL = "Residual: var"


# ---------------------------------------------------------------------------- helpers
def _check_result(result: object, name: str = "result") -> MixedResult:
    if not isinstance(result, MixedResult):
        raise MLMInputError(f"{name} must be a result of mh.fit(), got {type(result).__name__}.")
    return result


def _check_digits(digits: object, allow_none: bool = True) -> int | None:
    if digits is None and allow_none:
        return None
    if isinstance(digits, bool) or not isinstance(digits, int | np.integer) or digits < 0:
        extra = " or None (plain numbers)" if allow_none else ""
        raise MLMInputError(f"digits must be a whole number of decimals, 0 or more{extra}; got {digits!r}.")
    return int(digits)


def _random_parameters(result: MixedResult) -> list[tuple[str, str, int, int, float]]:
    """(label, group, row, column, value) of every free variance and covariance, in lme4's order."""
    out = []
    for b, cov in zip(result.model.blocks, result._raw.covs, strict=True):
        for t in range(len(b.terms)):
            cols = [k for k in range(b.q) if b.term_of_column[k] == t]
            for k in cols:
                out.append((f"{b.group}: var({b.names[k]})", b.group, k, k, float(cov[k, k])))
            for a_i, a in enumerate(cols):
                for c in cols[a_i + 1:]:
                    out.append((f"{b.group}: cov({b.names[a]}, {b.names[c]})", b.group, c, a, float(cov[a, c])))
    return out


def _fmt(value: float, digits: int) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    text = f"{value:.{digits}f}"
    if float(text) == 0:  # no "-0.00"
        text = f"{0.0:.{digits}f}"
    return text


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


# ---------------------------------------------------------------------------- the table
def parameter_table(result: MixedResult) -> pd.DataFrame:
    """Every estimated parameter of a fit in one table, under the labels this module uses.

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlm_helpers.fit`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``parameter``; columns ``kind`` (``"fixed"`` or
        ``"random"``), ``estimate`` and ``se``: the Wald standard error for
        fixed effects, missing (NaN) for variance components, whose sampling
        distribution is skewed (see :func:`parametric_bootstrap`).

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
    >>> parameter_table(res).round(2)
                               kind  estimate    se
    parameter
    Intercept                 fixed    251.41  9.75
    Days                      fixed     10.47  0.80
    Subject: var(Intercept)  random   1378.18   NaN
    Residual: var            random    960.46   NaN
    """
    _check_result(result)
    fx = result.fixed
    rows = [(name, "fixed", float(r["estimate"]), float(r["se"])) for name, r in fx.iterrows()]
    rows += [(lab, "random", val, np.nan) for lab, _, _, _, val in _random_parameters(result)]
    rows.append((RESIDUAL_LABEL, "random", result.sigma2, np.nan))
    df = pd.DataFrame(rows, columns=["parameter", "kind", "estimate", "se"]).set_index("parameter")
    return df


def model_table(results: Mapping[str, MixedResult], digits: int | None = 2) -> pd.DataFrame:
    """Several fitted models in one journal-style table, one block of rows per model.

    Each block lists the model's fixed effects (``fixed effect``, ``estimate``,
    ``SE``) side by side with its variance components (``random effect``,
    ``variance``: variances, covariances and the residual variance), followed
    by rows of fit statistics whose label is in the ``fixed effect`` column and
    value in the ``estimate`` column:

    * ``log-likelihood (REML)`` (or ``(ML)``): the maximised criterion of the fit;
    * ``deviance (ML)``, ``AIC (ML)``, ``BIC (ML)``: from the ML log-likelihood
      (a REML fit is refitted by ML for these, so the rows of different models
      can be compared even when their fixed effects differ);
    * ``groups (<factor>)`` and ``observations``.

    Parameters
    ----------
    results : mapping of str to MixedResult
        Model label -> fit, in the order the blocks should appear, e.g.
        ``{"M0 null": m0, "M1 random intercept": m1}``.
    digits : int or None
        Decimals shown: the table then holds text, with empty cells where a
        row has nothing to show (ready to print or export). ``None`` keeps
        plain numbers, with NaN in empty cells.

    Returns
    -------
    pandas.DataFrame
        Columns ``model, fixed effect, estimate, SE, random effect, variance``.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> d = mh.load_dataset("sleepstudy")
    >>> fits = {"intercepts": mh.fit("Reaction ~ Days + (1 | Subject)", d),
    ...         "slopes": mh.fit("Reaction ~ Days + (Days | Subject)", d)}
    >>> tab = model_table(fits, digits=1)
    >>> print(tab.iloc[:3].to_string(index=False))
         model          fixed effect estimate  SE           random effect variance
    intercepts             Intercept    251.4 9.7 Subject: var(Intercept)   1378.2
    intercepts                  Days     10.5 0.8           Residual: var    960.5
    intercepts log-likelihood (REML)   -893.2
    >>> print(tab.loc[tab["fixed effect"] == "AIC (ML)", ["model", "estimate"]].to_string(index=False))
         model estimate
    intercepts   1802.1
        slopes   1763.9
    """
    if not isinstance(results, Mapping) or not results:
        raise MLMInputError(
            "results must be a non-empty dict of label -> fit, e.g. {'M0 null': m0, 'M1 random intercept': m1}; "
            f"got {type(results).__name__}."
        )
    digits = _check_digits(digits)
    rows: list[list[object]] = []
    for label, res in results.items():
        _check_result(res, f"results[{label!r}]")
        fx = res.fixed
        fixed = [(str(name), float(r["estimate"]), float(r["se"])) for name, r in fx.iterrows()]
        random = [(lab, val) for lab, _, _, _, val in _random_parameters(res)]
        random.append((RESIDUAL_LABEL, res.sigma2))
        for k in range(max(len(fixed), len(random))):
            f_name, f_est, f_se = fixed[k] if k < len(fixed) else (None, np.nan, np.nan)
            r_name, r_val = random[k] if k < len(random) else (None, np.nan)
            rows.append([label, f_name, f_est, f_se, r_name, r_val])
        crit = "REML" if res.reml else "ML"
        ml_loglik = -0.5 * (res.aic - 2 * res.n_params)
        stats = [(f"log-likelihood ({crit})", res.loglik), ("deviance (ML)", -2 * ml_loglik),
                 ("AIC (ML)", res.aic), ("BIC (ML)", res.bic)]
        groups = res.ngroups if isinstance(res.ngroups, dict) else (
            {res.model.blocks[0].group: res.ngroups} if res.model.blocks else {})
        stats += [(f"groups ({g})", n) for g, n in groups.items()]
        stats.append(("observations", res.nobs))
        for name, val in stats:
            rows.append([label, name, val, np.nan, None, np.nan])
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    if digits is None:
        return table
    counts = table["fixed effect"].str.startswith("groups (").fillna(False) | (table["fixed effect"] == "observations")
    out = table.copy()
    for col in ["estimate", "SE", "variance"]:
        out[col] = [
            (f"{int(v)}" if (col == "estimate" and is_count and np.isfinite(v)) else _fmt(float(v), digits))
            for v, is_count in zip(table[col], counts, strict=True)
        ]
    for col in ["fixed effect", "random effect"]:
        out[col] = table[col].fillna("")
    return out


# ---------------------------------------------------------------------------- sentences
def describe_fit(result: MixedResult, *, units: str = "", digits: int = 2) -> str:
    """The standard sentences about a fit, written from its numbers.

    Parameters
    ----------
    result : MixedResult
        A fit from :func:`mlm_helpers.fit`.
    units : str
        Units of the outcome, e.g. ``"points"`` or ``"ms"`` (optional).
    digits : int
        Decimals of estimates, standard errors and variances (correlations and
        the ICC get 2, p-values 3).

    Returns
    -------
    str
        A paragraph: the model and data, each fixed effect with its SE, 95%
        interval and p-value (not for the intercept), each variance component
        as a standard deviation (and variance), correlations, the ICC for a
        random-intercept model, and whether the fit converged and is regular.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    >>> print(describe_fit(res, units="ms", digits=1))  # doctest: +NORMALIZE_WHITESPACE
    A linear mixed model fitted by REML to 180 observations in 18 groups (Subject):
    Reaction ~ Days + (Days | Subject). The intercept is 251.4 ms (SE 6.8; 95% CI 237.0 to 265.8).
    The coefficient of Days is 10.5 ms per unit of Days (SE 1.5; 95% CI 7.2 to 13.7; p < 0.001).
    Between groups (Subject), the intercept varies with a standard deviation of 24.7 ms (variance 612.1)
    and the slope of Days with a standard deviation of 5.9 ms per unit of Days (variance 35.1); the correlation
    of the intercept and the slope of Days is 0.07. The residual standard deviation is 25.6 ms
    (variance 654.9). The optimiser converged and the fit is not singular.
    """
    _check_result(result)
    digits = int(_check_digits(digits, allow_none=False) or 0)
    u = f" {units}" if units else ""
    d = digits
    model = result.model
    crit = "REML" if result.reml else "ML"
    if isinstance(result.ngroups, dict):
        grp = " and ".join(f"{n} groups ({g})" for g, n in result.ngroups.items())
        where = f" in {grp}"
    elif model.blocks:
        where = f" in {result.ngroups} groups ({model.blocks[0].group})"
    else:
        where = ""
    parts = [f"A linear mixed model fitted by {crit} to {result.nobs} observations{where}: {result.formula}."]
    for name, r in result.fixed.iterrows():
        ci = f"95% CI {_fmt(r['ci_lower'], d)} to {_fmt(r['ci_upper'], d)}"
        if name == "Intercept":
            parts.append(f"The intercept is {_fmt(r['estimate'], d)}{u} (SE {_fmt(r['se'], d)}; {ci}).")
        else:
            per = f" per unit of {name}" if units else ""
            parts.append(f"The coefficient of {name} is {_fmt(r['estimate'], d)}{u}{per} "
                         f"(SE {_fmt(r['se'], d)}; {ci}; {_fmt_p(r['p'])}).")
    for b, cov in zip(model.blocks, result._raw.covs, strict=True):
        def what(k: int, b=b) -> str:
            return "the intercept" if b.names[k] == "Intercept" else f"the slope of {b.names[k]}"

        def unit(k: int, b=b) -> str:
            return u if (b.names[k] == "Intercept" or not units) else f"{u} per unit of {b.names[k]}"

        pieces = [f"{what(k)}{' varies' if k == 0 else ''} with a standard deviation of "
                  f"{_fmt(np.sqrt(max(cov[k, k], 0.0)), d)}{unit(k)} (variance {_fmt(cov[k, k], d)})"
                  for k in range(b.q)]
        text = pieces[0] if len(pieces) == 1 else ", ".join(pieces[:-1]) + " and " + pieces[-1]
        corrs = []
        for i in range(b.q):
            for j in range(i + 1, b.q):
                den = np.sqrt(max(cov[i, i] * cov[j, j], 0.0))
                if b.pattern[j, i] and den > 0:
                    corrs.append(f"the correlation of {what(i)} and {what(j)} is {cov[i, j] / den:.2f}")
        parts.append(f"Between groups ({b.group}), {text}" + ("; " + "; ".join(corrs) + "." if corrs else "."))
    parts.append(f"The residual standard deviation is {_fmt(np.sqrt(result.sigma2), d)}{u} "
                 f"(variance {_fmt(result.sigma2, d)}).")
    icc = result.icc
    if model.blocks and not isinstance(icc, str):
        share = "of the variance left after the fixed effects " if len(result.fixed) > 1 else "of the variance "
        parts.append(f"The intraclass correlation is {icc:.2f}: the share {share}that lies between groups.")
    status = "The optimiser converged" if result.converged else (
        f"Warning: the optimiser may not have converged ({result.convergence_message})")
    status += " and the fit is singular (a variance is 0 or a correlation is +-1): simplify the random part." \
        if result.is_singular else " and the fit is not singular."
    parts.append(status)
    return " ".join(parts)


# ---------------------------------------------------------------------------- bootstrap and truth
def _generating_values(result: MixedResult, truth: Mapping[str, float] | None):
    """beta, G, sigma2 and their labelled values, from the fit or from ``truth``."""
    table = parameter_table(result)
    values = table["estimate"].astype(float).to_dict()
    if truth is not None:
        if not isinstance(truth, Mapping):
            raise MLMInputError(f"truth must be a dict of parameter label -> value, got {type(truth).__name__}.")
        unknown = [k for k in truth if k not in values]
        missing = [k for k in values if k not in truth]
        if unknown or missing:
            raise MLMInputError(
                "truth must give a value for every parameter of the model, under the labels of "
                f"reporting.parameter_table(result): {list(values)}. "
                + (f"Unknown: {unknown}. " if unknown else "") + (f"Missing: {missing}." if missing else "")
            )
        values = {k: float(truth[k]) for k in values}
    beta = np.array([values[name] for name in result.fixed.index], dtype=float)
    b = result.model.blocks[0]
    G = np.zeros((b.q, b.q))
    for lab, _, i, j, _ in _random_parameters(result):
        G[i, j] = G[j, i] = values[lab]
    sigma2 = values[RESIDUAL_LABEL]
    if sigma2 <= 0:
        raise MLMInputError(f"The residual variance must be greater than 0, got {sigma2}.")
    evals = np.linalg.eigvalsh(G) if b.q else np.zeros(0)
    if np.any(evals < -1e-10 * max(1.0, float(np.abs(evals).max(initial=0.0)))):
        raise MLMInputError(
            "The variances and covariances given make an invalid covariance matrix (not positive "
            "semi-definite): each |covariance| must be at most sqrt(variance1 * variance2)."
        )
    return beta, G, sigma2, values


def _refit(ss: SuffStats, reml: bool, theta0: np.ndarray):
    """Refit one replicate with the fast engine, starting at the generating values.

    Returns (deviance, beta, vcov_beta, sigma2, Lambda, converged).
    """
    ff = fit_fast(ss, reml=reml, theta0=theta0)
    return ff.deviance, ff.beta, ff.vcov_beta, ff.sigma2, ff.lam, bool(ff.converged)


def parametric_bootstrap(
    result: MixedResult,
    n_boot: int = 200,
    *,
    seed: int | np.random.Generator | None = None,
    truth: Mapping[str, float] | None = None,
    reduced: MixedResult | None = None,
) -> pd.DataFrame:
    """Refit the model to outcomes simulated from it: a parametric bootstrap, or a simulation study.

    Each replicate keeps the design of the data (the rows, groups and
    predictors), draws new random effects and residuals from the fitted model
    (or from ``truth``), builds a new outcome and refits the model with the
    fast engine. The spread of the refitted estimates over the replicates
    estimates their standard errors, including those of the variance
    components, which :attr:`MixedResult.fixed` does not give.

    Parameters
    ----------
    result : MixedResult
        A fit with one grouping factor (the fast engine's models).
    n_boot : int
        Number of replicates.
    seed : int, numpy Generator or None
        Same seed, same replicates.
    truth : dict, optional
        Generating values under the labels of :func:`parameter_table`
        (every parameter). Without it the fit's own estimates are used (a
        parametric bootstrap); with it, the replicates form a simulation study
        of this design with known parameters.
    reduced : MixedResult, optional
        A smaller model fitted to the same rows (e.g. without a random
        slope). Each replicate is fitted with it too, and the column
        ``lrt_statistic`` holds twice the difference of the two
        log-likelihoods. If the fixed parts differ, both fits must be ML fits.

    Returns
    -------
    pandas.DataFrame
        One row per replicate: a column per parameter label, ``se(<name>)``
        for each fixed effect (the replicate's Wald SE), ``converged`` and,
        with ``reduced``, ``lrt_statistic``. ``attrs["generating"]`` holds
        the values the outcomes were drawn from.

    Notes
    -----
    Each refit reuses the design's sufficient statistics (only the response's
    parts are recomputed) and runs the fast engine from the generating values.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> res = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
    >>> boot = parametric_bootstrap(res, n_boot=50, seed=1)
    >>> boot.shape, bool(boot["converged"].all())
    ((50, 7), True)
    >>> round(float(boot["Days"].std()), 1)  # close to the Wald SE, 0.80
    0.8
    """
    _check_result(result)
    n_boot = int(_check_digits(n_boot, allow_none=False) or 0)
    if n_boot < 2:
        raise MLMInputError(f"n_boot must be at least 2 (it is the number of replicates), got {n_boot}.")
    model = result.model
    if len(model.blocks) != 1:
        raise MLMInputError(
            "parametric_bootstrap() uses the fast engine, which handles models with exactly one grouping "
            f"factor; {result.formula!r} has {len(model.blocks)}."
        )
    red_model = None
    if reduced is not None:
        _check_result(reduced, "reduced")
        red_model = reduced.model
        if len(red_model.blocks) != 1 or red_model.blocks[0].group != model.blocks[0].group:
            raise MLMInputError("reduced must have the same single grouping factor as result.")
        if reduced.nobs != result.nobs or reduced.model.spec.response != model.spec.response:
            raise MLMInputError("reduced must be fitted to the same rows and outcome as result.")
        if reduced.reml != result.reml:
            raise MLMInputError("reduced and result must both be REML fits or both ML fits.")
        if result.reml and list(reduced.fixed.index) != list(result.fixed.index):
            raise MLMInputError(
                "The two models have different fixed effects, so their REML likelihoods cannot be compared: "
                "fit both with reml=False."
            )
    beta, G, sigma2, values = _generating_values(result, truth)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    b = model.blocks[0]
    X, Z, codes, J, n = model.X, b.Z, b.codes, b.n_levels, model.nobs
    mu = X @ beta
    evals, evecs = np.linalg.eigh(G)
    factor = evecs * np.sqrt(np.clip(evals, 0.0, None))
    rows_t, cols_t = theta_index(b.pattern)
    theta0 = relative_factor(G, sigma2, b.pattern)[rows_t, cols_t]
    rand = _random_parameters(result)
    fixed_names = list(result.fixed.index)
    if red_model is not None:
        rb = red_model.blocks[0]
        G_red = np.zeros((rb.q, rb.q))
        # start the reduced fit at the generating values of the effects it shares
        for i, ni in enumerate(rb.names):
            for j, nj in enumerate(rb.names):
                if ni in b.names and nj in b.names:
                    G_red[i, j] = G[b.names.index(ni), b.names.index(nj)]
        rr, rc = theta_index(rb.pattern)
        theta0_red = relative_factor(G_red, sigma2, rb.pattern)[rr, rc]
    base = sufficient_stats(model)
    base_red = sufficient_stats(red_model) if red_model is not None else base
    out = []
    for _ in range(n_boot):
        u = rng.standard_normal((J, b.q)) @ factor.T
        y = mu + np.einsum("nq,nq->n", Z, u[codes]) + np.sqrt(sigma2) * rng.standard_normal(n)
        ss = base.with_response(*response_parts(model, y))
        dev, beta_k, vcov_k, sigma2_k, lam, conv = _refit(ss, result.reml, theta0)
        cov = sigma2_k * lam @ lam.T
        row: dict[str, float] = dict(zip(fixed_names, beta_k.tolist(), strict=True))
        for lab, _, i, j, _ in rand:
            row[lab] = float(cov[i, j])
        row[RESIDUAL_LABEL] = float(sigma2_k)
        for name, se in zip(fixed_names, np.sqrt(np.diag(vcov_k)), strict=True):
            row[f"se({name})"] = float(se)
        row["converged"] = conv
        if red_model is not None:
            ss_r = base_red.with_response(*response_parts(red_model, y))
            dev_r, *_, conv_r = _refit(ss_r, result.reml, theta0_red)
            row["lrt_statistic"] = max(float(dev_r - dev), 0.0)
            row["converged"] = conv and conv_r
        out.append(row)
    draws = pd.DataFrame(out)
    draws.attrs["generating"] = values
    return draws


def truth_table(result: MixedResult, truth: Mapping[str, float], draws: pd.DataFrame | None = None) -> pd.DataFrame:
    """Estimates next to the values that generated the data, with standard errors.

    Parameters
    ----------
    result : MixedResult
        A fit to simulated data.
    truth : dict
        Generating value per parameter label (see :func:`parameter_table`);
        parameters left out get NaN.
    draws : DataFrame, optional
        Output of :func:`parametric_bootstrap` of ``result``: its standard
        deviations become the SEs of the variance components (the fixed
        effects keep their Wald SEs).

    Returns
    -------
    pandas.DataFrame
        Indexed by parameter: ``truth``, ``estimate``, ``se``, ``se_method``
        (``"Wald"`` or ``"bootstrap"``), ``error`` (estimate - truth) and
        ``z`` (error / se). About 95% of the ``|z|`` should lie below 2.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> df = mh.simulate_two_level(40, 10, beta0=5, beta1=1, tau00=2, sigma2=4, seed=3)
    >>> res = mh.fit("y ~ x + (1 | group)", df)
    >>> truth = {"Intercept": 5, "x": 1, "group: var(Intercept)": 2, "Residual: var": 4}
    >>> truth_table(res, truth)[["truth", "estimate", "se"]].round(2)
                           truth  estimate    se
    parameter
    Intercept                5.0      4.80  0.27
    x                        1.0      0.89  0.11
    group: var(Intercept)    2.0      2.49   NaN
    Residual: var            4.0      4.17   NaN
    """
    table = parameter_table(result)
    if not isinstance(truth, Mapping):
        raise MLMInputError(f"truth must be a dict of parameter label -> value, got {type(truth).__name__}.")
    unknown = [k for k in truth if k not in table.index]
    if unknown:
        raise MLMInputError(f"Unknown parameter labels in truth: {unknown}. The labels are: {list(table.index)}.")
    out = pd.DataFrame(index=table.index)
    out["truth"] = [float(truth[k]) if k in truth else np.nan for k in table.index]
    out["estimate"] = table["estimate"]
    out["se"] = table["se"]
    out["se_method"] = np.where(table["kind"] == "fixed", "Wald", "")
    if draws is not None:
        if not isinstance(draws, pd.DataFrame):
            raise MLMInputError(f"draws must be the DataFrame from parametric_bootstrap(), got {type(draws).__name__}.")
        for k in table.index[table["kind"] == "random"]:
            if k not in draws.columns:
                raise MLMInputError(f"draws has no column {k!r}: pass parametric_bootstrap() of this same fit.")
            out.loc[k, "se"] = float(draws[k].std(ddof=1))
            out.loc[k, "se_method"] = "bootstrap"
    out["error"] = out["estimate"] - out["truth"]
    out["z"] = out["error"] / out["se"]
    return out
