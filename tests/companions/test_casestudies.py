"""Tests of mlm_helpers.casestudies: simulators recover their generating values; new_group_effect."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import mlm_helpers as mh
from mlm_helpers import casestudies as cs


def test_hospitals_structure_and_truth():
    d = cs.simulate_hospitals(n_hospitals=12, size_range=(30, 40), seed=3)
    assert d["hospital"].nunique() == 12
    sizes = d.groupby("hospital").size()
    assert sizes.between(30, 40).all()
    # 1:1 randomisation within every hospital
    arms = d.groupby("hospital")["treat"].agg(["sum", "size"])
    assert ((arms["sum"] - arms["size"] / 2).abs() <= 0.5).all()
    assert d.attrs["truth"]["ate"] == cs.HOSPITAL_TRUTH["ate"]
    assert len(d.attrs["hospital_effects"]) == 12
    assert np.allclose(d["age"] - d["age_c"], 65) and np.allclose(d["baseline"] - d["baseline_c"], 155)


def test_hospitals_seed_is_reproducible_and_overrides():
    a = cs.simulate_hospitals(seed=5)
    b = cs.simulate_hospitals(seed=5)
    assert a.equals(b)
    c = cs.simulate_hospitals(seed=5, sd_effect=0)
    assert np.allclose(c.attrs["hospital_effects"], cs.HOSPITAL_TRUTH["ate"])


def test_hospitals_recover_generating_values():
    d = cs.simulate_hospitals(n_hospitals=200, size_range=(60, 80), seed=11)
    res = mh.fit("reduction ~ treat + age_c + baseline_c + (1 + treat | hospital)", d)
    t = cs.HOSPITAL_TRUTH
    fx = res.fixed
    for name, value in [("Intercept", t["control_mean"]), ("treat", t["ate"]),
                        ("age_c", t["age_effect"]), ("baseline_c", t["baseline_effect"])]:
        assert abs(fx.loc[name, "estimate"] - value) < 3 * fx.loc[name, "se"], name
    vc = res.varcorr["vcov"].to_numpy()
    assert vc[0] == pytest.approx(t["sd_hospital"] ** 2, rel=0.35)
    assert vc[1] == pytest.approx(t["sd_effect"] ** 2, rel=0.35)
    assert res.sigma2 == pytest.approx(t["sigma"] ** 2, rel=0.05)


def test_firms_recover_generating_values():
    d = cs.simulate_firms(n_industries=150, size_range=(40, 60), seed=2)
    assert d["industry"].nunique() == 150
    assert np.allclose(d["rd"] - d["rd_c"], 3) and np.allclose(d["hhi"] - d["hhi_c"], 0.25)
    assert (d.groupby("industry")["hhi"].nunique() == 1).all()
    res = mh.fit("log_prod ~ rd_c * hhi_c + (1 + rd_c || industry)", d)
    t = cs.FIRM_TRUTH
    fx = res.fixed
    for name, value in [("Intercept", t["gamma00"]), ("hhi_c", t["gamma01"]),
                        ("rd_c", t["gamma10"]), ("rd_c:hhi_c", t["gamma11"])]:
        assert abs(fx.loc[name, "estimate"] - value) < 3 * fx.loc[name, "se"], name
    assert res.sigma2 == pytest.approx(t["sigma2"], rel=0.05)
    assert res.varcorr["vcov"].iloc[0] == pytest.approx(t["tau00"], rel=0.35)


@pytest.mark.parametrize("func, bad, match", [
    (cs.simulate_hospitals, {"n_hospitals": 1}, "n_hospitals"),
    (cs.simulate_hospitals, {"size_range": (10, 5)}, "size_range"),
    (cs.simulate_hospitals, {"atee": 3}, "unknown generating value"),
    (cs.simulate_hospitals, {"sigma": 0}, "sigma > 0"),
    (cs.simulate_firms, {"n_industries": 0}, "n_industries"),
    (cs.simulate_firms, {"tau11": -1}, "tau11"),
])
def test_bad_input(func, bad, match):
    with pytest.raises(ValueError, match=match):
        func(**bad)


def test_new_group_effect_formulas():
    d = cs.simulate_hospitals(seed=4)
    res = mh.fit("reduction ~ treat + (1 + treat | hospital)", d)
    e = cs.new_group_effect(res, "treat", level=0.9)
    est, se = res.fixed.loc["treat", ["estimate", "se"]]
    tau = res.varcorr["vcov"].iloc[1]
    z = stats.norm.ppf(0.95)
    assert e["estimate"] == pytest.approx(est) and e["se"] == pytest.approx(se)
    assert e["ci_lower"] == pytest.approx(est - z * se)
    assert e["pi_upper"] == pytest.approx(est + z * np.sqrt(tau + se**2))
    assert e["sd_between"] == pytest.approx(np.sqrt(tau))
    assert e["share_positive"] == pytest.approx(stats.norm.cdf(est / np.sqrt(tau)))
    assert all(isinstance(v, float) for v in e.values())


def test_new_group_effect_bad_input():
    d = cs.simulate_hospitals(seed=4)
    ri = mh.fit("reduction ~ treat + (1 | hospital)", d)
    with pytest.raises(ValueError, match="no random slope"):
        cs.new_group_effect(ri, "treat")
    with pytest.raises(ValueError, match="not a fixed effect"):
        cs.new_group_effect(ri, "dose")
    with pytest.raises(ValueError, match="level"):
        cs.new_group_effect(ri, "treat", level=95)
    with pytest.raises(mh.MLMInputError, match="MixedResult"):
        cs.new_group_effect(d, "treat")
