"""The fits of chapter 13 (case studies) agree with R's lme4 (tests/reference/lme4_applications.csv).

Tolerances as in tests/model/test_reference_lme4.py: log-likelihood 1e-4 absolute; fixed effects
and standard errors 1e-4 relative; variance components 1e-3 relative; singular flag equal.
The reference is written by tests/reference/lme4_applications.R.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import mlm_helpers as mh
from mlm_helpers import centring

REF_DIR = Path(__file__).parents[1] / "reference"

# id -> (data set, formula, REML)
MODELS = {
    "hsb_sector_reml": ("hsb", "MathAch ~ Sector + (1 | School)", True),
    "hsb_sector_ses_reml": ("hsb", "MathAch ~ Sector + SES_c + SES_gm + (1 | School)", True),
    "hsb_sector_slope_reml": ("hsb", "MathAch ~ Sector + SES_c + SES_gm + (1 + SES_c | School)", True),
    "hsb_sector_rs_reml": ("hsb", "MathAch ~ SES_c * Sector + SES_gm + (1 + SES_c | School)", True),
    "hsb_sector_rs_ml": ("hsb", "MathAch ~ SES_c * Sector + SES_gm + (1 + SES_c | School)", False),
    "grunfeld_ri_reml": ("grunfeld", "invest ~ value + capital + (1 | firm)", True),
}
# statsmodels is slow on the 7,185 HSB rows with a random slope; check it on the small models
STATSMODELS = ["hsb_sector_reml", "grunfeld_ri_reml"]


@pytest.fixture(scope="module")
def reference():
    return pd.read_csv(REF_DIR / "lme4_applications.csv", keep_default_na=False, na_values=["NA"])


@pytest.fixture(scope="module")
def data():
    hsb = mh.load_dataset("hsb").merge(mh.load_dataset("hsb_schools")[["School", "Sector"]], on="School")
    hsb = centring.centre_within(hsb, "SES", "School")
    grunfeld = pd.read_csv(REF_DIR / "grunfeld.csv")
    return {"hsb": hsb, "grunfeld": grunfeld}


def _fit(model_id, data, engine):
    key, formula, reml = MODELS[model_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mh.ConvergenceWarning)  # statsmodels' default optimiser on HSB
        return mh.fit(formula, data[key], reml=reml, engine=engine)


def _val(ref, q, n1="", n2=""):
    r = ref[(ref["quantity"] == q) & (ref["name1"] == n1) & (ref["name2"] == n2)]
    assert len(r) == 1, (q, n1, n2)
    return float(r["value"].iloc[0])


def _check(res, ref):
    assert res.loglik == pytest.approx(_val(ref, "loglik"), abs=1e-4)
    assert res.nobs == int(_val(ref, "nobs"))
    assert res.is_singular == bool(_val(ref, "singular"))
    for name, row in res.fixed.iterrows():
        assert row["estimate"] == pytest.approx(_val(ref, "fixef", name), rel=1e-4), name
        assert row["se"] == pytest.approx(_val(ref, "se", name), rel=1e-4), name
    group = res.varcorr["group"].iloc[0]
    for _, r in res.varcorr.iterrows():
        v1 = r["var1"] if isinstance(r["var1"], str) else ""
        v2 = r["var2"] if isinstance(r["var2"], str) else ""
        g = "Residual" if r["group"] == "Residual" else group
        ref_v = _val(ref, "vcov", f"{g}|{v1}", v2)
        if v2:  # a covariance: compare the correlation, and the covariance relative to the variances
            assert r["sdcor"] == pytest.approx(_val(ref, "sdcor", f"{g}|{v1}", v2), abs=1e-3)
            assert r["vcov"] == pytest.approx(ref_v, rel=1e-3, abs=1e-3 * abs(r["vcov"] / r["sdcor"]))
        else:
            assert r["vcov"] == pytest.approx(ref_v, rel=1e-3), (g, v1)
    assert res.sigma2 == pytest.approx(_val(ref, "sigma2"), rel=1e-3)


@pytest.mark.parametrize("model_id", list(MODELS))
def test_fast_engine_matches_lme4(model_id, reference, data):
    res = _fit(model_id, data, "fast")
    assert res.engine == "fast"
    _check(res, reference[reference["model"] == model_id])


@pytest.mark.parametrize("model_id", STATSMODELS)
def test_statsmodels_engine_matches_lme4(model_id, reference, data):
    res = _fit(model_id, data, "statsmodels")
    assert res.engine == "statsmodels"
    _check(res, reference[reference["model"] == model_id])


def test_grunfeld_firm_fixed_effects_match_r(reference, data):
    ref = reference[reference["model"] == "grunfeld_fe_ols"]
    ols = smf.ols("invest ~ value + capital + C(firm)", data["grunfeld"]).fit()
    for name in ("value", "capital"):
        assert ols.params[name] == pytest.approx(_val(ref, "fixef", name), rel=1e-6)
        assert ols.bse[name] == pytest.approx(_val(ref, "se", name), rel=1e-6)


def test_grunfeld_csv_is_statsmodels_copy(data):
    from statsmodels.datasets import grunfeld

    sm = grunfeld.load_pandas().data
    assert np.allclose(sm[["invest", "value", "capital"]].to_numpy(), data["grunfeld"][["invest", "value", "capital"]])
