"""Designs beyond two levels: crossed and three-level (nested) grouping.

Tools for chapters 08 and 09:

- :func:`nesting_structure` says, from the data alone, whether one grouping
  factor is nested in another, crossed with it, or partially crossed;
- :func:`simulate_crossed` and :func:`simulate_three_level` draw data with known
  variance components (the truth is in ``df.attrs["truth"]``);
- :func:`crossed_coverage` and :func:`ignored_level_se` are the simulation studies of chapters
  08 and 09: thousands of refits of a crossed or three-level model on one design;

Fit such data with :func:`mlm_helpers.fit` (its fast engine fits crossed and nested models); in
simulation loops, ``result.refit(y)`` or ``result.refit_many(Y)`` reuse the design.

Examples
--------
>>> from mlm_helpers import designs
>>> df = designs.simulate_crossed(40, 10, per_a=6, seed=1)
>>> designs.nesting_structure(df, "student", "rater").split(":")[0]
'partially crossed'
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd

from ..errors import MLMInputError

__all__ = [
    "nesting_structure",
    "simulate_crossed",
    "simulate_three_level",
    "crossed_coverage",
    "ignored_level_se",
]


# ---------------------------------------------------------------------------- validation
def _int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral | np.integer):
        raise MLMInputError(f"{name} must be a whole number, got {value!r}.")
    if value < minimum:
        raise MLMInputError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def _var(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real | np.floating) or not np.isfinite(float(value)):
        raise MLMInputError(f"{name} must be a finite number, got {value!r}.")
    if float(value) < 0:
        raise MLMInputError(f"{name} is a variance and cannot be negative, got {value}. Use 0 to switch it off.")
    return float(value)


def _num(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real | np.floating) or not np.isfinite(float(value)):
        raise MLMInputError(f"{name} must be a finite number, got {value!r}.")
    return float(value)


def _columns(data: pd.DataFrame, names: Sequence[str]) -> None:
    if not isinstance(data, pd.DataFrame):
        raise MLMInputError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    for c in names:
        if c not in data.columns:
            raise MLMInputError(f"Column {c!r} is not in the data; the columns are {list(data.columns)}.")
        if data[c].isna().any():
            raise MLMInputError(f"Column {c!r} has missing values; drop those rows first.")


# ---------------------------------------------------------------------------- nesting
def nesting_structure(data: pd.DataFrame, a: str, b: str) -> str:
    """Say whether grouping factor ``a`` is nested in ``b``, crossed with it, or partially crossed.

    The answer comes from the labels only: how many distinct levels of ``b``
    each level of ``a`` occurs with, and the reverse. Labels that are reused
    across groups (cask "a" in every batch) make a nested design *look* crossed:
    give such levels unique labels first (e.g. ``batch + ":" + cask``).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation.
    a, b : str
        Names of the two grouping columns.

    Returns
    -------
    str
        Starts with ``"nested a in b"``, ``"nested b in a"``, ``"crossed"`` (every
        combination occurs), ``"partially crossed"`` or ``"identical"`` (one-to-one),
        followed by a colon and the counts.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> nesting_structure(mh.load_dataset("penicillin"), "plate", "sample")
    'crossed: all 24 x 6 = 144 combinations of plate and sample occur (1 row each)'
    >>> pastes = mh.load_dataset("pastes")
    >>> nesting_structure(pastes, "sample", "batch")
    'nested sample in batch: each of the 30 levels of sample occurs in exactly 1 of the 10 levels of batch (3 per batch)'
    """
    _columns(data, [a, b])
    if a == b:
        raise MLMInputError(f"a and b must be two different columns, got {a!r} twice.")
    pairs = data.groupby([a, b], observed=True).size()
    na, nb = data[a].nunique(), data[b].nunique()
    b_per_a = pairs.groupby(level=0).size()
    a_per_b = pairs.groupby(level=1).size()
    if (b_per_a == 1).all() and (a_per_b == 1).all():
        return f"identical: {a} and {b} define the same {na} groups"
    if (b_per_a == 1).all():
        return (f"nested {a} in {b}: each of the {na} levels of {a} occurs in exactly 1 of the {nb} levels "
                f"of {b} ({_range(a_per_b)} per {b})")
    if (a_per_b == 1).all():
        return (f"nested {b} in {a}: each of the {nb} levels of {b} occurs in exactly 1 of the {na} levels "
                f"of {a} ({_range(b_per_a)} per {a})")
    if len(pairs) == na * nb:
        return (f"crossed: all {na} x {nb} = {na * nb} combinations of {a} and {b} occur "
                f"({_range(pairs)} row{'s' if pairs.max() > 1 else ''} each)")
    return (f"partially crossed: {len(pairs)} of the {na} x {nb} = {na * nb} combinations of {a} and {b} "
            f"occur; each {a} occurs with {_range(b_per_a)} levels of {b}, each {b} with {_range(a_per_b)} "
            f"levels of {a}")


def _range(counts: pd.Series) -> str:
    lo, hi = int(counts.min()), int(counts.max())
    return f"{lo}" if lo == hi else f"{lo} to {hi}"


# ---------------------------------------------------------------------------- simulators
def simulate_crossed(
    n_a: int,
    n_b: int,
    *,
    per_a: int | None = None,
    beta0: float = 50.0,
    tau_a: float = 4.0,
    tau_b: float = 2.0,
    sigma2: float = 9.0,
    a_effect: float = 0.0,
    b_effect: float = 0.0,
    a_name: str = "student",
    b_name: str = "rater",
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate a crossed design: every level of ``a`` is scored by ``per_a`` levels of ``b``.

    The model for the score of ``a``-level :math:`i` by ``b``-level :math:`k` is
    :math:`y_{ik} = \\beta_0 + \\beta_a x_i + \\beta_b z_k + u_i + v_k + e_{ik}` with
    :math:`u_i \\sim N(0, \\tau_a)`, :math:`v_k \\sim N(0, \\tau_b)`,
    :math:`e_{ik} \\sim N(0, \\sigma^2)`, and standard normal predictors
    :math:`x_i` (an ``a``-level characteristic) and :math:`z_k` (a ``b``-level one).

    Parameters
    ----------
    n_a, n_b : int
        Numbers of levels of the two factors (e.g. students and raters).
    per_a : int, optional
        How many distinct ``b`` levels score each ``a`` level, drawn at random
        (default ``n_b``: fully crossed).
    beta0, a_effect, b_effect : float
        Intercept and the effects of the ``a``-level and ``b``-level predictors.
    tau_a, tau_b, sigma2 : float
        Variances of the two random effects and of the residual.
    a_name, b_name : str
        Column names of the two factors (predictors are ``x_<name>``).
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``a_name``, ``b_name``, ``x_<a_name>``, ``x_<b_name>``, ``y``,
        ``u_<a_name>``, ``u_<b_name>``; the generating values in ``df.attrs["truth"]``.

    Examples
    --------
    >>> df = simulate_crossed(40, 10, per_a=6, tau_a=4, tau_b=2, sigma2=9, seed=1)
    >>> df.shape, df.attrs["truth"]["tau_b"]
    ((240, 7), 2.0)
    """
    n_a = _int("n_a", n_a, 2)
    n_b = _int("n_b", n_b, 2)
    per_a = n_b if per_a is None else _int("per_a", per_a, 1)
    if per_a > n_b:
        raise MLMInputError(f"per_a ({per_a}) cannot exceed n_b ({n_b}): a level cannot meet more "
                            "levels of the other factor than exist.")
    tau_a, tau_b, sigma2 = _var("tau_a", tau_a), _var("tau_b", tau_b), _var("sigma2", sigma2)
    if sigma2 == 0:
        raise MLMInputError("sigma2 must be greater than 0.")
    beta0, a_effect, b_effect = _num("beta0", beta0), _num("a_effect", a_effect), _num("b_effect", b_effect)
    if a_name == b_name or not a_name or not b_name:
        raise MLMInputError(f"a_name and b_name must be two different non-empty names, got {a_name!r}, {b_name!r}.")
    rng = np.random.default_rng(seed)
    u_a = rng.normal(0, np.sqrt(tau_a), n_a)
    u_b = rng.normal(0, np.sqrt(tau_b), n_b)
    x_a = rng.normal(0, 1, n_a)
    x_b = rng.normal(0, 1, n_b)
    if per_a == n_b:
        ia = np.repeat(np.arange(n_a), n_b)
        ib = np.tile(np.arange(n_b), n_a)
    else:
        ia = np.repeat(np.arange(n_a), per_a)
        ib = np.concatenate([np.sort(rng.choice(n_b, per_a, replace=False)) for _ in range(n_a)])
    e = rng.normal(0, np.sqrt(sigma2), ia.size)
    y = beta0 + a_effect * x_a[ia] + b_effect * x_b[ib] + u_a[ia] + u_b[ib] + e
    wa, wb = len(str(n_a)), len(str(n_b))
    df = pd.DataFrame({
        a_name: [f"{a_name[0]}{i:0{wa}d}" for i in ia],
        b_name: [f"{b_name[0].upper()}{k:0{wb}d}" for k in ib],
        f"x_{a_name}": x_a[ia],
        f"x_{b_name}": x_b[ib],
        "y": y,
        f"u_{a_name}": u_a[ia],
        f"u_{b_name}": u_b[ib],
    })
    total = tau_a + tau_b + sigma2
    df.attrs["truth"] = {
        "beta0": beta0, "a_effect": a_effect, "b_effect": b_effect,
        "tau_a": tau_a, "tau_b": tau_b, "sigma2": sigma2,
        "vpc_a": tau_a / total, "vpc_b": tau_b / total, "per_a": per_a, "seed": seed,
    }
    return df


