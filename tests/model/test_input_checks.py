"""No silently wrong model (issue 17): R formula syntax, identifiability checks, text that looks
numeric, the statsmodels path checked, lrt on the same data, every crash a clear error.

The numbers against lme4 (ScotsSec, Oxboys, Penicillin, Pastes, Orthodont) are in
tests/model/test_engine_checks_lme4.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers import MLMInputError
from mlm_helpers.model.frame import build_model


def _fit(formula, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mh.fit(formula, data, **kw)


@pytest.fixture(scope="module")
def growth() -> pd.DataFrame:
    """30 groups of 8 rows, an integer 'age' 0-7 with a quadratic trend, a float 'x'."""
    rng = np.random.default_rng(17)
    J, m = 30, 8
    g = np.repeat(np.arange(J), m)
    age = np.tile(np.arange(m), J)
    x = rng.normal(size=J * m)
    y = 1.0 + 0.3 * age + 0.107 * age**2 + 0.5 * x + rng.normal(0, 1, J)[g] + rng.normal(0, 1, J * m)
    return pd.DataFrame({"y": y, "age": age.astype("int64"), "x": x, "g": [f"g{k:02d}" for k in g]})


# ------------------------------------------------------------------ 1. R formula syntax
def test_power_inside_I_on_an_integer_column_is_a_power(growth):
    r = _fit("y ~ age + I(age^2) + (1 | g)", growth)
    ref = _fit("y ~ age + I(age**2) + (1 | g)", growth)
    assert list(r.fixed.index) == ["Intercept", "age", "I(age ** 2)"]
    assert np.allclose(r.fixed["estimate"], ref.fixed["estimate"])
    assert r.fixed.loc["I(age ** 2)", "estimate"] == pytest.approx(0.107, abs=0.03)  # XOR gave 0.019


def test_power_inside_I_on_a_float_column_is_a_power(growth):
    r = _fit("y ~ x + I(x^2) + (1 | g)", growth)
    X2 = growth["x"].to_numpy() ** 2
    assert np.allclose(r._model.X[:, 2], X2)


def test_power_in_a_random_term(growth):
    r = _fit("y ~ age + (I(age^2) | g)", growth)
    assert r._model.blocks[0].names == ["Intercept", "I(age ** 2)"]


def test_double_bar_numeric_is_separate_scalar_terms(growth):
    a = _fit("y ~ x + (x || g)", growth)
    b = _fit("y ~ x + (1 | g) + (0 + x | g)", growth)
    assert a.loglik == pytest.approx(b.loglik, abs=1e-6)
    assert not np.any(np.tril(a._model.blocks[0].pattern, -1))


def test_double_bar_factor_keeps_one_block_as_lme4(growth):
    """lme4: (1 + f || g) is (1 | g) + (0 + f | g): the factor's indicators form one correlated block."""
    d = growth.assign(f=np.where(growth["age"] < 3, "a", np.where(growth["age"] < 6, "b", "c")))
    m = build_model("y ~ x + (f || g)", d)
    b = m.blocks[0]
    assert b.names == ["Intercept", "f[a]", "f[b]", "f[c]"]
    assert b.pattern[0].sum() == 1 and not b.pattern[1:, 0].any()  # intercept alone
    assert b.pattern[1:, 1:].sum() == 6  # full 3 x 3 lower triangle


@pytest.mark.parametrize("formula, where", [
    ("y ~ x +", "+"),
    ("y ~ x + (1 | g) +", "+"),
    ("y ~ x *", "*"),
    ("y ~ x + (1 g)", "(1 g)"),
    ("y ~ x + (1 + x g)", "(1 + x g)"),
    ("y ~ x + (1 + | g)", "+"),
    ("y ~ x + (1 | g) + (x +)", ")"),
])
def test_parse_problems_get_the_caret_error(growth, formula, where):
    with pytest.raises(MLMInputError) as info:
        mh.fit(formula, growth)
    msg = str(info.value)
    assert "^" in msg and formula in msg
    caret_line = msg.splitlines()[-1]
    pos = caret_line.index("^") - 2
    assert formula[pos:].startswith(where)


