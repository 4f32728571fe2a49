"""Chapter 10's models agree with R's lme4 (tests/reference/lme4_longitudinal.csv).

The reference is written by tests/reference/lme4_longitudinal.R from the package's sleepstudy data and
tests/reference/grunfeld.csv (statsmodels' Grunfeld data). Tolerances as in test_reference_lme4.py:
log-likelihood 1e-4 absolute, fixed effects and SEs 1e-4 relative, variance components 1e-3 relative,
singular flag equal.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import mlm_helpers as mh

HERE = Path(__file__).parents[1] / "reference"


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(HERE / "lme4_longitudinal.csv", keep_default_na=False, na_values=["NA"])


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    sleep = mh.load_dataset("sleepstudy")
    sleep["Days_c"] = sleep["Days"] - 4.5
    sleep29 = sleep[sleep["Days"] >= 2].copy()
    sleep29["Days2"] = sleep29["Days"] - 2
    grun = pd.read_csv(HERE / "grunfeld.csv")
    for col in ("value", "capital"):
        grun[f"{col}_m"] = grun.groupby("firm")[col].transform("mean")
    return {"sleep": sleep, "sleep29": sleep29, "grunfeld": grun}


MODELS = {
    "sleep_centred_reml": ("sleep", "Reaction ~ Days_c + (Days_c | Subject)", True),
    "sleep_days29_reml": ("sleep29", "Reaction ~ Days2 + (Days2 | Subject)", True),
    "sleep_days29_ml": ("sleep29", "Reaction ~ Days2 + (Days2 | Subject)", False),
    "grunfeld_re_reml": ("grunfeld", "invest ~ value + capital + (1 | firm)", True),
    "grunfeld_re_ml": ("grunfeld", "invest ~ value + capital + (1 | firm)", False),
    "grunfeld_mundlak_reml": ("grunfeld", "invest ~ value + capital + value_m + capital_m + (1 | firm)", True),
}
# statsmodels is slow and less exact on badly scaled predictors; check it on the sleep models.
ENGINES = [(m, "fast") for m in MODELS] + [(m, "statsmodels") for m in MODELS if m.startswith("sleep")]


@pytest.mark.parametrize("model_id, engine", ENGINES)
def test_matches_lme4(model_id, engine, ref, data):
    key, formula, reml = MODELS[model_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mh.FewGroupsWarning)
        res = mh.fit(formula, data[key], reml=reml, engine=engine)
    rows = ref[ref["model"] == model_id]

    def val(q, n1="", n2=""):
        r = rows[(rows["quantity"] == q) & (rows["name1"] == n1) & (rows["name2"] == n2)]
        assert len(r) == 1, (q, n1, n2)
        return float(r["value"].iloc[0])

    assert res.loglik == pytest.approx(val("loglik"), abs=1e-4)
    assert res.nobs == int(val("nobs"))
    assert res.is_singular == bool(val("singular"))
    for name, row in res.fixed.iterrows():
        assert row["estimate"] == pytest.approx(val("fixef", name), rel=1e-4), name
        assert row["se"] == pytest.approx(val("se", name), rel=1e-4), name
    group = res.varcorr["group"].iloc[0]
    for _, r in res.varcorr.iterrows():
        v1 = r["var1"] if isinstance(r["var1"], str) else ""
        v2 = r["var2"] if isinstance(r["var2"], str) else ""
        name1 = f"{r['group']}|{v1}" if r["group"] == group else "Residual|"
        if v2:
            assert r["sdcor"] == pytest.approx(val("sdcor", name1, v2), abs=1e-3)
        else:
            assert r["vcov"] == pytest.approx(val("vcov", name1, v2), rel=1e-3), name1
    assert res.sigma2 == pytest.approx(val("sigma2"), rel=1e-3)


def test_mundlak_within_equals_fixed_effects(ref, data):
    """With the firm means added, the RE coefficients of value and capital are the within (FE) ones."""
    res = mh.fit(MODELS["grunfeld_mundlak_reml"][1], data["grunfeld"])
    fe = smf.ols("invest ~ value + capital + C(firm)", data["grunfeld"]).fit()
    rows = ref[(ref["model"] == "grunfeld_fe_ols") & (ref["quantity"] == "fixef")].set_index("name1")["value"]
    for name in ("value", "capital"):
        assert fe.params[name] == pytest.approx(float(rows[name]), rel=1e-8)
        assert res.fixed.loc[name, "estimate"] == pytest.approx(fe.params[name], rel=1e-6)
    assert np.isfinite(res.loglik)
