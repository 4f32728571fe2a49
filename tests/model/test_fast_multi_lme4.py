"""The fast engine on crossed, nested and three-level models agrees with R's lme4 (issue 16).

References: tests/reference/lme4_issue16.csv, made by tests/reference/lme4_issue16.R from
Penicillin, Pastes and three data sets it draws (seeded) and stores next to itself. Tolerances:
log-likelihood 1e-6 relative (and never below lme4's by more than that), fixed effects and their
SEs 1e-4 relative, variance components 1e-3 relative (1e-3 absolute in correlation for
covariances), singular flag equal.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers.errors import MLMInputError
from mlm_helpers.model import deviance
from mlm_helpers.model.frame import build_model

REF = Path(__file__).parents[1] / "reference"
MODELS = {
    "penicillin_reml": ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", True),
    "penicillin_ml": ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", False),
    "pastes_nested_reml": ("pastes", "strength ~ 1 + (1 | batch/cask)", True),
    "pastes_sample_reml": ("pastes", "strength ~ 1 + (1 | batch) + (1 | sample)", True),
    "pastes_sample_ml": ("pastes", "strength ~ 1 + (1 | batch) + (1 | sample)", False),
    "crossed_slopes_reml": ("crossed_slopes", "y ~ x + (1 + x | subj) + (1 | item)", True),
    "crossed_slopes_ml": ("crossed_slopes", "y ~ x + (1 + x | subj) + (1 | item)", False),
    "crossed_slopes_both_reml": ("crossed_slopes", "y ~ x + (1 + x | subj) + (1 + x | item)", True),
    "crossed_uncorr_reml": ("crossed_slopes", "y ~ x + (x || subj) + (1 | item)", True),
    "crossed_singular_reml": ("crossed_slopes", "y_null ~ x + (1 | subj) + (1 | item)", True),
    "three_level_reml": ("three_level", "y ~ w + x + (1 | school) + (1 | class)", True),
    "three_level_ml": ("three_level", "y ~ w + x + (1 | school) + (1 | class)", False),
    "three_level_slope_reml": ("three_level", "y ~ w + x + (1 + x | school) + (1 | class)", True),
    "crossed_large_reml": ("crossed_large", "y ~ x + (1 | a) + (1 | b)", True),
    "crossed_large_ml": ("crossed_large", "y ~ x + (1 | a) + (1 | b)", False),
}
GROUPS = {"subj": str, "item": str, "school": str, "class": str, "a": str, "b": str}


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(REF / "lme4_issue16.csv", keep_default_na=False, na_values=["NA"])


def _data(key: str) -> pd.DataFrame:
    if key in ("penicillin", "pastes"):
        return mh.load_dataset(key)
    return pd.read_csv(REF / f"issue16_{key}.csv", dtype=GROUPS)


def _fit(model_id: str, **kw) -> mh.MixedResult:
    key, formula, reml = MODELS[model_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mh.fit(formula, _data(key), reml=reml, engine="fast", **kw)


def _norm(group: str) -> str:
    """lme4 writes nested factors inside-out (cask:batch) and numbers uncorrelated terms apart."""
    grp, _, var = group.partition("|")
    base = grp.split(".")[0]
    return ":".join(sorted(base.split(":"))) + "|" + var


@pytest.mark.parametrize("model_id", list(MODELS))
def test_fast_engine_matches_lme4(model_id, ref):
    res = _fit(model_id)
    rows = ref[ref["model"] == model_id]

    def val(q, n1="", n2=""):
        r = rows[(rows["quantity"] == q) & (rows["name1"] == n1) & (rows["name2"] == n2)]
        assert len(r) == 1, (q, n1, n2)
        return float(r["value"].iloc[0])

    assert res.engine == "fast" and res.converged
    assert res.loglik == pytest.approx(val("loglik"), rel=1e-6)
    assert res.loglik >= val("loglik") - 1e-6 * abs(val("loglik"))
    assert res.is_singular == bool(val("singular"))
    for name, row in res.fixed.iterrows():
        assert row["estimate"] == pytest.approx(val("fixef", name), rel=1e-4, abs=1e-6), name
        assert row["se"] == pytest.approx(val("se", name), rel=1e-4), name
    ours = {}
    for _, r in res.varcorr.iloc[:-1].iterrows():
        v2 = r["var2"] if isinstance(r["var2"], str) else ""
        ours[(_norm(f"{r['group']}|{r['var1']}"), v2)] = (r["vcov"], r["sdcor"])
    vc = rows[rows["quantity"] == "vcov"]
    sd = rows[rows["quantity"] == "sdcor"]
    for (_, v), (_, s) in zip(vc.iterrows(), sd.iterrows(), strict=True):
        if v["name1"].startswith("Residual"):
            continue
        vcov, sdcor = ours[(_norm(v["name1"]), v["name2"])]
        if v["name2"]:
            assert sdcor == pytest.approx(s["value"], abs=1e-3), v["name1"]
        else:
            assert vcov == pytest.approx(v["value"], rel=1e-3, abs=1e-6 * res.sigma2), v["name1"]
    assert res.sigma2 == pytest.approx(val("sigma2"), rel=1e-4)


@pytest.mark.parametrize("mode_setting", [("DENSE_MAX_Q", 0), ("NESTED_MIN_Q", 0), ("NESTED_MIN_Q", 10**9)])
def test_every_factorisation_gives_the_same_fit(monkeypatch, mode_setting):
    """The dense, nested (block-diagonal) and sparse forms of the later block agree."""
    model_id = "three_level_slope_reml"
    base = _fit(model_id)
    monkeypatch.setattr(deviance, *mode_setting)
    other = _fit(model_id)
    assert other.loglik == pytest.approx(base.loglik, rel=1e-10)
    np.testing.assert_allclose(other.fixed["estimate"], base.fixed["estimate"], rtol=1e-7)
    for g in ("school", "class"):
        np.testing.assert_allclose(other.ranef[g].to_numpy(), base.ranef[g].to_numpy(), rtol=1e-5, atol=1e-8)


def test_setup_orders_blocks_and_detects_nesting():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = build_model("y ~ w + x + (1 | school) + (1 | class)", _data("three_level"))
    s = deviance.general_setup(m)
    assert [m.blocks[i].group for i in s.order] == ["class", "school"]
    assert s.mode == "dense"  # 100 schools: the dense form
    big = build_model("y ~ x + (1 | a) + (1 | b)", _data("crossed_large"))
    assert deviance.general_setup(big).mode == "dense"


def test_refit_and_refit_many_reuse_the_setup():
    res = _fit("crossed_slopes_reml")
    Y = res.simulate(3, seed=4)
    table = res.refit_many(Y)
    for r in range(3):
        one = mh.fit(res.formula, res.model.data.assign(y=Y[r]), engine="fast")
        assert table.loc[r, "loglik"] == pytest.approx(one.loglik, rel=1e-9)
        assert table.loc[r, "x"] == pytest.approx(one.fixed.loc["x", "estimate"], rel=1e-6)
    assert res.refit(Y[0], warn=False).optsummary.engine == "fast"


def test_with_response_equals_a_fresh_setup():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = build_model("y ~ w + x + (1 + x | school) + (1 | class)", _data("three_level"))
    y2 = m.y[::-1].copy()
    a = deviance.general_setup(m).with_response(y2)
    b = deviance.general_setup(m, y=y2)
    theta = np.array([0.5, 0.1, 0.2, 0.4])
    assert deviance.general_pieces(a, theta, True)["deviance"] == pytest.approx(
        deviance.general_pieces(b, theta, True)["deviance"], rel=1e-12)


@pytest.mark.parametrize("column, message", [("one", "single level"), ("row", "exactly one row")])
def test_degenerate_factors_are_refused(column, message):
    d = _data("crossed_slopes").assign(one="all", row=lambda df: [f"r{i}" for i in range(len(df))])
    with pytest.raises(MLMInputError, match=message):
        mh.fit(f"y ~ x + (1 | subj) + (1 | {column})", d, engine="fast")


def test_evaluation_budget_of_the_search():
    """The search's evaluations (issue 16b): forward-difference L-BFGS-B, then a Newton polish whose
    value, gradient and Hessian come from one stencil; Penicillin took about 150 before."""
    res = _fit("penicillin_reml")
    assert res.optsummary.converged and res.optsummary.n_evals <= 80
