"""Bad input gives an MLMInputError (a ValueError) that names the problem and the fix."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers import MLMInputError


@pytest.fixture()
def sim():
    return mh.simulate_two_level(20, 5, beta1=1.0, tau00=1.0, seed=1)


def test_error_class_is_value_error():
    assert issubclass(MLMInputError, ValueError)


def test_column_not_in_data_suggests_closest(sim):
    with pytest.raises(MLMInputError, match=r"Column 'xx' .* not in the data\. Did you mean 'x'\?"):
        mh.fit("y ~ xx + (1 | group)", sim)


def test_outcome_not_in_data(sim):
    with pytest.raises(MLMInputError, match=r"Column 'yy' \(in the outcome\)"):
        mh.fit("yy ~ x + (1 | group)", sim)


def test_grouping_column_not_in_data(sim):
    with pytest.raises(MLMInputError, match=r"grouping column 'grp' .* Did you mean 'group'"):
        mh.fit("y ~ x + (1 | grp)", sim)


def test_random_slope_column_not_in_data(sim):
    with pytest.raises(MLMInputError, match=r"Column 'z' \(in the random term \(z \| group\)\)"):
        mh.fit("y ~ x + (z | group)", sim)


@pytest.mark.parametrize("formula, pattern", [
    ("y ~ x + (1 | )", "nothing after the bar"),
    ("y ~ x + ( | group)", "nothing before the bar"),
    ("y ~ x + (1 | group", "never closed"),
    ("y ~ x + 1 | group", "must sit inside parentheses"),
    ("y ~ x + (1 | group | x)", "one bar"),
    ("y x + (1 | group)", "exactly one '~'"),
    ("y ~ x + (1 | log(group))", "must be a column name"),
])
def test_malformed_random_term_points_at_it(sim, formula, pattern):
    with pytest.raises(MLMInputError, match=pattern) as err:
        mh.fit(formula, sim)
    assert "^" in str(err.value) or "~" in pattern  # a caret under the offending term


def test_non_numeric_outcome():
    df = mh.load_dataset("hsb")
    with pytest.raises(MLMInputError, match=r"outcome 'Sex' is not numeric .* e\.g\. the value"):
        mh.fit("Sex ~ SES + (1 | School)", df)


def test_infinite_values_named(sim):
    sim.loc[3, "x"] = np.inf
    with pytest.raises(MLMInputError, match=r"Column 'x' has 1 infinite value\(s\)"):
        mh.fit("y ~ x + (1 | group)", sim)


def test_single_group(sim):
    one = sim[sim["group"] == sim["group"].iloc[0]]
    with pytest.raises(MLMInputError, match=r"grouping factor 'group' has a single level"):
        mh.fit("y ~ x + (1 | group)", one)


def test_predictor_without_variation(sim):
    sim["c"] = 3.0
    with pytest.raises(MLMInputError, match=r"predictor column 'c' has no variation: every row has the value 3"):
        mh.fit("y ~ x + c + (1 | group)", sim)


def test_collinear_fixed_effects_named(sim):
    sim["x2"] = 2 * sim["x"] + 1
    with pytest.raises(MLMInputError, match=r"exactly collinear: 'x2' is a linear combination of 'Intercept', 'x'"):
        mh.fit("y ~ x + x2 + (1 | group)", sim)


def test_random_slope_not_identifiable():
    df = mh.simulate_two_level(30, 1, seed=2)  # every group has one row
    with pytest.raises(MLMInputError, match=r"random slope of 'x' .* cannot be identified"):
        mh.fit("y ~ x + (x | group)", df)


def test_random_intercept_with_one_row_per_group():
    df = mh.simulate_two_level(30, 1, seed=2)
    with pytest.raises(MLMInputError, match="exactly one row"):
        mh.fit("y ~ x + (1 | group)", df)


def test_missing_values_dropped_with_count(sim):
    sim.loc[[0, 5, 7], "x"] = np.nan
    sim.loc[9, "y"] = np.nan
    with pytest.warns(mh.MissingDataWarning, match=r"Dropped 4 of 100 rows with missing values in 'y', 'x'"):
        res = mh.fit("y ~ x + (1 | group)", sim)
    assert res.nobs == 96 and res.n_dropped == 4


def test_missing_only_in_unused_column_is_ignored(sim):
    sim["unused"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error", mh.MissingDataWarning)
        assert mh.fit("y ~ x + (1 | group)", sim).nobs == 100


def test_few_groups_warning():
    with pytest.warns(mh.FewGroupsWarning, match=r"'Batch' has only 6 levels"):
        mh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff"))


def test_constant_outcome(sim):
    sim["y"] = 1.0
    with pytest.raises(MLMInputError, match=r"outcome 'y' is constant"):
        mh.fit("y ~ x + (1 | group)", sim)


def test_empty_dataframe(sim):
    with pytest.raises(MLMInputError, match="empty"):
        mh.fit("y ~ x + (1 | group)", sim.iloc[0:0])


def test_not_a_dataframe(sim):
    with pytest.raises(MLMInputError, match="must be a pandas DataFrame"):
        mh.fit("y ~ x + (1 | group)", sim.to_dict())


def test_unknown_engine(sim):
    with pytest.raises(MLMInputError, match="engine must be one of"):
        mh.fit("y ~ x + (1 | group)", sim, engine="lme4")


def test_reml_must_be_bool(sim):
    with pytest.raises(MLMInputError, match="reml must be True"):
        mh.fit("y ~ x + (1 | group)", sim, reml="yes")


@pytest.mark.filterwarnings("ignore::mlm_helpers.FewGroupsWarning")
def test_fast_engine_fits_crossed_and_old_names_are_aliases():
    for engine in ("fast", "intercepts", "general", "auto"):
        res = mh.fit("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"), engine=engine)
        assert res.engine == "fast"
        assert res.loglik == pytest.approx(-165.4303, abs=1e-4)  # lme4


def test_all_rows_missing(sim):
    sim["x"] = np.nan
    with pytest.raises(MLMInputError, match="Every row has a missing value"):
        mh.fit("y ~ x + (1 | group)", sim)


def test_numeric_group_column_is_treated_as_labels():
    df = mh.simulate_two_level(15, 4, seed=3)
    df["gid"] = df["group"].str[1:].astype(int)
    a = mh.fit("y ~ x + (1 | gid)", df)
    b = mh.fit("y ~ x + (1 | group)", df)
    assert a.loglik == pytest.approx(b.loglik)
    assert a.ngroups == 15


def test_errors_are_short_no_deep_traceback(sim):
    """The error is raised from mlm_helpers, with patsy's/numpy's exception not chained in."""
    with pytest.raises(MLMInputError) as err:
        mh.fit("y ~ nonexistent + (1 | group)", sim)
    assert err.value.__cause__ is None


def test_predict_missing_column(sim):
    res = mh.fit("y ~ x + (1 | group)", sim)
    with pytest.raises(MLMInputError, match="lacks the column 'x'"):
        res.predict(pd.DataFrame({"group": ["g001"]}))
