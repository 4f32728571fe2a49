"""Turn a formula and a DataFrame into checked model matrices.

Everything a learner can get wrong is caught here, before any optimiser
runs, with a message that names the column, the value and the fix.

Examples
--------
>>> import mlm_helpers as mh
>>> from mlm_helpers.model.frame import build_model
>>> m = build_model("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
>>> m.x_names, m.blocks[0].names, m.blocks[0].n_levels
(['Intercept', 'Days'], ['Intercept', 'Days'], 18)
"""

from __future__ import annotations

import builtins
import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy

from ..errors import FewGroupsWarning, InputWarning, MissingDataWarning, MLMInputError, warn_at_caller
from .formula import FormulaSpec, RandomTerm, formula_names, parse_formula

__all__ = ["ModelFrame", "Block", "SimpleDesign", "OrderedDesign", "build_model", "design_matrix", "simple_design", "MIN_GROUPS_WARN"]

#: Below this many groups, variance components are poorly estimated (a warning).
MIN_GROUPS_WARN = 10


@dataclass
class Block:
    """All random effects that share one grouping factor.

    ``Z`` holds the ``q`` random-effect columns, ``codes`` the level index of
    every row, and ``pattern`` (q x q, lower triangle) marks which entries of
    the relative covariance factor are free: a full lower triangle for a
    correlated term, the diagonal only across separate terms.
    """

    group: str
    levels: np.ndarray
    codes: np.ndarray
    Z: np.ndarray
    names: list[str]
    pattern: np.ndarray
    term_of_column: list[int]
    terms: list[RandomTerm]
    z_builders: list = field(default_factory=list)  # (design builder, column indices) per part of Z

    def z_matrix(self, data: pd.DataFrame) -> np.ndarray:
        """The random-effect columns for (new) data, in the order of ``names``."""
        parts = [design_matrix(builder, data)[:, idx] for builder, idx in self.z_builders]
        return np.hstack(parts)

    def codes_for(self, data: pd.DataFrame) -> np.ndarray:
        """Level index of every row of (new) data; -1 for a level not seen in the fit."""
        labels = _group_labels(data, self.group)
        lookup = {lev: k for k, lev in enumerate(self.levels)}
        return np.array([lookup.get(v, -1) for v in labels], dtype=np.intp)

    @property
    def q(self) -> int:
        return self.Z.shape[1]

    @property
    def n_levels(self) -> int:
        return len(self.levels)


@dataclass
class ModelFrame:
    """Checked data for one model: response, fixed design and random blocks."""

    spec: FormulaSpec
    data: pd.DataFrame
    y: np.ndarray
    X: np.ndarray
    x_names: list[str]
    x_design_info: object
    blocks: list[Block]
    n_dropped: int = 0

    @property
    def nobs(self) -> int:
        return len(self.y)

    @property
    def single_factor(self) -> bool:
        return len(self.blocks) <= 1


def _suggest(name: str, columns: list[str]) -> str:
    close = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
    if not close:
        lower = {c.lower(): c for c in columns}
        if name.lower() in lower:
            close = [lower[name.lower()]]
    hint = f" Did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(map(repr, columns[:25])) + (" ..." if len(columns) > 25 else "")
    return f"{hint} The data have the columns: {shown}."


def _check_columns(spec: FormulaSpec, data: pd.DataFrame) -> list[str]:
    columns = [str(c) for c in data.columns]
    used: list[str] = []
    pieces = [("the outcome", spec.response), ("the fixed part", spec.fixed_rhs)]
    pieces += [(f"the random term {t.source}", t.effects) for t in spec.random]
    for where, text in pieces:
        for name in formula_names(text):
            if name in columns:
                if name not in used:
                    used.append(name)
            elif where == "the outcome" or not _is_python_name(name) or callable(getattr(builtins, name, None)):
                dotted = [c for c in columns if c.startswith(name + ".") and c in text.replace(" ", "")]
                if dotted:
                    raise MLMInputError(
                        f"Column {dotted[0]!r} (in {where}) has a dot in its name, which a Python formula reads "
                        f"as an attribute ({name!r} then .{dotted[0][len(name) + 1:]}). Quote it: write "
                        f"Q({dotted[0]!r}) in the formula, or rename the column, e.g. "
                        f"df = df.rename(columns={{{dotted[0]!r}: {dotted[0].replace('.', '_')!r}}})."
                    )
                builtin = (f" ({name!r} is also the name of a Python built-in, which is why the formula did not "
                           "fail at once.)") if hasattr(builtins, name) else ""
                raise MLMInputError(f"Column {name!r} (in {where}) is not in the data.{_suggest(name, columns)}"
                                    f"{builtin}")
    for t in spec.random:
        for g in t.group_columns:
            if g not in columns:
                raise MLMInputError(
                    f"The grouping column {g!r} (in the random term {t.source}) is not in the data."
                    f"{_suggest(g, columns)}"
                )
            if g not in used:
                used.append(g)
    return used