def test_random_term_without_bar_says_where_the_bar_goes(growth):
    with pytest.raises(MLMInputError, match=r"without its bar: write \(1 \| g\)"):
        mh.fit("y ~ x + (1 g)", growth)


# ------------------------------------------------------------------ 2. identifiability
def test_more_random_effects_than_observations_is_refused():
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"g": np.repeat([f"s{k}" for k in range(16)], 15),
                      "cat": np.tile([f"c{k:02d}" for k in range(15)], 16)})
    d["y"] = rng.normal(size=len(d))
    with pytest.raises(MLMInputError, match="number of observations <= number of random effects"):
        mh.fit("y ~ 1 + (cat | g)", d)


def test_random_slope_with_two_rows_per_group_is_refused(growth):
    two = growth.groupby("g").head(2)
    with pytest.raises(MLMInputError, match=r"60 random effects from 60 observations.*Drop the random slope"):
        mh.fit("y ~ x + (1 + x | g)", two)


def test_n_not_above_p_is_refused(growth):
    tiny = growth.iloc[:4].assign(g=["a", "a", "b", "b"])
    with pytest.raises(MLMInputError, match="n > p"):
        mh.fit("y ~ x + age + I(age**2) + (1 | g)", tiny)


def test_badly_scaled_random_slope_warns_and_is_fitted(growth):
    rng = np.random.default_rng(5)
    codes = growth["g"].str[1:].astype(int).to_numpy()
    slopes = rng.normal(0, 0.6, codes.max() + 1)
    growth = growth.assign(y=growth["y"] + slopes[codes] * growth["x"])
    formula = "y ~ x + age + I(age**2) + (x | g)"
    ref = _fit(formula, growth, reml=False)
    big = growth.assign(x=growth["x"] * 1e6)
    with pytest.warns(mh.InputWarning, match=r"'x' of 'g'.*centre and scale"):
        r = mh.fit(formula, big, reml=False)
    assert not ref.is_singular
    assert r.converged and not r.is_singular
    assert r.loglik == pytest.approx(ref.loglik, abs=1e-6)  # before: 400 log-likelihood units away
    s = np.array([1.0, 1e-6])
    assert np.allclose(r._raw.covs[0], ref._raw.covs[0] * np.outer(s, s), rtol=1e-5)
    assert r.fixed.loc["x", "estimate"] * 1e6 == pytest.approx(ref.fixed.loc["x", "estimate"], rel=1e-6)
    assert np.allclose(r.ranef["x"] * 1e6, ref.ranef["x"], rtol=1e-5, atol=1e-8)
    assert r.optsummary.theta[0] == pytest.approx(ref.optsummary.theta[0], rel=1e-5)
    assert any("rescaled" in s for s in r.optsummary.restarts)


# ------------------------------------------------------------------ 3. text that looks numeric
@pytest.mark.parametrize("make, pattern", [
    (lambda d: [f"{v:.2f}".replace(".", ",") for v in d["x"]], r"decimal commas.*str.replace\(',', '.'\)"),
    (lambda d: [f"{v:.3f}" for v in d["x"]], r"numbers stored as text.*pd.to_numeric"),
    (lambda d: pd.date_range("2024-01-01", periods=len(d), freq="D"), r"dates or times.*dt.days"),
    (lambda d: [str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=k))[:10] for k in range(len(d))],
     r"dates stored as text.*pd.to_datetime"),
    (lambda d: [f"row{k}" for k in range(len(d))], r"different value in every row"),
])
def test_text_that_looks_numeric_is_never_dummy_coded(growth, make, pattern):
    d = growth.assign(v=make(growth))
    with pytest.raises(MLMInputError, match=pattern) as info:
        mh.fit("y ~ v + (1 | g)", d)
    assert "'v'" in str(info.value)


