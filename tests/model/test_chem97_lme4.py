"""The capstone's models (chapter 14, mlmRev's Chem97) agree with R's lme4 (tests/reference/lme4_chem97.csv).

The reference is written by tests/reference/lme4_chem97.R from the package's chem97 data, with the
predictors built as the chapter builds them. Every estimate the chapter shows is compared: the
log-likelihood (1e-4 absolute), AIC and BIC, fixed effects and their SEs (1e-4 relative), variance
components (1e-3 relative), correlations (1e-3 absolute), and the singular flag. Fast engine only:
the chapter uses it, and statsmodels takes minutes on 2,410 schools.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import mlm_helpers as mh

HERE = Path(__file__).parents[1] / "reference"
M1 = "score ~ gcse_c + gcse_gm + (1 | school)"
M2 = "score ~ gcse_c + gcse_gm + (1 + gcse_c | school)"
M3 = "score ~ gcse_c + gcse_gm + gender + (1 + gcse_c | school)"
MODELS = {
    "chem_null_reml": ("score ~ 1 + (1 | school)", True),
    "chem_gender_reml": ("score ~ gender + (1 | school)", True),
    "chem_m1_reml": (M1, True),
    "chem_m1_ml": (M1, False),
    "chem_m2_reml": (M2, True),
    "chem_m2_ml": (M2, False),
    "chem_m3_reml": (M3, True),
    "chem_m3_ml": (M3, False),
    "chem_lea_reml": ("score ~ gcse_c + gcse_gm + (1 | lea) + (1 | school)", True),
}


def _lme4_name(name: str) -> str:
    return name.replace("gender[T.M]", "genderM")


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(HERE / "lme4_chem97.csv", keep_default_na=False, na_values=["NA"])


@pytest.fixture(scope="module")
def chem() -> pd.DataFrame:
    data = mh.load_dataset("chem97")
    data["gcse"] = data["gcsescore"] - data["gcsescore"].mean()
    return mh.centre_within(data, "gcse", "school")


def test_reference_covers_every_model(ref):
    assert set(ref["model"]) == set(MODELS)


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_matches_lme4(model_id, ref, chem):
    formula, reml = MODELS[model_id]
    res = mh.fit(formula, chem, reml=reml, engine="fast")
    rows = ref[ref["model"] == model_id]

    def val(q, n1="", n2=""):
        r = rows[(rows["quantity"] == q) & (rows["name1"] == n1) & (rows["name2"] == n2)]
        assert len(r) == 1, (q, n1, n2)
        return float(r["value"].iloc[0])

    assert res.loglik == pytest.approx(val("loglik"), abs=1e-4)
    if not reml:  # AIC and BIC as lme4 computes them (from the ML log-likelihood)
        assert res.aic == pytest.approx(val("aic"), abs=1e-3)
        assert res.bic == pytest.approx(val("bic"), abs=1e-3)
    assert res.nobs == int(val("nobs")) == 31022
    assert val("ngroups", "school") == 2410
    assert res.is_singular == bool(val("singular"))
    for name, row in res.fixed.iterrows():
        assert row["estimate"] == pytest.approx(val("fixef", _lme4_name(name)), rel=1e-4), name
        assert row["se"] == pytest.approx(val("se", _lme4_name(name)), rel=1e-4), name
    for _, r in res.varcorr.iterrows():
        v1 = r["var1"] if isinstance(r["var1"], str) else ""
        v2 = r["var2"] if isinstance(r["var2"], str) else ""
        name1 = "Residual|" if r["group"] == "Residual" else f"{r['group']}|{v1}"
        if v2:
            assert r["sdcor"] == pytest.approx(val("sdcor", name1, v2), abs=1e-3)
            assert r["vcov"] == pytest.approx(val("vcov", name1, v2), rel=1e-3)
        else:
            assert r["vcov"] == pytest.approx(val("vcov", name1), rel=1e-3), name1
            assert r["sdcor"] == pytest.approx(val("sdcor", name1), rel=1e-3), name1
    assert res.sigma2 == pytest.approx(val("sigma2"), rel=1e-3)
