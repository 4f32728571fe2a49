"""The digits policy's helpers: R-style significance, agreement statements, Monte Carlo rounding."""

from __future__ import annotations

import numpy as np
import pytest

import mlm_helpers as mh
from mlm_helpers.numbers import agreement, format_column, mc_rate, round_to_se, signif, unsigned_zero


@pytest.mark.parametrize("values, digits, expected", [
    # lme4's summary(sleepstudy fit): Variance and Std.Dev. columns (print digits 4)
    ([612.0899, 35.0717, 654.941], 4, ["612.09", "35.07", "654.94"]),
    ([24.7405, 5.92213, 25.5918], 4, ["24.741", "5.922", "25.592"]),
    # trailing zeros do not ask for decimals: R's format(c(2, 0.5), digits = 4) is "2.0" "0.5"
    ([2.0, 0.5], 4, ["2.0", "0.5"]),
    ([0.0, 13.8063], 4, ["0.00", "13.81"]),
])
def test_format_column_follows_r(values, digits, expected):
    assert format_column(values, digits) == expected


def test_no_signed_zeros():
    assert format_column([-0.0, 12.5], 3) == ["0.0", "12.5"]
    assert unsigned_zero("-0.00") == "0.00" and unsigned_zero("-0.01") == "-0.01"
    assert signif(-0.0) == "0"


def test_agreement_is_stable_for_rounding_noise():
    rng = np.random.default_rng(1)
    a = rng.normal(size=50)
    for noise in (1e-16, 5e-15, 3e-14):  # differences a machine's rounding makes
        assert agreement(a, a + noise) == "agree to within 1e-12"
    assert agreement(a, a + 2e-5) == "agree to within 1e-4"
    assert agreement(1.0, 3.0).startswith("differ by up to 2")


def test_monte_carlo_rates_round_to_their_standard_error():
    # the knife-edge of issue 11: 448 or 447 singular fits of 1000 print the same
    assert mc_rate(448, 1000) == mc_rate(447, 1000) == "45% (Monte Carlo SE 2%)"
    assert mc_rate(0, 1000).startswith("0.0%")
    assert round_to_se(0.5412, 0.0157) == ("0.54", "0.02")
    assert mh.numbers.mc_mean([1.0, 1.0, 1.0]).startswith("1")