@pytest.mark.filterwarnings("ignore::mlm_helpers.SingularFitWarning")
def test_whole_numbers_stored_as_text_warn_unless_wrapped_in_C(growth):
    d = growth.assign(v=[str(k % 25) for k in range(len(growth))])
    with pytest.warns(mh.InputWarning, match=r"'v' holds whole numbers stored as text.*25 levels"):
        mh.fit("y ~ v + (1 | g)", d)
    with warnings.catch_warnings():  # C(v) says it is a factor on purpose: no InputWarning
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", mh.InputWarning)
        mh.fit("y ~ C(v) + (1 | g)", d)


def test_labels_with_few_levels_are_fine():
    hsb = mh.load_dataset("hsb").merge(mh.load_dataset("hsb_schools")[["School", "HIMINTY"]], on="School")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = mh.fit("MathAch ~ SES + HIMINTY + (1 | School)", hsb)
    assert "HIMINTY[T.1]" in r.fixed.index


# ------------------------------------------------------------------ 4. the statsmodels path, singular fits
@pytest.mark.filterwarnings("ignore::mlm_helpers.FewGroupsWarning")
def test_statsmodels_path_is_checked_with_the_profiled_deviance():
    r = _fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"), engine="statsmodels")
    assert any("checked with lme4's profiled REML deviance" in s for s in r.optsummary.restarts)
    fast = _fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    assert r.loglik == pytest.approx(fast.loglik, abs=1e-4)


@pytest.mark.filterwarnings("ignore::mlm_helpers.FewGroupsWarning")
@pytest.mark.parametrize("engine", ["fast", "statsmodels"])
def test_singular_fits_flagged_on_every_engine(engine):
    r = _fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff2"), engine=engine)
    assert r.is_singular


@pytest.mark.parametrize("engine", ["fast", "statsmodels"])
def test_perfect_correlation_flagged_on_every_engine(engine):
    """A random slope whose groups differ by a multiple of the intercept: correlation 1, singular (as Exam)."""
    rng = np.random.default_rng(3)
    J, m = 15, 20
    g = np.repeat(np.arange(J), m)
    x = rng.integers(0, 2, J * m).astype(float)
    u = rng.normal(0, 1, J)
    y = u[g] * (1 + 0.5 * x) + 0.3 * x + rng.normal(0, 1, J * m)
    d = pd.DataFrame({"y": y, "x": x, "g": g.astype(str)})
    r = _fit("y ~ x + (x | g)", d, engine=engine)
    fast = _fit("y ~ x + (x | g)", d)
    assert r.is_singular == fast.is_singular
    assert r.loglik == pytest.approx(fast.loglik, abs=1e-4)


# ------------------------------------------------------------------ 5. lrt on the same data
def test_lrt_refuses_same_count_different_rows():
    d = mh.load_dataset("sleepstudy")
    other = d.sample(frac=1.0, random_state=1).reset_index(drop=True)
    with pytest.raises(MLMInputError, match="same number of rows .* but not the same data"):
        mh.lrt(_fit("Reaction ~ Days + (1 | Subject)", d), _fit("Reaction ~ Days + (Days | Subject)", other))


def test_lrt_refuses_different_outcomes():
    d = mh.load_dataset("sleepstudy").assign(logR=lambda t: np.log(t["Reaction"]))
    with pytest.raises(MLMInputError, match="different outcomes"):
        mh.lrt(_fit("Reaction ~ Days + (1 | Subject)", d), _fit("logR ~ Days + (1 | Subject)", d))


def test_lrt_reversed_fixed_effects_say_reverse():
    d = mh.load_dataset("sleepstudy")
    with pytest.raises(MLMInputError, match="passed in reverse"):
        mh.lrt(_fit("Reaction ~ Days + (1 | Subject)", d), _fit("Reaction ~ 1 + (1 | Subject)", d))


def test_lrt_non_nested_says_not_nested(growth):
    with pytest.raises(MLMInputError, match="not nested.*AIC"):
        mh.lrt(_fit("y ~ x + (1 | g)", growth), _fit("y ~ age + (1 | g)", growth))
    with pytest.raises(MLMInputError, match="not nested"):
        mh.lrt(_fit("y ~ x + (1 | g)", growth), _fit("y ~ x + (0 + x | g)", growth))


