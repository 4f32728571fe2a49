"""Inference helpers: methods, errors, and seeded coverage simulations."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

import mlm_helpers as mh
from mlm_helpers.errors import MLMInputError


@pytest.fixture(scope="module")
def sleep():
    return mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))


def test_ddf_methods_and_summary(sleep):
    assert sleep.ddf == "satterthwaite"
    assert "t-tests use Satterthwaite's method" in sleep.summary()
    assert "Pr(>|t|)" in sleep.summary()
    normal = sleep.refit(ddf="normal")
    assert np.all(np.isinf(normal.fixed["df"])) and "Wald z" in normal.summary()
    bw = sleep.refit(ddf="between-within").fixed["df"]
    assert bw.tolist() == [17.0, 180 - 18 - 1]  # intercept between subjects, Days within
    assert "Kenward-Roger" in sleep.refit(ddf="kenward-roger").summary()


def test_fixed_is_lazy(sleep):
    r = sleep.refit(sleep.simulate(1, seed=3)[0])
    assert "fixed" not in r.__dict__ and "_inference_cache" not in r.__dict__
    assert len(r.fixed) == 2
    assert "_inference_cache" in r.__dict__


def test_errors(sleep):
    with pytest.raises(MLMInputError, match="ddf must be one of"):
        mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"), ddf="containment")
    with pytest.raises(MLMInputError, match="REML"):
        mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"), reml=False, ddf="kenward-roger")
    with pytest.raises(MLMInputError, match="Available: Intercept, Days"):
        mh.wald_test(sleep, ["days"])
    with pytest.raises(MLMInputError, match="method must be one of"):
        mh.confint(sleep, method="likelihood")
    with pytest.raises(MLMInputError, match="level must be"):
        mh.confint(sleep, method="wald", level=95)
    with pytest.raises(MLMInputError, match="interval must be"):
        sleep.predict(interval="both")


def test_confint_rows_and_bootstrap():
    res = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
    ci = mh.confint(res, method="bootstrap", nsim=200, seed=5, progress=False)
    assert list(ci.index) == ["sd_Intercept|Subject", "sigma", "Intercept", "Days"]
    assert ci.equals(mh.confint(res, method="bootstrap", nsim=200, seed=5, progress=False))
    est = [np.sqrt(res.varcorr["vcov"].iloc[0]), np.sqrt(res.sigma2), *res.fixed["estimate"]]
    assert np.all((ci["lower"] < est) & (est < ci["upper"]))


def test_satterthwaite_covers_at_ten_groups():
    """Seeded: 10 groups of 5, a between-group predictor; 95% t intervals with Satterthwaite df."""
    start = time.perf_counter()
    rng = np.random.default_rng(13)
    J, m = 10, 5
    g = np.repeat(np.arange(J), m)
    w = np.repeat(rng.normal(size=J), m)
    data = pd.DataFrame({"g": g.astype(str), "w": w, "y": 0.0})
    data["y"] = 0.5 * w + rng.normal(size=J)[g] + rng.normal(0, 2, J * m)
    base = mh.fit("y ~ w + (1 | g)", data)
    hits, z_hits, R = 0, 0, 1000
    for _ in range(R):
        y = 0.5 * w + rng.normal(size=J)[g] + rng.normal(0, 2, J * m)
        fx = base.refit(y, warn=False).fixed.loc["w"]
        hits += fx["ci_lower"] <= 0.5 <= fx["ci_upper"]
        z_hits += abs(fx["estimate"] - 0.5) <= 1.959964 * fx["se"]
    assert abs(hits / R - 0.95) <= 0.02
    assert z_hits < hits  # the Wald z interval undercovers
    assert time.perf_counter() - start < 20


@pytest.mark.parametrize("kind", ["new group", "new unit"])
def test_prediction_interval_coverage(kind):
    rng = np.random.default_rng(21 if kind == "new group" else 22)
    J, m = 30, 8
    g = np.repeat(np.arange(J), m)
    x = rng.normal(size=J * m)
    data = pd.DataFrame({"g": g.astype(str), "x": x, "y": 0.0})

    def draw(u):
        return 1.0 + 0.5 * x + u[g] + rng.normal(0, 1.0, J * m)

    base = mh.fit("y ~ x + (1 | g)", data.assign(y=draw(rng.normal(0, 1.0, J))))
    hits, R = 0, 600
    for _ in range(R):
        u = rng.normal(0, 1.0, J)
        res = base.refit(draw(u), warn=False)
        if kind == "new group":
            new = pd.DataFrame({"x": [1.0], "g": ["unseen"]})
            truth = 1.5 + rng.normal(0, 1.0) + rng.normal(0, 1.0)
        else:
            new = pd.DataFrame({"x": [1.0], "g": ["3"]})
            truth = 1.5 + u[3] + rng.normal(0, 1.0)
        iv = res.predict(new, interval="prediction").iloc[0]
        hits += iv["lower"] <= truth <= iv["upper"]
    assert abs(hits / R - 0.95) <= 0.03


def test_profile_errors_and_boundaries(sleep):
    import copy

    stuck = copy.copy(sleep)
    stuck.converged = False
    with pytest.raises(MLMInputError, match="did not converge"):
        mh.confint(stuck, method="profile")
    # a standard deviation estimated at 0 (Dyestuff2): its interval starts at the boundary
    # (lme4: 0 and 2.084)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d2 = mh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff2"))
    ci = mh.confint(d2, method="profile")
    assert ci.loc["sd_Intercept|Batch", "lower"] == 0.0
    assert ci.loc["sd_Intercept|Batch", "upper"] == pytest.approx(2.08405, rel=1e-3)


def test_profile_correlation_reaches_one():
    """A correlation estimated at +1: the profile interval ends at 1."""
    rng = np.random.default_rng(3)
    J, m = 12, 6
    g = np.repeat(np.arange(J), m)
    x = np.tile(np.arange(m), J).astype(float)
    u0 = rng.normal(size=J)
    u1 = 0.3 * u0 + 0.01 * rng.normal(size=J)
    data = pd.DataFrame({"g": g.astype(str), "x": x,
                         "y": 1 + 0.5 * x + u0[g] + u1[g] * x + rng.normal(0, 0.5, J * m)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mh.fit("y ~ x + (x | g)", data)
    ci = mh.confint(res, method="profile")
    assert ci.loc["cor_x.Intercept|g", "upper"] == 1.0
    assert 0 < ci.loc["cor_x.Intercept|g", "lower"] < 1


def test_profile_fixed_effect_equals_the_offset_refit():
    """The closed form over the other fixed effects equals general_setup(X without x_j, y - b x_j)."""
    from mlm_helpers.inference.profile import MLPieces
    from mlm_helpers.model._numerics import LOG2PI
    from mlm_helpers.model.deviance import general_pieces, general_setup

    res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    model = res.model
    n = model.nobs
    theta = np.array([0.9, 0.02, 0.25])
    ldl, r2, beta, vd = MLPieces(model)(theta[None])
    b = 9.0
    closed = ldl[0] + n * (1 + LOG2PI + np.log((r2[0] + (b - beta[0, 1]) ** 2 / vd[0, 1]) / n))
    setup = general_setup(model, X=model.X[:, [0]], y=model.y - b * model.X[:, 1])
    assert closed == pytest.approx(general_pieces(setup, theta, False)["deviance"], rel=1e-10)


def test_prediction_intervals_with_several_factors():
    """Crossed factors: known and new levels per factor, against the dense conditional covariance."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mh.fit("diameter ~ 1 + (1 | plate) + (1 | sample)", mh.load_dataset("penicillin"))
    data = res.data
    new = pd.DataFrame({"plate": ["a", "a", "zz", "zz"], "sample": ["A", "new", "A", "new"]})
    iv = res.predict(new, interval="confidence")
    # dense check: Var(b | y) = (Z'Z / sigma2 + G^-1)^-1 over both factors' levels
    plates, samples = res.ranef["plate"].index, res.ranef["sample"].index
    Z = np.hstack([(data["plate"].astype(str).to_numpy()[:, None] == plates.to_numpy()[None]).astype(float),
                   (data["sample"].astype(str).to_numpy()[:, None] == samples.to_numpy()[None]).astype(float)])
    vc = res.varcorr.set_index("group")["vcov"]
    G = np.diag(np.r_[np.full(len(plates), vc["plate"]), np.full(len(samples), vc["sample"])])
    C = np.linalg.inv(Z.T @ Z / res.sigma2 + np.linalg.inv(G))
    vfix = float(res.vcov_fixed.iloc[0, 0])
    ia, iA = list(plates).index("a"), len(plates) + list(samples).index("A")
    expected = [vfix + C[ia, ia] + C[iA, iA] + 2 * C[ia, iA], vfix + C[ia, ia] + vc["sample"],
                vfix + vc["plate"] + C[iA, iA], vfix + vc["plate"] + vc["sample"]]
    half = (iv["upper"] - iv["fit"]).to_numpy() / 1.959963984540054
    assert half ** 2 == pytest.approx(np.array(expected), rel=1e-8)
    pred = res.predict(new, interval="prediction")
    assert (((pred["upper"] - pred["fit"]) / 1.959963984540054) ** 2).to_numpy() == pytest.approx(
        np.array(expected) + res.sigma2, rel=1e-8)


