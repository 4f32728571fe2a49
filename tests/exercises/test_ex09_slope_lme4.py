"""ex-09-slope (chapter 09): the registered answers come from a fit that agrees with lme4.

The data (tests/reference/ex09_slope_pupils.csv) are chapter 09's pupils with a school-level
random slope of x added as the exercise says; tests/reference/lme4_ex09_slope.R fits them with lme4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlm_helpers import designs, exercises

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def lme4() -> pd.DataFrame:
    return pd.read_csv(REF / "lme4_ex09_slope.csv", keep_default_na=False, na_values=["NA"])


def _value(lme4: pd.DataFrame, quantity: str, name1: str = "", name2: str = "") -> float:
    row = lme4[(lme4["quantity"] == quantity) & (lme4["name1"] == name1) & (lme4["name2"] == name2)]
    assert len(row) == 1, (quantity, name1, name2)
    return float(row["value"].iloc[0])


def test_reference_data_are_the_exercise_construction() -> None:
    pupils = designs.simulate_three_level(20, 3, 10, tau_school=4, tau_class=2, sigma2=20,
                                          school_effect=1.0, pupil_effect=2.0, seed=9)
    slope = np.random.default_rng(19).normal(0, 1, 20)
    pupils["y"] += slope[pupils["school"].str[1:].astype(int)] * pupils["x"]
    stored = pd.read_csv(REF / "ex09_slope_pupils.csv")
    assert np.allclose(stored["y"], pupils["y"], rtol=0, atol=1e-7)
    assert (stored["school"] == pupils["school"].astype(str)).all()


def test_registered_answers_match_lme4(lme4) -> None:
    t00 = _value(lme4, "vcov", "school|Intercept")
    t11 = _value(lme4, "vcov", "school|x")
    t01 = _value(lme4, "vcov", "school|Intercept", "x")
    t_u = _value(lme4, "vcov", "class|Intercept")
    s2 = _value(lme4, "sigma2")
    assert exercises.reference_answer("ex-09-slope", "tau11") == pytest.approx(t11, rel=1e-3)
    for x in (0, 2):
        school = t00 + 2 * t01 * x + t11 * x**2
        total = school + t_u + s2
        assert exercises.reference_answer("ex-09-slope", f"vpc_school_{x}") == pytest.approx(school / total, abs=1e-4)
    total0 = t00 + t_u + s2
    assert exercises.reference_answer("ex-09-slope", "vpc_class_0") == pytest.approx(t_u / total0, abs=1e-4)
    assert exercises.reference_answer("ex-09-slope", "vpc_pupil_0") == pytest.approx(s2 / total0, abs=1e-4)