def test_lrt_says_when_an_ml_refit_failed(monkeypatch):
    d = mh.load_dataset("sleepstudy")
    reduced, full = _fit("Reaction ~ 1 + (1 | Subject)", d), _fit("Reaction ~ Days + (1 | Subject)", d)
    original = mh.MixedResult.refit

    def failing_refit(self, **kw):
        out = original(self, **kw)
        if "Days" in self.formula:
            out.converged = False
            out.convergence_message = "simulated failure"
        return out

    monkeypatch.setattr(mh.MixedResult, "refit", failing_refit)
    with pytest.warns(mh.ConvergenceWarning, match="ML refit of the full model"):
        t = mh.lrt(reduced, full)
    assert "did not converge" in t.note


# ------------------------------------------------------------------ 6. every crash a clear error
def test_duplicated_column_names(growth):
    d = pd.concat([growth, growth[["x"]]], axis=1)
    with pytest.raises(MLMInputError, match=r"2 columns named 'x'.*duplicated"):
        mh.fit("y ~ x + (1 | g)", d)


def test_no_fixed_effects(growth):
    with pytest.raises(MLMInputError, match=r"no fixed effects.*'y ~ 1 \+ \.\.\.'"):
        mh.fit("y ~ 0 + (1 | g)", growth)


def test_polars_like_frame_suggests_to_pandas(growth):
    class DataFrame:  # a stand-in for polars.DataFrame
        def to_pandas(self):
            return growth

    with pytest.raises(MLMInputError, match=r"to_pandas\(\)"):
        mh.fit("y ~ x + (1 | g)", DataFrame())


@pytest.mark.parametrize("name", ["type", "id", "sum"])
def test_builtin_names_not_in_the_data(growth, name):
    d = growth.assign(**{name.capitalize(): growth["x"]})
    with pytest.raises(MLMInputError, match=rf"Column '{name}' .* not in the data. Did you mean '{name.capitalize()}'"):
        mh.fit(f"y ~ {name} + (1 | g)", d)


@pytest.mark.parametrize("name", ["type", "id", "sum"])
def test_builtin_names_that_are_columns_work(growth, name):
    r = _fit(f"y ~ {name} + (1 | g)", growth.assign(**{name: growth["x"]}))
    assert name in r.fixed.index


def test_dotted_name_gets_the_Q_hint(growth):
    d = growth.assign(**{"ses.c": growth["x"]})
    with pytest.raises(MLMInputError, match=r"Q\('ses.c'\)"):
        mh.fit("y ~ ses.c + (1 | g)", d)
    r = _fit('y ~ Q("ses.c") + (1 | g)', d)
    assert r.fixed.shape[0] == 2


def test_n_equals_p_is_an_input_error_not_zero_division():
    d = pd.DataFrame({"y": [1.0, 2.0, 3.5, 4.0], "x": [0.0, 1.0, 0.5, 2.0], "z": [1.0, 0.0, 2.0, 0.3],
                      "w": [3.0, 1.0, 0.0, 2.0], "g": ["a", "a", "b", "b"]})
    with pytest.raises(MLMInputError, match="4 columns for 4 rows"):
        mh.fit("y ~ x + z + w + (1 | g)", d)


def test_lrt_same_outcome_different_predictor_rows():
    d = mh.load_dataset("sleepstudy")
    other = d.assign(Days=d["Days"].to_numpy()[::-1])
    with pytest.raises(MLMInputError, match="predictor 'Days'"):
        mh.lrt(_fit("Reaction ~ Days + (1 | Subject)", d), _fit("Reaction ~ Days + (Days | Subject)", other))


def test_lrt_accepts_the_same_rows_with_other_row_labels():
    d = mh.load_dataset("sleepstudy")
    t = mh.lrt(_fit("Reaction ~ Days + (1 | Subject)", d),
               _fit("Reaction ~ Days + (Days | Subject)", d.set_index(d.index + 1000)))
    assert t.df == 2