def _is_python_name(name: str) -> bool:
    """True for names patsy would resolve outside the data (numpy, builtins)."""
    return hasattr(builtins, name) or name in {"np", "numpy", "pi"}


def _group_labels(data: pd.DataFrame, group: str) -> pd.Series:
    cols = group.split(":")
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise MLMInputError(f"The grouping column {missing[0]!r} is not in the data.{_suggest(missing[0], list(data.columns))}")
    labels = data[cols[0]].astype(str)
    for c in cols[1:]:
        labels = labels + ":" + data[c].astype(str)
    return labels


def _group_codes(data: pd.DataFrame, group: str) -> tuple[np.ndarray, np.ndarray]:
    codes, levels = pd.factorize(_group_labels(data, group), sort=True)
    return np.asarray(codes, dtype=np.intp), np.asarray(levels, dtype=object)


@dataclass(frozen=True)
class SimpleDesign:
    """A design made of an optional intercept and plain numeric columns (no patsy needed)."""

    intercept: bool
    columns: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return (["Intercept"] if self.intercept else []) + list(self.columns)


def simple_design(text: str, data: pd.DataFrame) -> SimpleDesign | None:
    """Recognise ``"1 + x + z"``-like formula pieces over numeric columns."""
    intercept = True
    cols: list[str] = []
    for part in (p.strip() for p in text.split("+")):
        if part == "1":
            continue
        if part == "0":
            intercept = False
            continue
        if part in data.columns and pd.api.types.is_numeric_dtype(data[part]) \
                and not pd.api.types.is_bool_dtype(data[part]) and part not in cols:
            cols.append(part)
            continue
        return None
    return SimpleDesign(intercept, tuple(cols))


@dataclass(frozen=True)
class OrderedDesign:
    """A patsy design whose columns are put in R's order (terms by degree, then as written)."""

    info: object
    order: tuple[int, ...]

    @property
    def column_names(self) -> list[str]:
        names = list(self.info.column_names)  # type: ignore[attr-defined]
        return [names[k] for k in self.order]


def _r_column_order(text: str, info) -> tuple[int, ...] | None:
    """Column permutation from patsy's order to R's: terms sorted by degree, ties in formula order.

    patsy puts terms without numeric factors first (``x + g`` gives ``g`` then ``x``); R keeps
    the formula's order within each degree (``x``, then ``g``, then ``x:g``).
    """
    from patsy.desc import ModelDesc

    slices = getattr(info, "term_slices", None)
    if not slices:
        return None
    try:
        written = ModelDesc.from_formula(text).rhs_termlist
    except Exception:  # pragma: no cover - patsy has already parsed it once
        return None
    rank = {term: k for k, term in enumerate(written)}
    terms = sorted(slices, key=lambda t: (len(t.factors), rank.get(t, len(rank))))
    order = tuple(k for t in terms for k in range(slices[t].start, slices[t].stop))
    return None if order == tuple(range(len(order))) else order