def test_several_factor_variance_matches_one_factor_path(sleep):
    new = pd.DataFrame({"Days": [0.0, 4.0, 9.0], "Subject": ["308", "new", "372"]})
    one = sleep.predict(new, interval="confidence")
    X = np.column_stack([np.ones(3), new["Days"]])
    var = np.einsum("np,pq,nq->n", X, sleep.vcov_fixed.to_numpy(), X) + sleep._random_part_variance(new)
    assert (((one["upper"] - one["fit"]) / 1.959963984540054) ** 2).to_numpy() == pytest.approx(var, rel=1e-8)


def test_confint_rows_with_several_factors():
    """Factors in the formula's order (as result.varcorr), lme4's names."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = mh.fit("strength ~ 1 + (1 | batch) + (1 | sample)", mh.load_dataset("pastes"))
        b = mh.fit("strength ~ 1 + (1 | sample) + (1 | batch)", mh.load_dataset("pastes"))
    assert list(mh.confint(a, method="wald").index) == ["sd_Intercept|batch", "sd_Intercept|sample", "sigma",
                                                        "Intercept"]
    assert list(mh.confint(b, method="wald").index) == ["sd_Intercept|sample", "sd_Intercept|batch", "sigma",
                                                        "Intercept"]
    assert [g for g in a.varcorr["group"] if g != "Residual"] == ["batch", "sample"]


def test_profile_of_a_reml_fit_is_that_of_its_ml_refit():
    """As lme4's profile(): a REML fit is profiled through its ML refit."""
    data = mh.load_dataset("sleepstudy")
    reml = mh.confint(mh.fit("Reaction ~ Days + (1 | Subject)", data), method="profile")
    ml = mh.confint(mh.fit("Reaction ~ Days + (1 | Subject)", data, reml=False), method="profile")
    assert reml.to_numpy() == pytest.approx(ml.to_numpy(), rel=1e-6)
    # and a 90% interval sits inside the 95% one
    narrow = mh.confint(mh.fit("Reaction ~ Days + (1 | Subject)", data), method="profile", level=0.9)
    assert (narrow["lower"] > reml["lower"]).all() and (narrow["upper"] < reml["upper"]).all()
