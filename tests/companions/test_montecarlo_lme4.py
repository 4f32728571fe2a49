"""mlm_helpers.montecarlo and mh.fit agree with R's lme4 on data sets from the simulator.

The data are replication 0 of ``montecarlo.simulate_dataset(J, m, rep=0, seed=...)`` (one of them,
"10x5s", gives a singular fit), stored in
tests/reference/montecarlo_<J>x<m>.csv; tests/reference/lme4_montecarlo.R fits
``y ~ x * w + (1 + x | g)`` with lme4 and writes tests/reference/lme4_montecarlo.csv.
Tolerances: log-likelihood 1e-4 absolute; fixed effects and SEs 1e-4 relative; variance
components 1e-3 relative (1e-6 absolute near 0); singular flag equal.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers import montecarlo

REF = Path(__file__).parents[1] / "reference"
CELLS = {"30x5": (30, 5, 12), "20x30": (20, 30, 12), "10x5": (10, 5, 3), "10x5s": (10, 5, 6)}  # 10x5s: singular
FIXED_NAMES = {"(Intercept)": "Intercept", "x": "x", "w": "w", "x:w": "x:w"}
MC_FIXED = dict(zip(["(Intercept)", "x", "w", "x:w"], montecarlo.FIXED, strict=True))
VC = {("g|(Intercept)", ""): "tau00", ("g|(Intercept)", "x"): "tau01", ("g|x", ""): "tau11",
      ("Residual|NA", ""): "sigma2"}


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(REF / "lme4_montecarlo.csv", keep_default_na=False, na_values=[""])


def _get(ref, model, quantity, name1="", name2=""):
    r = ref[(ref.model == model) & (ref.quantity == quantity)]
    if name1:
        r = r[r.name1 == name1]
    if quantity == "vcov":
        r = r[r.name2.fillna("") == name2]
    assert len(r) == 1, (model, quantity, name1, name2)
    return float(r.value.iloc[0])


@pytest.mark.parametrize("cell", CELLS)
def test_stored_data_are_the_simulator_output(cell):
    J, m, seed = CELLS[cell]
    stored = pd.read_csv(REF / f"montecarlo_{cell}.csv")
    fresh = montecarlo.simulate_dataset(J, m, rep=0, seed=seed)
    pd.testing.assert_frame_equal(stored, fresh.reset_index(drop=True), check_exact=False, rtol=1e-15)


def _variances(res):
    vc = res.varcorr
    out = {}
    for _, row in vc.iterrows():
        if row["group"] == "Residual":
            out["sigma2"] = row["vcov"]
        elif pd.isna(row["var2"]):
            out["tau00" if row["var1"] == "Intercept" else "tau11"] = row["vcov"]
        else:
            out["tau01"] = row["vcov"]
    return out


@pytest.mark.parametrize("engine", ["fast", "statsmodels"])
@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("cell", CELLS)
def test_mh_fit_matches_lme4(ref, cell, reml, engine):
    model = f"mc_{cell}_{'reml' if reml else 'ml'}"
    singular = bool(_get(ref, model, "singular"))
    if engine == "statsmodels" and singular:
        pytest.skip("statsmodels cannot reach a boundary optimum exactly")
    data = pd.read_csv(REF / f"montecarlo_{cell}.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mh.FewGroupsWarning)
        warnings.simplefilter("ignore", mh.SingularFitWarning)
        warnings.simplefilter("ignore", mh.ConvergenceWarning)
        res = mh.fit("y ~ x * w + (1 + x | g)", data, reml=reml, engine=engine)
    assert res.loglik == pytest.approx(_get(ref, model, "loglik"), abs=1e-4)
    assert bool(res.is_singular) == singular
    for lme4_name, ours in FIXED_NAMES.items():
        assert res.fixed.loc[ours, "estimate"] == pytest.approx(_get(ref, model, "fixef", lme4_name), rel=1e-4)
        assert res.fixed.loc[ours, "se"] == pytest.approx(_get(ref, model, "se", lme4_name), rel=1e-4)
    v = _variances(res)
    for (n1, n2), name in VC.items():
        assert v[name] == pytest.approx(_get(ref, model, "vcov", n1, n2), rel=1e-3, abs=1e-6)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("cell", CELLS)
def test_montecarlo_engine_matches_lme4(ref, cell, reml):
    J, m, seed = CELLS[cell]
    model = f"mc_{cell}_{'reml' if reml else 'ml'}"
    row = montecarlo.run_design(J, m, n_reps=1, seed=seed, reml=reml).iloc[0]
    assert bool(row["singular"]) == bool(_get(ref, model, "singular"))
    for lme4_name, ours in MC_FIXED.items():
        assert row[f"est_{ours}"] == pytest.approx(_get(ref, model, "fixef", lme4_name), rel=1e-4)
        assert row[f"se_{ours}"] == pytest.approx(_get(ref, model, "se", lme4_name), rel=1e-4)
    for (n1, n2), name in VC.items():
        assert row[f"est_{name}"] == pytest.approx(_get(ref, model, "vcov", n1, n2), rel=1e-3, abs=1e-6)
    assert np.isfinite(row["se_gamma11"])
    assert np.isfinite(row["se_tau00"]) != bool(row["singular"])  # no variance SEs at a singular fit