def simulate_three_level(
    n_schools: int,
    classes_per_school: int,
    pupils_per_class: int,
    *,
    beta0: float = 50.0,
    tau_school: float = 4.0,
    tau_class: float = 2.0,
    sigma2: float = 20.0,
    school_effect: float = 0.0,
    pupil_effect: float = 0.0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Simulate pupils in classes in schools, with a school-level and a pupil-level predictor.

    The model for pupil :math:`i` in class :math:`j` of school :math:`k` is
    :math:`y_{ijk} = \\beta_0 + \\gamma_w w_k + \\beta_x x_{ijk} + v_k + u_{jk} + e_{ijk}`,
    with :math:`v_k \\sim N(0, \\tau_{school})`, :math:`u_{jk} \\sim N(0, \\tau_{class})`,
    :math:`e_{ijk} \\sim N(0, \\sigma^2)`, and standard normal :math:`w_k`, :math:`x_{ijk}`.

    Parameters
    ----------
    n_schools, classes_per_school, pupils_per_class : int
        The sizes of the three levels.
    beta0, school_effect, pupil_effect : float
        Intercept, effect of the school-level predictor ``w`` and of the pupil-level ``x``.
    tau_school, tau_class, sigma2 : float
        Variances at the three levels.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``school``, ``class`` (labels unique across schools, e.g. ``"S03:c2"``),
        ``w``, ``x``, ``y``, ``v_school``, ``u_class``; the generating values, the
        variance partition and the two intraclass correlations in ``df.attrs["truth"]``.

    Examples
    --------
    >>> df = simulate_three_level(20, 3, 10, tau_school=4, tau_class=2, sigma2=14, seed=1)
    >>> df.shape, df["class"].nunique()
    ((600, 7), 60)
    >>> df.attrs["truth"]["corr_same_class"], df.attrs["truth"]["corr_same_school"]
    (0.3, 0.2)
    """
    n_s = _int("n_schools", n_schools, 2)
    n_c = _int("classes_per_school", classes_per_school, 1)
    n_p = _int("pupils_per_class", pupils_per_class, 1)
    tau_s, tau_c, sigma2 = _var("tau_school", tau_school), _var("tau_class", tau_class), _var("sigma2", sigma2)
    if sigma2 == 0:
        raise MLMInputError("sigma2 must be greater than 0.")
    beta0 = _num("beta0", beta0)
    school_effect, pupil_effect = _num("school_effect", school_effect), _num("pupil_effect", pupil_effect)
    rng = np.random.default_rng(seed)
    v = rng.normal(0, np.sqrt(tau_s), n_s)
    w = rng.normal(0, 1, n_s)
    u = rng.normal(0, np.sqrt(tau_c), n_s * n_c)
    cls = np.repeat(np.arange(n_s * n_c), n_p)
    sch = cls // n_c
    x = rng.normal(0, 1, cls.size)
    e = rng.normal(0, np.sqrt(sigma2), cls.size)
    y = beta0 + school_effect * w[sch] + pupil_effect * x + v[sch] + u[cls] + e
    ws, wc = len(str(n_s)), len(str(n_c))
    school_lab = np.array([f"S{k:0{ws}d}" for k in range(n_s)])
    class_lab = np.array([f"{school_lab[j // n_c]}:c{j % n_c:0{wc}d}" for j in range(n_s * n_c)])
    df = pd.DataFrame({
        "school": school_lab[sch], "class": class_lab[cls], "w": w[sch], "x": x, "y": y,
        "v_school": v[sch], "u_class": u[cls],
    })
    total = tau_s + tau_c + sigma2
    df.attrs["truth"] = {
        "beta0": beta0, "school_effect": school_effect, "pupil_effect": pupil_effect,
        "tau_school": tau_s, "tau_class": tau_c, "sigma2": sigma2,
        "vpc_school": tau_s / total, "vpc_class": tau_c / total, "vpc_pupil": sigma2 / total,
        "corr_same_class": round((tau_s + tau_c) / total, 12), "corr_same_school": round(tau_s / total, 12),
        "seed": seed,
    }
    return df


# ---------------------------------------------------------------------------- fitting
def _refit_term(result, Y: np.ndarray, term: str, truth: float, level: float) -> pd.DataFrame:
    """Refit ``result`` (fast engine) to each response in ``Y``; the estimate, SE and Satterthwaite
    df of ``term`` and whether the t (Satterthwaite df) and z (Wald) intervals cover ``truth``.

    The design's theta-free pieces are reused and every search starts at the first fit's theta.
    """
    import dataclasses

    from scipy import stats

    from .._threads import one_blas_thread
    from ..model.ddf import satterthwaite_df, satterthwaite_parts
    from ..model.engines.fast import refit_model
    from ..model.result import MixedResult

    k = list(result.model.x_names).index(term)
    L = np.eye(len(result.model.x_names))[[k]]
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for y in Y:
        with one_blas_thread():
            raw = refit_model(result.model, result._raw.state, y, True, theta0=result.theta)
        r = MixedResult(dataclasses.replace(result.model, y=y), raw, reml=True, engine="fast",
                        formula=result.formula, data=result.data, ddf="satterthwaite")
        parts = satterthwaite_parts(r)
        est, se = float(raw.beta[k]), float(np.sqrt(parts.vcov[k, k]))
        df = float(satterthwaite_df(parts, L)[0])
        t = stats.t.ppf(0.5 + level / 2, df) if np.isfinite(df) else z
        rows.append({"estimate": est, "se": se, "df": df, "covered_t": abs(est - truth) <= t * se,
                     "covered_z": abs(est - truth) <= z * se, "singular": r.is_singular,
                     "converged": r.converged})
    return pd.DataFrame(rows)


def _level(level: object) -> float:
    if isinstance(level, bool) or not isinstance(level, Real | np.floating) or not 0 < float(level) < 1:
        raise MLMInputError(f"level must be a number strictly between 0 and 1, such as 0.95; got {level!r}.")
    return float(level)


def crossed_coverage(
    n_items: int | Sequence[int],
    n_subjects: int = 50,
    n_reps: int = 1000,
    *,
    effect: float = 0.5,
    tau_subject: float = 1.0,
    tau_item: float = 0.25,
    sigma2: float = 1.0,
    level: float = 0.95,
    seed: int | None = None,
) -> pd.DataFrame:
    """Coverage of a crossed model's item-level fixed effect when there are few items.

    Every subject responds to every item, and a condition ``x`` (-0.5 for half of the items,
    +0.5 for the other half) varies between items only, as in a psycholinguistic experiment:
    :math:`y_i = \\gamma_0 + \\gamma_1 x_{k[i]} + u_{j[i]} + v_{k[i]} + e_i` with
    :math:`\\gamma_0 = 0`, :math:`u_j \\sim N(0, \\tau_u)` for subject :math:`j`,
    :math:`v_k \\sim N(0, \\tau_v)` for item :math:`k` and :math:`e_i \\sim N(0, \\sigma^2)`.
    Each replication draws new effects and residuals on the same design and refits
    ``y ~ x + (1 | subject) + (1 | item)`` (REML, the fast engine, reusing the design).

    Parameters
    ----------
    n_items : int or sequence of int
        Number of items (at least 4); several values give one block of replications each.
    n_subjects : int
        Number of subjects (at least 2).
    n_reps : int
        Replications per number of items.
    effect, tau_subject, tau_item, sigma2 : float
        The true effect of ``x`` and the variances.
    level : float
        Confidence level of the intervals.
    seed : int, optional
        Seed of the draws.

    Returns
    -------
    pandas.DataFrame
        One row per replication: ``n_items``, ``rep``, the ``estimate`` of the effect, its ``se``,
        the Satterthwaite ``df``, ``covered_t`` (the interval with the Satterthwaite df, the
        default of ``result.fixed``), ``covered_z`` (Wald z, estimate +- 1.96 se),
        ``singular`` and ``converged``.

    Examples
    --------
    >>> tab = crossed_coverage(6, n_subjects=20, n_reps=20, seed=1)
    >>> tab.shape, bool(tab["converged"].all()), round(float(tab["df"].median()))  # 6 items: 4 df
    ((20, 9), True, 4)
    """
    from ..model.fitting import fit

    items = [n_items] if isinstance(n_items, Integral | np.integer) and not isinstance(n_items, bool) \
        else list(n_items) if isinstance(n_items, Sequence) else [n_items]
    items = [_int("n_items", i, 4) for i in items]
    S = _int("n_subjects", n_subjects, 2)
    R = _int("n_reps", n_reps, 1)
    effect = _num("effect", effect)
    tau_s, tau_i, sigma2 = _var("tau_subject", tau_subject), _var("tau_item", tau_item), _var("sigma2", sigma2)
    if sigma2 == 0:
        raise MLMInputError("sigma2 must be greater than 0.")
    level = _level(level)
    rng = np.random.default_rng(seed)
    out = []
    for n_i in items:
        subj = np.repeat(np.arange(S), n_i)
        item = np.tile(np.arange(n_i), S)
        x_item = np.where(np.arange(n_i) % 2 == 0, -0.5, 0.5)
        x = x_item[item]

        def draw(reps: int, subj=subj, item=item, x=x, n_i=n_i) -> np.ndarray:
            u = rng.normal(0, np.sqrt(tau_s), (reps, S))
            v = rng.normal(0, np.sqrt(tau_i), (reps, n_i))
            e = rng.normal(0, np.sqrt(sigma2), (reps, S * n_i))
            return effect * x + u[:, subj] + v[:, item] + e

        Y = draw(R)
        data = pd.DataFrame({"subject": [f"s{j:03d}" for j in subj], "item": [f"i{k:02d}" for k in item],
                             "x": x, "y": Y[0]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first = fit("y ~ x + (1 | subject) + (1 | item)", data)
        tab = _refit_term(first, Y, "x", effect, level)
        tab.insert(0, "rep", np.arange(R))
        tab.insert(0, "n_items", n_i)
        out.append(tab)
    return pd.concat(out, ignore_index=True)


def ignored_level_se(
    n_schools: int = 20,
    classes_per_school: int = 3,
    pupils_per_class: int = 8,
    n_reps: int = 1000,
    *,
    tau_school: float = 4.0,
    tau_class: float = 2.0,
    sigma2: float = 20.0,
    school_effect: float = 1.0,
    pupil_effect: float = 2.0,
    level: float = 0.95,
    seed: int | None = None,
) -> pd.DataFrame:
    """What ignoring a level does to the standard error of a school-level predictor.

    The truth has three levels (:func:`simulate_three_level`, one design: the schools, classes,
    ``w`` and ``x`` of its first draw). Each replication draws new school and class effects and
    residuals and fits three models by REML with the fast engine, reusing each design:
    ``"three levels"`` (``(1 | school) + (1 | class)``), ``"no schools"`` (``(1 | class)``: the
    top level dropped) and ``"no classes"`` (``(1 | school)``: the middle level dropped).

    Parameters
    ----------
    n_schools, classes_per_school, pupils_per_class : int
        The sizes of the three levels.
    n_reps : int
        Replications.
    tau_school, tau_class, sigma2, school_effect, pupil_effect : float
        The truth, as in :func:`simulate_three_level`.
    level : float
        Confidence level of the intervals.
    seed : int, optional
        Seed of the design and of the draws.

    Returns
    -------
    pandas.DataFrame
        One row per model and replication: ``model``, ``rep``, the ``estimate`` of the effect of
        ``w``, its ``se``, the Satterthwaite ``df``, ``covered_t``, ``covered_z``, ``singular``
        and ``converged`` (as in :func:`crossed_coverage`).

    Examples
    --------
    >>> tab = ignored_level_se(10, 3, 5, n_reps=10, seed=1)
    >>> tab.groupby("model", sort=False)["se"].mean().index.tolist()
    ['three levels', 'no schools', 'no classes']
    """
    from ..model.fitting import fit

    R = _int("n_reps", n_reps, 1)
    level = _level(level)
    design = simulate_three_level(n_schools, classes_per_school, pupils_per_class, tau_school=tau_school,
                                  tau_class=tau_class, sigma2=sigma2, school_effect=school_effect,
                                  pupil_effect=pupil_effect, seed=seed)
    truth = design.attrs["truth"]
    rng = np.random.default_rng(None if seed is None else [seed, 1])
    sch = design["school"].factorize()[0]
    cls = design["class"].factorize()[0]
    mean = truth["beta0"] + school_effect * design["w"].to_numpy() + pupil_effect * design["x"].to_numpy()
    v = rng.normal(0, np.sqrt(truth["tau_school"]), (R, sch.max() + 1))
    u = rng.normal(0, np.sqrt(truth["tau_class"]), (R, cls.max() + 1))
    e = rng.normal(0, np.sqrt(truth["sigma2"]), (R, len(design)))
    Y = mean + v[:, sch] + u[:, cls] + e
    data = design[["school", "class", "w", "x"]].assign(y=Y[0])
    out = []
    for label, random in (("three levels", "(1 | school) + (1 | class)"), ("no schools", "(1 | class)"),
                          ("no classes", "(1 | school)")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first = fit(f"y ~ w + x + {random}", data)
        tab = _refit_term(first, Y, "w", school_effect, level)
        tab.insert(0, "rep", np.arange(R))
        tab.insert(0, "model", label)
        out.append(tab)
    return pd.concat(out, ignore_index=True)
