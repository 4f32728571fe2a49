"""Tests of mlm_helpers.centring: the centred columns, and within/between/contextual effects vs lme4."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers.companions.centring import centre_grand, centre_within, within_between_effects


@pytest.fixture(scope="module")
def hsb() -> pd.DataFrame:
    return centre_within(mh.load_dataset("hsb"), "SES", "School")


def test_centre_within_columns(hsb):
    raw = mh.load_dataset("hsb")
    assert "SES_gm" not in raw.columns  # the input is not modified
    np.testing.assert_allclose(hsb.groupby("School")["SES_c"].mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(hsb["SES_gm"] + hsb["SES_c"], hsb["SES"])
    assert hsb.groupby("School")["SES_gm"].nunique().max() == 1
    # the same columns as the R script of the lme4 reference (ave(SES, School))
    expected = raw.groupby("School")["SES"].transform("mean")
    np.testing.assert_allclose(hsb["SES_gm"], expected)


def test_centre_within_missing_values_and_suffixes():
    df = pd.DataFrame({"g": ["a", "a", "a", "b"], "x": [1.0, np.nan, 3.0, 5.0]})
    out = centre_within(df, "x", "g", suffixes=("_mean", "_dev"))
    assert out["x_mean"].tolist() == [2.0, 2.0, 2.0, 5.0]  # mean over the rows present
    assert out["x_dev"].iloc[0] == -1.0 and np.isnan(out["x_dev"].iloc[1])


def test_centre_within_bad_input():
    df = pd.DataFrame({"g": ["a", None], "x": [1.0, 2.0], "s": ["u", "v"]})
    with pytest.raises(mh.MLMInputError, match="Did you mean 'x'"):
        centre_within(df, "X", "g")
    with pytest.raises(mh.MLMInputError, match="numeric"):
        centre_within(df, "s", "g")
    with pytest.raises(mh.MLMInputError, match="missing value"):
        centre_within(df, "x", "g")
    with pytest.raises(mh.MLMInputError, match="grouping column 'G'"):
        centre_within(df, "x", "G")
    with pytest.raises(mh.MLMInputError, match="suffixes"):
        centre_within(df.dropna(), "x", "g", suffixes=("_a", "_a"))
    with pytest.raises(mh.MLMInputError, match="DataFrame"):
        centre_within([1, 2], "x", "g")


def test_centre_grand():
    out = centre_grand(mh.load_dataset("hsb"), "SES")
    assert abs(out["SES_cgm"].mean()) < 1e-12
    np.testing.assert_allclose(out["SES"] - out["SES_cgm"], mh.load_dataset("hsb")["SES"].mean())
    with pytest.raises(mh.MLMInputError, match="suffix"):
        centre_grand(out, "SES", suffix="")


def test_grand_mean_centring_changes_only_the_intercept(hsb):
    data = centre_grand(hsb, "SES")
    a = mh.fit("MathAch ~ SES + (1 | School)", data)
    b = mh.fit("MathAch ~ SES_cgm + (1 | School)", data)
    assert a.loglik == pytest.approx(b.loglik, abs=1e-6)
    assert a.fixed.loc["SES", "estimate"] == pytest.approx(b.fixed.loc["SES_cgm", "estimate"], rel=1e-6)
    shift = a.fixed.loc["SES", "estimate"] * data["SES"].mean()
    assert b.fixed.loc["Intercept", "estimate"] == pytest.approx(a.fixed.loc["Intercept", "estimate"] + shift, rel=1e-6)


def test_within_between_matches_lme4_random_slope(hsb):
    # lme4 hsb_rs_reml: MathAch ~ SES_c + SES_gm + (SES_c | School)
    res = mh.fit("MathAch ~ SES_c + SES_gm + (SES_c | School)", hsb)
    tab = within_between_effects(res, "SES_c", "SES_gm")
    assert tab.loc["within", "estimate"] == pytest.approx(2.19128010935309, rel=1e-4)
    assert tab.loc["between", "estimate"] == pytest.approx(5.89635959827103, rel=1e-4)
    assert tab.loc["within", "se"] == pytest.approx(0.128030689035921, rel=1e-3)
    assert tab.loc["between", "se"] == pytest.approx(0.36004837439038, rel=1e-3)
    assert tab.loc["contextual", "estimate"] == pytest.approx(5.89635959827103 - 2.19128010935309, rel=1e-4)


def test_two_parametrisations_agree(hsb):
    centred = mh.fit("MathAch ~ SES_c + SES_gm + (1 | School)", hsb)
    raw = mh.fit("MathAch ~ SES + SES_gm + (1 | School)", hsb)
    a = within_between_effects(centred, "SES_c", "SES_gm")
    b = within_between_effects(raw, "SES", "SES_gm", x_is_centred=False)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-5)
    assert raw.fixed.loc["SES_gm", "estimate"] == pytest.approx(a.loc["contextual", "estimate"], rel=1e-5)
    assert raw.fixed.loc["SES_gm", "se"] == pytest.approx(a.loc["contextual", "se"], rel=1e-4)
    ci = a.loc["contextual"]
    assert ci["ci_lower"] == pytest.approx(ci["estimate"] - 1.959964 * ci["se"], rel=1e-6)


def test_within_between_recovers_simulated_effects():
    # within slope 2, between slope 2 + contextual 3 = 5: y = 2 x + 3 xbar_j + u_j + e
    rng = np.random.default_rng(11)
    J, m = 200, 25
    g = np.repeat(np.arange(J), m)
    xbar = rng.normal(0, 1, J)
    x = xbar[g] + rng.normal(0, 1, J * m)
    y = 2 * x + 3 * xbar[g] + rng.normal(0, 1, J)[g] + rng.normal(0, 2, J * m)
    df = centre_within(pd.DataFrame({"g": g.astype(str), "x": x, "y": y}), "x", "g")
    res = mh.fit("y ~ x_c + x_gm + (1 | g)", df)
    tab = within_between_effects(res, "x_c", "x_gm")
    for key, truth in {"within": 2.0, "between": 5.0, "contextual": 3.0}.items():
        row = tab.loc[key]
        assert abs(row["estimate"] - truth) < 3 * row["se"], key


def test_within_between_bad_input(hsb):
    res = mh.fit("MathAch ~ SES_c + SES_gm + (1 | School)", hsb)
    with pytest.raises(mh.MLMInputError, match="SES_mean"):
        within_between_effects(res, "SES_c", "SES_mean")
    with pytest.raises(mh.MLMInputError, match="mh.fit"):
        within_between_effects(None, "SES_c", "SES_gm")
