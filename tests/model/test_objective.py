"""mh.profiled_deviance and mh.deviance_parts against lme4's devfun and pieces
(tests/reference/lme4_objective.R -> lme4_objective.csv), and their input checks."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers.errors import MLMInputError

REF = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "lme4_objective.csv",
                  keep_default_na=False)
MODELS = {
    "dyestuff": ("Yield ~ 1 + (1 | Batch)", "dyestuff"),
    "dyestuff2": ("Yield ~ 1 + (1 | Batch)", "dyestuff2"),
    "hsb_ses": ("MathAch ~ SES + (1 | School)", "hsb"),
    "sleep_rs": ("Reaction ~ Days + (Days | Subject)", "sleepstudy"),
}


@cache
def _fit(model: str, reml: bool = True):
    formula, data = MODELS[model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few groups, singular fit: not the point here
        return mh.fit(formula, mh.load_dataset(data), reml=reml)


def _rows(quantity: str) -> pd.DataFrame:
    return REF[REF["quantity"] == quantity]


@pytest.mark.parametrize("row", list(_rows("deviance").itertuples()), ids=lambda r: f"{r.model}-{r.name1}-{r.name2}")
def test_deviance_matches_lme4_devfun(row) -> None:
    theta = [float(t) for t in str(row.name2).split(";")]
    fit = _fit(row.model)
    value = mh.profiled_deviance(fit, theta, reml=row.name1 == "REML")
    assert isinstance(value, float)
    assert value == pytest.approx(float(row.value), rel=1e-9, abs=1e-7)


@pytest.mark.parametrize("model", list(MODELS))
def test_deviance_at_the_fit_is_minus_twice_its_loglik(model) -> None:
    for reml in (True, False):
        fit = _fit(model, reml)
        assert mh.profiled_deviance(fit, fit.theta) == pytest.approx(-2 * fit.loglik, rel=1e-10)


def test_a_grid_gives_one_value_per_row() -> None:
    fit = _fit("dyestuff")
    grid = np.linspace(0, 2, 5)
    values = mh.profiled_deviance(fit, grid)
    assert values.shape == (5,)
    assert values[2] == pytest.approx(mh.profiled_deviance(fit, 1.0))
    rs = _fit("sleep_rs")
    two = mh.profiled_deviance(rs, np.array([[1.0, 0.0, 1.0], [0.97, 0.015, 0.23]]))
    ref = _rows("deviance").query("model == 'sleep_rs' and name1 == 'REML'")["value"].to_numpy(float)
    np.testing.assert_allclose(two, ref, rtol=1e-9)


def test_crossed_models_use_the_general_deviance() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pen = mh.fit("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"))
    assert mh.profiled_deviance(pen, [1.0, 1.0]) == pytest.approx(365.073413956823, rel=1e-9)  # lme4_issue17.csv
    with pytest.raises(MLMInputError, match="one grouping factor"):
        mh.deviance_parts(pen, [1.0, 1.0])


@pytest.mark.parametrize("model", list(MODELS))
def test_parts_at_the_optimum_match_lme4(model) -> None:
    fit = _fit(model)
    theta = _rows("theta").query("model == @model")["value"].to_numpy(float)
    parts = mh.deviance_parts(fit, theta)
    rx = _rows("RX").query("model == @model")
    p = parts.p
    lme4_rx = np.zeros((p, p))
    for r in rx.itertuples():
        lme4_rx[int(r.name1) - 1, int(r.name2) - 1] = float(r.value)
    # lme4's RX is upper triangular (R'R); ours is lower (R R'): the transpose, up to the signs of rows
    np.testing.assert_allclose(np.abs(parts.RX.T), np.abs(lme4_rx), rtol=1e-4, atol=1e-6)
    pwrss = float(_rows("pwrss").query("model == @model")["value"].iloc[0])
    assert parts.r2 == pytest.approx(pwrss, rel=1e-5)
    assert parts.fixed == pytest.approx(fit.fixed["estimate"].to_numpy(), rel=1e-5, abs=1e-8)
    assert parts.sigma2 == pytest.approx(fit.sigma2, rel=1e-5)


def test_parts_shapes_and_identities() -> None:
    fit = _fit("dyestuff")
    parts = mh.deviance_parts(fit, fit.theta)
    assert parts.L.shape == (6, 1, 1) and parts.RZX.shape == (6, 1, 1) and parts.cu.shape == (6, 1)
    assert parts.n == 30 and parts.p == 1 and parts.reml
    ss_y = float((fit.model.y ** 2).sum())
    assert parts.r2 == pytest.approx(ss_y - (parts.cu ** 2).sum() - (parts.cbeta ** 2).sum())
    ml = mh.deviance_parts(fit, fit.theta, reml=False)
    assert ml.sigma2 == pytest.approx(parts.r2 / 30) and not ml.reml


@pytest.mark.parametrize("model, theta, match", [
    ("sleep_rs", [0.5, 0.5], r"theta has shape \(2,\); this model .* has 3 theta .* length 3 for one point"),
    ("dyestuff", [[0.5, 0.5]], r"has 1 theta .* a 1-D array is a grid"),
    ("dyestuff", "a", "theta must be numbers"),
    ("dyestuff", [np.nan], "finite"),
])
def test_bad_theta_names_the_fix(model, theta, match) -> None:
    with pytest.raises(MLMInputError, match=match):
        mh.profiled_deviance(_fit(model), theta)


def test_bad_reml_and_grids_for_parts() -> None:
    fit = _fit("dyestuff")
    with pytest.raises(MLMInputError, match="reml must be"):
        mh.profiled_deviance(fit, 1.0, reml="yes")
    with pytest.raises(MLMInputError, match="one theta"):
        mh.deviance_parts(fit, [0.5, 1.0])