def design_matrix(builder, data: pd.DataFrame) -> np.ndarray:
    """Evaluate a stored design (patsy DesignInfo, OrderedDesign or SimpleDesign) on (new) data."""
    if isinstance(builder, OrderedDesign):
        return design_matrix(builder.info, data)[:, list(builder.order)]
    if isinstance(builder, SimpleDesign):
        cols = [np.ones(len(data))] if builder.intercept else []
        cols += [data[c].to_numpy(dtype=float) for c in builder.columns]
        return np.column_stack(cols) if cols else np.zeros((len(data), 0))
    (mat,) = patsy.build_design_matrices([builder], data, NA_action="raise")
    return np.asarray(mat, dtype=float)


def _design(text: str, data: pd.DataFrame, where: str) -> tuple[np.ndarray, list[str], object]:
    simple = simple_design(text, data)
    if simple is not None:
        return design_matrix(simple, data), simple.column_names, simple
    df = _patsy(text, data, where)
    return df.to_numpy(dtype=float), list(df.columns), df.design_info


def _patsy(formula: str, data: pd.DataFrame, where: str):
    try:
        return patsy.dmatrix(formula, data, NA_action="raise", return_type="dataframe")
    except patsy.PatsyError as exc:
        raise MLMInputError(f"Cannot build {where} from {formula!r}: {exc.message}") from None
    except NameError as exc:
        raise MLMInputError(f"Cannot build {where} from {formula!r}: {exc}.{_suggest(str(exc), list(data.columns))}") from None


def _check_fixed(Xv: np.ndarray, names: list[str]) -> None:
    for k, name in enumerate(names):
        col = Xv[:, k]
        if name != "Intercept" and np.ptp(col) == 0:
            raise MLMInputError(
                f"The predictor column {name!r} has no variation: every row has the value {col[0]:g}. "
                "Its effect cannot be estimated; drop it from the formula (or check the rows you selected)."
            )
    # Exact collinearity: which columns are combinations of earlier ones? Work on the small
    # scaled Gram matrix: the residual of column k after projecting on the kept columns.
    scale = np.sqrt((Xv**2).sum(axis=0))
    scale[scale == 0] = 1.0
    G = (Xv.T @ Xv) / np.outer(scale, scale)
    kept: list[int] = []
    for k in range(G.shape[0]):
        if kept:
            Gkk = G[np.ix_(kept, kept)]
            coef = np.linalg.solve(Gkk, G[kept, k])
            resid = G[k, k] - G[kept, k] @ coef
        else:
            coef = np.zeros(0)
            resid = G[k, k]
        if resid < 1e-10:
            involved = [names[kept[i]] for i in np.flatnonzero(np.abs(coef) > 1e-6)]
            raise MLMInputError(
                f"The fixed effects are exactly collinear: {names[k]!r} is a linear combination of "
                f"{', '.join(map(repr, involved)) or 'the other columns'}. Their separate effects cannot "
                "be estimated; drop one of them (for example a school-level variable together with "
                "school dummies, or a variable and its exact copy)."
            )
        kept.append(k)


#: A text column is read as "numbers stored as text" when at least this share of its distinct
#: values parse as numbers; integer-looking text warns only above this many distinct values.
TEXT_NUMBER_SHARE = 0.9
TEXT_INTEGER_LEVELS = 20
#: A random-effect column whose root mean square is outside [1/RESCALE, RESCALE] is rescaled by
#: the fast engine (and a warning names it).
BAD_SCALE = 1e3


def _wrapped_in_c(name: str, text: str) -> bool:
    import re

    return re.search(r"\bC\(\s*(Q\(\s*['\"])?" + re.escape(name) + r"\b", text) is not None


