"""Crossed and three-level designs agree with R's lme4 (tests/reference/lme4_crossed_nested.csv).

The data are two seeded draws of mlm_helpers.designs stored as CSV next to the R script
(tests/reference/lme4_crossed_nested.R). Tolerances as tests/model/test_reference_lme4.py:
log-likelihood 1e-4 absolute, fixed effects and SEs 1e-4 relative, variance components 1e-3
relative, singular flag equal. Checked: mh.fit (statsmodels path for several factors, fast
engine for one) and the intercepts engine.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import mlm_helpers as mh

REF = Path(__file__).parents[1] / "reference"
# id -> (data file, response, groups, predictors)
MODELS = {
    "crossed_reml": ("designs_crossed", ["student", "rater"], ["x_student", "x_rater"], True),
    "crossed_ml": ("designs_crossed", ["student", "rater"], ["x_student", "x_rater"], False),
    "crossed_student_only_reml": ("designs_crossed", ["student"], ["x_student", "x_rater"], True),
    "three_level_reml": ("designs_three_level", ["school", "class"], ["w", "x"], True),
    "three_level_ml": ("designs_three_level", ["school", "class"], ["w", "x"], False),
    "three_level_class_only_reml": ("designs_three_level", ["class"], ["w", "x"], True),
}


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REF / "lme4_crossed_nested.csv", keep_default_na=False, na_values=["NA"])


def _data(name: str) -> pd.DataFrame:
    groups = {"student": str, "rater": str, "school": str, "class": str}
    return pd.read_csv(REF / f"{name}.csv", dtype=groups)


def _val(ref: pd.DataFrame, q: str, n1: str = "") -> float:
    r = ref[(ref["quantity"] == q) & (ref["name1"] == n1)]
    assert len(r) == 1, (q, n1)
    return float(r["value"].iloc[0])


def _check(ref, loglik, singular, fixed, variances, sigma2):
    assert loglik == pytest.approx(_val(ref, "loglik"), abs=1e-4)
    assert singular == bool(_val(ref, "singular"))
    for name, row in fixed.iterrows():
        assert row["estimate"] == pytest.approx(_val(ref, "fixef", name), rel=1e-4), name
        assert row["se"] == pytest.approx(_val(ref, "se", name), rel=1e-4), name
    for group, v in variances.items():
        assert v == pytest.approx(_val(ref, "vcov", f"{group}|Intercept"), rel=1e-3), group
    assert sigma2 == pytest.approx(_val(ref, "sigma2"), rel=1e-3)


@pytest.mark.parametrize("model_id", list(MODELS))
def test_intercepts_engine_matches_lme4(model_id, reference):
    name, groups, preds, reml = MODELS[model_id]
    formula = "y ~ " + " + ".join(preds) + "".join(f" + (1 | {g})" for g in groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mh.SingularFitWarning)
        res = mh.fit(formula, _data(name), reml=reml, engine="intercepts")
    vc = res.varcorr
    v = pd.Series(vc["vcov"].iloc[:-1].to_numpy(), index=vc["group"].iloc[:-1])
    _check(reference[reference["model"] == model_id], res.loglik, res.is_singular, res.fixed, v, res.sigma2)


@pytest.mark.parametrize("model_id", list(MODELS))
def test_mh_fit_matches_lme4(model_id, reference):
    name, groups, preds, reml = MODELS[model_id]
    formula = "y ~ " + " + ".join(preds) + "".join(f" + (1 | {g})" for g in groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mh.ConvergenceWarning)
        res = mh.fit(formula, _data(name), reml=reml)
    vc = res.varcorr.iloc[:-1]
    variances = pd.Series(vc["vcov"].to_numpy(), index=vc["group"].to_numpy())
    ref = reference[reference["model"] == model_id]
    assert res.loglik == pytest.approx(_val(ref, "loglik"), abs=1e-4)
    for group, v in variances.items():
        assert v == pytest.approx(_val(ref, "vcov", f"{group}|Intercept"), rel=1e-3), group
    for name_, row in res.fixed.iterrows():
        assert row["estimate"] == pytest.approx(_val(ref, "fixef", name_), rel=1e-4), name_
        assert row["se"] == pytest.approx(_val(ref, "se", name_), rel=1e-4), name_
    assert res.is_singular == bool(_val(ref, "singular"))


def test_mh_fit_labels_in_formula_order(reference):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mh.ConvergenceWarning)
        res = mh.fit("y ~ x_student + x_rater + (1 | student) + (1 | rater)", _data("designs_crossed"))
    ref = reference[reference["model"] == "crossed_reml"]
    vc = res.varcorr.set_index("group")["vcov"]
    assert vc["student"] == pytest.approx(_val(ref, "vcov", "student|Intercept"), rel=1e-3)
    assert res.fixed.loc["x_rater", "se"] == pytest.approx(_val(ref, "se", "x_rater"), rel=1e-4)
