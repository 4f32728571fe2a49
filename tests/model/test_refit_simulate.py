"""The public API for simulation loops: res.refit(y), res.simulate(n, seed), res.refit_many(Y)."""

from __future__ import annotations

import numpy as np
import pytest

import mlm_helpers as mh


@pytest.fixture(scope="module")
def ri_30x20():
    df = mh.simulate_two_level(30, 20, beta0=10.0, tau00=2.0, sigma2=8.0, seed=11)
    return mh.fit("y ~ x + (1 | group)", df)


def test_refit_new_response_equals_a_fresh_fit(ri_30x20):
    y = ri_30x20.simulate(1, seed=5)[0]
    data = ri_30x20.model.data.copy()
    data["y"] = y
    fresh = mh.fit("y ~ x + (1 | group)", data)
    refit = ri_30x20.refit(y)
    assert refit.loglik == pytest.approx(fresh.loglik, rel=1e-12)
    np.testing.assert_allclose(refit.fixed["estimate"], fresh.fixed["estimate"], rtol=1e-9)
    np.testing.assert_allclose(refit.ranef, fresh.ranef, rtol=1e-7, atol=1e-10)
    assert refit.data["y"].tolist() == pytest.approx(y.tolist())


def test_refit_checks_its_input(ri_30x20):
    with pytest.raises(mh.MLMInputError, match="one value per row"):
        ri_30x20.refit(np.zeros(5))
    with pytest.raises(mh.MLMInputError, match="missing or infinite"):
        ri_30x20.refit(np.full(ri_30x20.nobs, np.nan))
    with pytest.raises(mh.MLMInputError, match="nsim"):
        ri_30x20.simulate(0)


def test_simulate_draws_from_the_fitted_model(ri_30x20):
    Y = ri_30x20.simulate(4000, seed=1)
    assert Y.shape == (4000, ri_30x20.nobs)
    np.testing.assert_array_equal(Y[:3], ri_30x20.simulate(3, seed=1)[:3])  # seeded
    tau00 = ri_30x20.varcorr["vcov"].iloc[0]
    total = tau00 + ri_30x20.sigma2
    # two rows of the same group covary by tau00, of different groups not at all
    g = ri_30x20.model.blocks[0].codes
    same = np.flatnonzero(g == g[0])[:2]
    other = np.flatnonzero(g != g[0])[0]
    assert np.var(Y[:, 0]) == pytest.approx(total, rel=0.1)
    assert np.cov(Y[:, same[0]], Y[:, same[1]])[0, 1] == pytest.approx(tau00, abs=0.25 * total)
    assert abs(np.cov(Y[:, 0], Y[:, other])[0, 1]) < 0.15 * total


def test_thousand_refits_in_one_batch(ri_30x20):
    """The speed is measured by benchmarks/refit_speed.py; here, that the batch is right."""
    Y = ri_30x20.simulate(1000, seed=2)
    table = ri_30x20.refit_many(Y)
    assert table.shape[0] == 1000 and table["converged"].all()
    # the truth is recovered on average
    assert table["x"].mean() == pytest.approx(ri_30x20.fixed.loc["x", "estimate"], abs=0.02)


def test_refit_many_with_random_slopes_loops_over_refit():
    res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    table = res.refit_many(res.simulate(3, seed=4))
    assert list(table.columns[:3]) == ["loglik", "Intercept", "Days"]
    assert {"vcov_0", "vcov_1", "vcov_2", "sigma2", "singular", "converged"} <= set(table.columns)


def test_refit_many_batches_random_slopes():
    """Random slopes: batched Newton steps from the fit agree with refitting each response on its own."""
    import time

    res = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    Y = res.simulate(200, seed=1)
    start = time.perf_counter()
    table = res.refit_many(Y)
    assert time.perf_counter() - start < 5  # about 1 s; a loop of refits takes about 6 s
    assert table["converged"].all()
    for r in range(0, 200, 25):
        one = res.refit(Y[r], warn=False)
        assert table.loc[r, "Days"] == pytest.approx(one._raw.beta[1], rel=1e-6)
        assert table.loc[r, "loglik"] == pytest.approx(one.loglik, abs=1e-6)
        assert table.loc[r, ["vcov_0", "vcov_1", "vcov_2"]].to_numpy(float) == pytest.approx(
            one.varcorr["vcov"].iloc[:3].to_numpy(), rel=1e-4, abs=1e-6)
        assert bool(table.loc[r, "singular"]) == one.is_singular