def _check_predictor_types(spec: FormulaSpec, data: pd.DataFrame) -> None:
    """Numbers stored as text, datetimes and per-row ids are never dummy-coded silently."""
    texts = [spec.fixed_rhs] + [t.effects for t in spec.random]
    names: list[str] = []
    for text in texts:
        names += [n for n in formula_names(text) if n in data.columns and n not in names]
    for col in names:
        s = data[col]
        if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_timedelta64_dtype(s):
            raise MLMInputError(
                f"Column {col!r} holds dates or times (dtype {s.dtype}); a formula would treat every distinct "
                f"value as a category. Convert it to a number first, e.g. "
                f"df['{col}_days'] = (df[{col!r}] - df[{col!r}].min()).dt.days, and use that column."
            )
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        if any(_wrapped_in_c(col, t) for t in texts):
            continue  # C(col): the user asked for a factor
        values = pd.Series(pd.unique(s.dropna().astype(str).str.strip()))
        if len(values) == 0:
            continue
        if values.str.contains(r"^\s*\d{4}-\d{2}-\d{2}", regex=True).mean() >= TEXT_NUMBER_SHARE:
            raise MLMInputError(
                f"Column {col!r} holds dates stored as text (e.g. {values.iloc[0]!r}); a formula would make "
                f"one dummy per date. Convert it: df[{col!r}] = pd.to_datetime(df[{col!r}]), then to a number "
                f"such as days since the start, (df[{col!r}] - df[{col!r}].min()).dt.days."
            )
        comma = values.str.fullmatch(r"[-+]?\d*,\d+")
        as_num = pd.to_numeric(values.str.replace(",", ".", regex=False), errors="coerce")
        share = float(as_num.notna().mean())
        if share >= TEXT_NUMBER_SHARE and len(values) > 2:
            example = values[as_num.notna()].iloc[0]
            if comma.any():
                raise MLMInputError(
                    f"Column {col!r} holds numbers written with decimal commas as text (e.g. {example!r}); "
                    f"used as it is it would become {len(values)} dummy columns. Convert it: "
                    f"df[{col!r}] = pd.to_numeric(df[{col!r}].str.replace(',', '.')), or read the file with "
                    "pd.read_csv(..., decimal=',')."
                )
            if (as_num.dropna() % 1 != 0).any():
                raise MLMInputError(
                    f"Column {col!r} holds numbers stored as text (dtype {s.dtype}, e.g. {example!r}); used as it "
                    f"is it would become {len(values)} dummy columns. Convert it: "
                    f"df[{col!r}] = pd.to_numeric(df[{col!r}]). If it really is a label, write C({col})."
                )
            if len(values) > TEXT_INTEGER_LEVELS:
                warn_at_caller(
                    f"Column {col!r} holds whole numbers stored as text (dtype {s.dtype}, e.g. {example!r}), so it "
                    f"is dummy-coded as a factor with {len(values)} levels. If it is a number, convert it with "
                    f"df[{col!r}] = pd.to_numeric(df[{col!r}]); if it is a label, write C({col}) to say so.",
                    InputWarning,
                )
        if len(values) == len(s) and len(s) > 2:
            raise MLMInputError(
                f"Column {col!r} has a different value in every row ({len(values)} distinct values, e.g. "
                f"{values.iloc[0]!r}): it looks like a row id. As a predictor it would get one dummy per row "
                f"and leave nothing to estimate. Drop {col!r} from the formula (an id that groups rows "
                "belongs in a random term, (1 | id))."
            )


def _check_n_vs_p(X: np.ndarray, names: list[str], info, spec: FormulaSpec) -> None:
    """lme4 refuses n <= p: more fixed-effect columns than rows (checked before any optimiser)."""
    n, p = X.shape
    if p < n:
        return
    widest = ""
    slices = getattr(info, "term_slices", None)
    if slices:
        term, sl = max(slices.items(), key=lambda kv: kv[1].stop - kv[1].start)
        if sl.stop - sl.start > 1:
            widest = (f" The term {term.name()!r} alone makes {sl.stop - sl.start} columns (one per level "
                      "after the first): is it a label with a value in almost every row?")
    raise MLMInputError(
        f"The fixed part {spec.fixed_rhs!r} has {p} columns for {n} rows (observations must outnumber the fixed "
        f"effects, n > p, or nothing is left to estimate the variances).{widest} Drop predictors, or use more data."
    )


