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
