"""mh.fit(ddf=...), mh.wald_test and mh.r2 against lmerTest, pbkrtest and performance (tests/reference/lme4_inference.R)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import mlm_helpers as mh

REF = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "lme4_inference.csv", keep_default_na=False)


def _hsb():
    hsb = mh.load_dataset("hsb").merge(mh.load_dataset("hsb_schools")[["School", "Sector"]], on="School")
    hsb["SES_c"] = hsb["SES"] - hsb.groupby("School")["SES"].transform("mean")
    return hsb


MODELS = {
    "sleep": ("Reaction ~ Days + (Days | Subject)", lambda: mh.load_dataset("sleepstudy")),
    "pastes": ("strength ~ 1 + (1 | batch) + (1 | sample)", lambda: mh.load_dataset("pastes")),
    "penicillin": ("diameter ~ 1 + (1 | plate) + (1 | sample)", lambda: mh.load_dataset("penicillin")),
    "hsb": ("MathAch ~ SES_c + MEANSES + Sector + (1 | School)", _hsb),
}


def _fit(model_id: str, ddf: str):
    formula, data = MODELS[model_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mh.fit(formula, data(), ddf=ddf)


def _ref(model_id: str, quantity: str, name: str) -> float:
    r = REF[(REF.model == model_id) & (REF.quantity == quantity) & (REF.name1 == name)]
    return float(r["value"].iloc[0])


@pytest.mark.parametrize("model_id", sorted(MODELS))
@pytest.mark.parametrize(("tag", "ddf"), [("satt", "satterthwaite"), ("kr", "kenward-roger")])
def test_df_se_p_match_r(model_id, tag, ddf):
    fx = _fit(model_id, ddf).fixed
    for term in fx.index:
        assert fx.loc[term, "df"] == pytest.approx(_ref(model_id, f"{tag}_df", term), rel=0.01)
        assert fx.loc[term, "p"] == pytest.approx(_ref(model_id, f"{tag}_p", term), rel=0.02)
        assert fx.loc[term, "se"] == pytest.approx(_ref(model_id, f"{tag}_se", term), rel=1e-4)


@pytest.mark.parametrize(("model_id", "terms"), [("hsb", ["MEANSES", "Sector[T.Public]"]),
                                                 ("sleep", ["Intercept", "Days"])])
@pytest.mark.parametrize(("tag", "ddf"), [("satt", "satterthwaite"), ("kr", "kenward-roger")])
def test_joint_f_tests_match_r(model_id, terms, tag, ddf):
    out = mh.wald_test(_fit(model_id, ddf), terms).iloc[0]
    key = "+".join(terms)
    assert out["statistic"] == pytest.approx(_ref(model_id, f"{tag}_F", key), rel=1e-4)
    assert out["den_df"] == pytest.approx(_ref(model_id, f"{tag}_ddf", key), rel=0.01)
    assert out["p"] == pytest.approx(_ref(model_id, f"{tag}_Fp", key), rel=0.02)


@pytest.mark.parametrize("model_id", ["sleep", "hsb"])
def test_r2_matches_performance(model_id):
    out = mh.r2(_fit(model_id, "normal"))
    assert out["marginal"] == pytest.approx(_ref(model_id, "r2_marginal", ""), abs=1e-4)
    assert out["conditional"] == pytest.approx(_ref(model_id, "r2_conditional", ""), abs=1e-4)


PROFILE_MODELS = {
    "sleep": MODELS["sleep"],
    "dyestuff": ("Yield ~ 1 + (1 | Batch)", lambda: mh.load_dataset("dyestuff")),
    "penicillin": MODELS["penicillin"],
    "hsb": MODELS["hsb"],
}


@pytest.mark.parametrize("model_id", sorted(PROFILE_MODELS))
def test_profile_intervals_match_lme4(model_id):
    """lme4's confint(method = "profile") (of the ML refit, as lme4): every end within 1e-3 relative."""
    formula, data = PROFILE_MODELS[model_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mh.fit(formula, data())
    ci = mh.confint(res, method="profile")
    rows = REF[(REF.model == model_id) & REF.quantity.str.startswith("profile_")]
    assert set(rows.name1) == set(ci.index)
    for _, r in rows.iterrows():
        col = "lower" if r.quantity == "profile_lower" else "upper"
        assert ci.loc[r.name1, col] == pytest.approx(float(r.value), rel=1e-3), (r.name1, col)