def _check_nobs_vs_nre(block: Block, n: int) -> None:
    """lme4's check.nobs.vs.nRE and check.nobs.vs.nlev: refuse more random effects than observations."""
    if block.n_levels >= n:
        raise MLMInputError(
            f"The grouping factor {block.group!r} has {block.n_levels} levels for {n} rows: every level has one "
            f"row (or none), so its random effects cannot be told apart from the residual. Check the grouping "
            "column (is it an id per row?)."
        )
    for t in range(len(block.terms)):
        q_t = sum(1 for k in range(block.q) if block.term_of_column[k] == t)
        n_re = q_t * block.n_levels
        if n_re >= n:
            cols = [block.names[k] for k in range(block.q) if block.term_of_column[k] == t]
            slopes = [c for c in cols if c != "Intercept"]
            shown = ", ".join(map(repr, slopes[:3])) + (f" and {len(slopes) - 3} more" if len(slopes) > 3 else "")
            drop = (f"Drop the random slope(s) {shown}, e.g. keep (1 | {block.group})"
                    if slopes else f"Use fewer random effects for {block.group!r}")
            if any("[" in c for c in slopes):
                drop += (f"; a factor's levels can enter as a grouping factor of their own instead, e.g. "
                         f"(1 | {block.group}) + (1 | {block.group}:factor)")
            raise MLMInputError(
                f"The random term {block.terms[t].source} has {q_t} random effects for each of the "
                f"{block.n_levels} levels of {block.group!r}: {n_re} random effects from {n} observations "
                f"(lme4: number of observations <= number of random effects). {drop}."
            )


def _check_scale(block: Block) -> None:
    """Warn when a random-effect column's scale makes the problem badly conditioned."""
    for k, name in enumerate(block.names):
        rms = float(np.sqrt(np.mean(block.Z[:, k] ** 2)))
        if rms > 0 and not (1.0 / BAD_SCALE <= rms <= BAD_SCALE):
            warn_at_caller(
                f"The random-effect column {name!r} of {block.group!r} is on a scale very different from 1 "
                f"(root mean square {rms:.3g}): the fit is badly conditioned. The fast engine (one grouping "
                f"factor) rescales it internally and reports results on your scale; to make the numbers readable, centre and scale "
                f"it, e.g. df[{name!r}] = (df[{name!r}] - df[{name!r}].mean()) / df[{name!r}].std().",
                InputWarning,
            )


def _make_block(group: str, terms: list[RandomTerm], data: pd.DataFrame, codes: np.ndarray,
                levels: np.ndarray) -> Block:
    mats: list[np.ndarray] = []
    names: list[str] = []
    term_of_column: list[int] = []
    builders: list = []
    sub_sizes: list[int] = []
    expanded: list[RandomTerm] = []
    for t in terms:
        Zt, cols, info = _design(t.effects, data, f"the random term {t.source}")
        if Zt.shape[1] == 0:
            raise MLMInputError(f"The random term {t.source} has no columns; write (1 | g) for a random intercept.")
        if not t.correlated:
            # lme4's expandDoubleVerts: (a + b || g) is (1 | g) + (0 + a | g) + (0 + b | g), one term per
            # formula term. A numeric term gives one scalar variance; a factor (or any term with several
            # columns, such as poly(x, 2)) stays one correlated block of its full indicator coding.
            from patsy.desc import ModelDesc

            for term in ModelDesc.from_formula(t.effects).rhs_termlist:
                if not term.factors:
                    Zk, ck, ik = _design("1", data, f"the random term {t.source}")
                    part = RandomTerm("1", group, True, t.source)
                else:
                    code = term.name()
                    Zk, ck, ik = _design("0 + " + code, data, f"the random term {t.source}")
                    part = RandomTerm("0 + " + code, group, True, t.source)
                builders.append((ik, list(range(Zk.shape[1]))))
                mats.append(Zk)
                names.extend(ck)
                sub_sizes.append(Zk.shape[1])
                term_of_column.extend([len(expanded)] * Zk.shape[1])
                expanded.append(part)
            continue
        builders.append((info, list(range(Zt.shape[1]))))
        mats.append(Zt)
        names.extend(cols)
        sub_sizes.append(len(cols))
        term_of_column.extend([len(expanded)] * len(cols))
        expanded.append(t)
    Z = np.hstack(mats)
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise MLMInputError(
            f"The random effect(s) {sorted(dup)} appear twice for the grouping factor {group!r}; "
            "write each random effect once, e.g. (1 + x | g) rather than (1 | g) + (1 + x | g)."
        )
    q = Z.shape[1]
    pattern = np.zeros((q, q), dtype=bool)
    start = 0
    for size in sub_sizes:
        pattern[start : start + size, start : start + size] = np.tril(np.ones((size, size), dtype=bool))
        start += size
    # Identification: a random slope needs groups in which its column varies.
    for k, name in enumerate(names):
        col = Z[:, k]
        if name == "Intercept" or np.ptp(col) == 0:
            continue
        lo = np.full(len(levels), np.inf)
        hi = np.full(len(levels), -np.inf)
        np.minimum.at(lo, codes, col)
        np.maximum.at(hi, codes, col)
        if not np.any(hi - lo > 0):
            raise MLMInputError(
                f"The random slope of {name!r} in {terms[0].source} cannot be identified: {name!r} "
                f"never varies within a level of {group!r} (every group has a single value, e.g. every "
                "group has one row). Drop the random slope, keep (1 | group)."
            )
    return Block(group, levels, codes, Z, names, pattern, term_of_column, expanded, builders)


