"""Tests of mlm_helpers.designs (nesting detection, the two simulators) and the intercepts engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers import designs
from mlm_helpers.errors import MLMInputError


def test_nesting_structure_on_package_data():
    assert designs.nesting_structure(mh.load_dataset("penicillin"), "plate", "sample").startswith("crossed")
    pastes = mh.load_dataset("pastes")
    assert designs.nesting_structure(pastes, "sample", "batch").startswith("nested sample in batch")
    assert designs.nesting_structure(pastes, "batch", "sample").startswith("nested sample in batch")
    # cask labels a, b, c are reused in every batch: the labels look crossed
    assert designs.nesting_structure(pastes, "cask", "batch").startswith("crossed")


def test_nesting_structure_partial_and_identical():
    df = pd.DataFrame({"a": [1, 1, 2, 2, 3], "b": ["x", "y", "x", "z", "z"]})
    out = designs.nesting_structure(df, "a", "b")
    assert out.startswith("partially crossed: 5 of the 3 x 3 = 9")
    df2 = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    assert designs.nesting_structure(df2, "a", "b").startswith("identical")


def test_nesting_structure_bad_input():
    df = pd.DataFrame({"a": [1, 2], "b": [1, None]})
    with pytest.raises(MLMInputError, match="'c' is not in the data"):
        designs.nesting_structure(df, "a", "c")
    with pytest.raises(MLMInputError, match="missing values"):
        designs.nesting_structure(df, "a", "b")


def test_simulate_crossed_shape_and_truth():
    df = designs.simulate_crossed(40, 10, per_a=6, seed=3)
    assert len(df) == 240 and df["student"].nunique() == 40 and df["rater"].nunique() == 10
    assert (df.groupby("student")["rater"].nunique() == 6).all()
    assert df.attrs["truth"]["tau_a"] == 4.0
    full = designs.simulate_crossed(5, 4, seed=3)
    assert designs.nesting_structure(full, "student", "rater").startswith("crossed")
    # reproducible
    pd.testing.assert_frame_equal(df, designs.simulate_crossed(40, 10, per_a=6, seed=3))
    # the random effects are constant within their level
    assert (df.groupby("rater")["u_rater"].nunique() == 1).all()


def test_simulate_crossed_bad_input():
    with pytest.raises(MLMInputError, match="per_a"):
        designs.simulate_crossed(5, 4, per_a=5)
    with pytest.raises(MLMInputError, match="variance"):
        designs.simulate_crossed(5, 4, tau_a=-1)


def test_simulate_three_level_structure():
    df = designs.simulate_three_level(20, 3, 10, tau_school=4, tau_class=2, sigma2=14, seed=1)
    assert len(df) == 600 and df["class"].nunique() == 60
    assert designs.nesting_structure(df, "class", "school").startswith("nested class in school")
    t = df.attrs["truth"]
    assert t["vpc_school"] + t["vpc_class"] + t["vpc_pupil"] == pytest.approx(1)
    assert t["corr_same_class"] == pytest.approx(0.3) and t["corr_same_school"] == pytest.approx(0.2)
    assert (df.groupby("school")["w"].nunique() == 1).all()
    with pytest.raises(MLMInputError, match="whole number"):
        designs.simulate_three_level(2.5, 3, 10)


def test_intercepts_engine_recovers_truth_on_large_sample():
    df = designs.simulate_three_level(200, 4, 10, tau_school=4, tau_class=2, sigma2=20,
                                      school_effect=1.5, seed=11)
    res = mh.fit("y ~ w + (1 | school) + (1 | class)", df, engine="intercepts")
    assert res.vpc["school"] * (res.vpc.sum()) > 0
    v = res.varcorr.set_index("group")["vcov"]
    assert v["school"] == pytest.approx(4, rel=0.25)
    assert v["class"] == pytest.approx(2, rel=0.35)
    assert v["Residual"] == pytest.approx(20, rel=0.05)
    assert res.fixed.loc["w", "estimate"] == pytest.approx(1.5, abs=3 * res.fixed.loc["w", "se"])
    assert res.vpc.sum() == pytest.approx(1)
    assert res.engine == res.optsummary.engine == "fast" and res.converged  # "intercepts": an alias


def test_intercepts_engine_matches_fast_engine_one_factor():
    df = mh.load_dataset("sleepstudy")
    ours = mh.fit("Reaction ~ Days + (1 | Subject)", df, reml=False, engine="intercepts")
    theirs = mh.fit("Reaction ~ Days + (1 | Subject)", df, reml=False)
    assert ours.loglik == pytest.approx(theirs.loglik, abs=1e-7)
    np.testing.assert_allclose(ours.fixed["se"], theirs.fixed["se"], rtol=1e-6)
    np.testing.assert_allclose(ours.ranef["Intercept"], theirs.ranef["Intercept"], rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::mlm_helpers.FewGroupsWarning")
def test_intercepts_engine_singular_and_refused_models():
    df = mh.load_dataset("dyestuff2")
    with pytest.warns(mh.SingularFitWarning):
        assert mh.fit("Yield ~ 1 + (1 | Batch)", df, engine="intercepts").is_singular
    # "intercepts" is now an alias of the fast engine, which fits random slopes too
    slopes = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"), engine="intercepts")
    assert slopes.engine == "fast" and round(slopes.loglik, 2) == -871.81


def test_crossed_coverage_refits_agree_with_fresh_fits():
    """The study's refits (warm start, reused design, Satterthwaite from the setup) equal mh.fit."""
    tab = designs.crossed_coverage([4, 6], n_subjects=10, n_reps=5, seed=3)
    assert tab.shape == (10, 9) and tab["converged"].all()
    assert list(tab["n_items"].unique()) == [4, 6]
    assert (tab["covered_t"] | ~tab["covered_z"]).all()  # the t interval is the wider one
    rng = np.random.default_rng(5)
    subj, item = np.repeat(np.arange(10), 6), np.tile(np.arange(6), 10)
    data = pd.DataFrame({"subject": [f"s{j}" for j in subj], "item": [f"i{k}" for k in item],
                         "x": np.where(item % 2 == 0, -0.5, 0.5)})
    Y = 0.5 * data["x"].to_numpy() + rng.normal(0, 1, (3, 10))[:, subj] + rng.normal(0, 0.5, (3, 6))[:, item] \
        + rng.normal(0, 1, (3, 60))
    first = mh.fit("y ~ x + (1 | subject) + (1 | item)", data.assign(y=Y[0]))
    rows = designs._refit_term(first, Y, "x", 0.5, 0.95)
    for r in range(3):
        fresh = mh.fit("y ~ x + (1 | subject) + (1 | item)", data.assign(y=Y[r])).fixed.loc["x"]
        assert rows.loc[r, "estimate"] == pytest.approx(fresh["estimate"], rel=1e-6)
        assert rows.loc[r, "se"] == pytest.approx(fresh["se"], rel=1e-6)
        assert rows.loc[r, "df"] == pytest.approx(fresh["df"], rel=1e-4)


def test_ignored_level_se_top_level_dropped_shrinks_the_se():
    tab = designs.ignored_level_se(10, 3, 4, n_reps=20, seed=2)
    assert tab.groupby("model", sort=False).size().to_dict() == {"three levels": 20, "no schools": 20,
                                                                 "no classes": 20}
    se = tab.groupby("model")["se"].mean()
    assert se["no schools"] < 0.9 * se["three levels"]
    df = tab.groupby("model")["df"].median()
    assert df["no schools"] > df["three levels"]


@pytest.mark.parametrize("bad, message", [({"n_items": 3}, "n_items"), ({"level": 1.5}, "level"),
                                          ({"tau_item": -1.0}, "tau_item")])
def test_crossed_coverage_bad_input(bad, message):
    args = {"n_items": 6, "n_subjects": 5, "n_reps": 2, **bad}
    with pytest.raises(MLMInputError, match=message):
        designs.crossed_coverage(**args)
