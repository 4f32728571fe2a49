"""clustering.slope_se_comparison on HSB against R: lm, lmer and sandwich::vcovCL (tests/reference/lme4_clustering.R)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers import clustering

REF = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "lme4_clustering.csv").set_index("quantity")["value"]


def test_hsb_ses_slope_standard_errors_match_r():
    tab = clustering.slope_se_comparison(mh.load_dataset("hsb"), "MathAch", "SES", "School")
    assert tab.loc["OLS", "estimate"] == pytest.approx(REF["ols_estimate"], rel=1e-10)
    assert tab.loc["OLS", "se"] == pytest.approx(REF["ols_se"], rel=1e-10)
    assert tab.loc["cluster-robust", "se"] == pytest.approx(REF["cr1_se"], rel=1e-10)
    assert tab.loc["random intercept", "estimate"] == pytest.approx(REF["ri_estimate"], rel=1e-6)
    assert tab.loc["random intercept", "se"] == pytest.approx(REF["ri_se"], rel=1e-5)
    assert tab.attrs["icc_x"] == pytest.approx(REF["icc_x"], rel=1e-5)
    assert tab.attrs["icc_y"] == pytest.approx(REF["icc_y"], rel=1e-5)