def build_model(formula: str, data: pd.DataFrame, *, warn_few_groups: bool = True) -> ModelFrame:
    """Check the data against the formula and build the model matrices.

    Rows with a missing value in any column the model uses are dropped with a
    :class:`~mlm_helpers.errors.MissingDataWarning` (as R's ``na.omit``).

    Parameters
    ----------
    formula : str
        lme4-style formula, e.g. ``"y ~ x + (1 | g)"``.
    data : pandas.DataFrame
        One row per observation.
    warn_few_groups : bool
        Warn when a grouping factor has fewer than 10 levels.

    Returns
    -------
    ModelFrame

    Raises
    ------
    MLMInputError
        For every problem listed in :mod:`mlm_helpers.errors`.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> build_model("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff"),
    ...             warn_few_groups=False).blocks[0].n_levels
    6
    """
    if not isinstance(data, pd.DataFrame):
        kind = f"{type(data).__module__.split('.')[0]}.{type(data).__name__}"
        fix = ("Convert it with data.to_pandas(), which keeps the column names and types."
               if hasattr(data, "to_pandas") else "Convert it with pd.DataFrame(...), e.g. pd.DataFrame(dict_of_columns).")
        raise MLMInputError(f"data must be a pandas DataFrame (one row per observation), got {kind}. {fix}")
    if len(data) == 0:
        raise MLMInputError("The DataFrame is empty (0 rows): there is nothing to fit. Check the filter that made it.")
    spec = parse_formula(formula)
    used = _check_columns(spec, data)
    dup = [c for c in used if int((data.columns == c).sum()) > 1]
    if dup:
        raise MLMInputError(
            f"The data have {int((data.columns == dup[0]).sum())} columns named {dup[0]!r}, so the formula cannot "
            f"tell which one it means. Rename or drop the copies, e.g. df = df.loc[:, ~df.columns.duplicated()] "
            "to keep the first."
        )
    # Work on the model's columns only, without attrs (pandas deep-copies attrs on every access).
    data = pd.DataFrame({c: data[c] for c in used}, index=data.index)
    frame = data

    # Outcome checks before missing values are dropped (clearer messages).
    ycol = spec.response if spec.response in data.columns else None
    if ycol is not None:
        yser = data[ycol]
        if not (pd.api.types.is_numeric_dtype(yser) and not pd.api.types.is_bool_dtype(yser)):
            example = yser.dropna().iloc[0] if yser.notna().any() else None
            raise MLMInputError(
                f"The outcome {ycol!r} is not numeric (dtype {yser.dtype}, e.g. the value {example!r}). "
                "A linear mixed model needs a numeric outcome: convert it with pd.to_numeric(...), or, "
                "for a yes/no outcome, use a logistic mixed model instead."
            )
    for col in used:
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            vals = s.to_numpy(dtype=float, na_value=np.nan)
            bad = np.isinf(vals)
            if bad.any():
                raise MLMInputError(
                    f"Column {col!r} has {int(bad.sum())} infinite value(s) (first in row "
                    f"{frame.index[np.flatnonzero(bad)[0]]!r}). Replace them with a finite value or with "
                    "NaN (rows with NaN are dropped), e.g. df[col].replace([np.inf, -np.inf], np.nan)."
                )
    missing = frame.isna().any(axis=1).to_numpy()
    n_dropped = int(missing.sum())
    if n_dropped == len(frame):
        raise MLMInputError(
            "Every row has a missing value in at least one model column "
            f"({', '.join(c for c in used if frame[c].isna().any())}); nothing is left to fit."
        )
    if n_dropped:
        cols = [c for c in used if frame[c].isna().any()]
        warn_at_caller(
            f"Dropped {n_dropped} of {len(frame)} rows with missing values in {', '.join(map(repr, cols))} "
            f"(as R's na.omit); the model uses the other {len(frame) - n_dropped} rows.",
            MissingDataWarning,
        )
        data = data.loc[~missing]
    else:
        data = data
    data = data.copy()
    for t in spec.random:
        for g in t.group_columns:
            if not (isinstance(data[g].dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(data[g])):
                data[g] = data[g].astype(str)

    if ycol is not None:
        y = data[ycol].to_numpy(dtype=float)
    else:
        Ydf = _patsy(spec.response + " - 1", data, "the outcome")
        if Ydf.shape[1] != 1:
            raise MLMInputError(f"The outcome {spec.response!r} must be one numeric column.")
        y = Ydf.to_numpy(dtype=float)[:, 0]
    if not np.all(np.isfinite(y)):
        raise MLMInputError(f"The outcome {spec.response!r} has infinite values after transformation; check it.")
    if np.ptp(y) == 0:
        raise MLMInputError(
            f"The outcome {spec.response!r} is constant (every row is {y[0]:g}): there is no variation "
            "to model. Check the outcome column and the rows selected."
        )
    _check_predictor_types(spec, data)
    if spec.fixed_rhs.replace(" ", "") in {"0", "-1", "0-1", "-1+0", "0+0"}:
        raise MLMInputError(
            f"The formula {spec.formula!r} has no fixed effects at all (not even an intercept), so the "
            "random effects would have no mean to vary around. Write the intercept, e.g. "
            f"'{spec.response} ~ 1 + ...'."
        )
    X, x_names, x_info = _design(spec.fixed_rhs, data, "the fixed part")
    order = _r_column_order(spec.fixed_rhs, x_info)
    if order is not None:  # fixed effects in the formula's order, as lme4 prints them
        x_info = OrderedDesign(x_info, order)
        X = X[:, list(order)]
        x_names = [x_names[k] for k in order]
    _check_n_vs_p(X, x_names, x_info, spec)
    _check_fixed(X, x_names)

    blocks: list[Block] = []
    for group in spec.groups:
        terms = [t for t in spec.random if t.group == group]
        codes, levels = _group_codes(data, group)
        if len(levels) < 2:
            raise MLMInputError(
                f"The grouping factor {group!r} has a single level ({levels[0]!r}): a random effect needs "
                "at least two groups, and well over 10 to estimate its variance. Check the column, or fit "
                "an ordinary regression without the random term."
            )
        if len(levels) == len(data) and all(t.effects.replace(" ", "") in {"1", "1+0", "0+1"} for t in terms):
            raise MLMInputError(
                f"Every level of {group!r} has exactly one row, so the random intercept for {group!r} "
                "cannot be told apart from the residual. Check the grouping column (is it an id per row?)."
            )
        block = _make_block(group, terms, data, codes, levels)
        _check_nobs_vs_nre(block, len(data))
        _check_scale(block)
        blocks.append(block)
        if warn_few_groups and len(levels) < MIN_GROUPS_WARN:
            warn_at_caller(
                f"The grouping factor {group!r} has only {len(levels)} levels: its variance component(s) "
                "will be poorly estimated (imprecise, and often 0). Report them with care, with an "
                "interval, and consider whether a fixed effect for the groups is the better model.",
                FewGroupsWarning,
            )
    return ModelFrame(
        spec=spec,
        data=data,
        y=y,
        X=X,
        x_names=x_names,
        x_design_info=x_info,
        blocks=blocks,
        n_dropped=n_dropped,
    )
