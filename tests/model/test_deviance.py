"""The one profiled-deviance core: its batched forms agree with the single form and with lme4's algebra."""

from __future__ import annotations

import numpy as np
import pytest

import mlm_helpers as mh
from mlm_helpers.model.deviance import (
    deviance_pieces,
    general_pieces,
    general_setup,
    profiled_deviance,
    response_parts,
    sufficient_stats,
)
from mlm_helpers.model.frame import build_model

MODELS = [
    ("Reaction ~ Days + (1 | Subject)", "sleepstudy"),
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy"),
    ("Reaction ~ Days + (Days || Subject)", "sleepstudy"),
    ("MathAch ~ SES + (SES | School)", "hsb"),
]


@pytest.mark.parametrize("formula, dataset", MODELS)
def test_batched_over_thetas_and_data_sets_agrees_with_single_evaluations(formula, dataset):
    model = build_model(formula, mh.load_dataset(dataset))
    ss = sufficient_stats(model)
    rng = np.random.default_rng(1)
    res = mh.fit(formula, mh.load_dataset(dataset))
    Y = res.simulate(3, seed=2)  # three data sets on the same design
    batch = ss.with_response(*response_parts(model, Y))
    thetas = np.abs(rng.normal(0.5, 0.3, size=(4, 3, ss.n_theta)))  # 4 thetas per data set
    for reml in (True, False):
        many = deviance_pieces(thetas, batch, reml).deviance  # (4, 3)
        for r in range(3):
            single = ss.with_response(*response_parts(model, Y[r]))
            for k in range(4):
                assert many[k, r] == pytest.approx(profiled_deviance(thetas[k, r], single, reml), rel=1e-12)


@pytest.mark.parametrize("formula, dataset", MODELS)
def test_pieces_satisfy_lme4s_identities(formula, dataset):
    """W_j = Lambda M_j^-1 Lambda' gives the same sums as lme4's R_ZX,j and c_u,j."""
    ss = sufficient_stats(build_model(formula, mh.load_dataset(dataset)))
    pc = deviance_pieces(np.full(ss.n_theta, 0.6), ss)
    np.testing.assert_allclose(np.einsum("jap,jar->pr", pc.RZX, pc.RZX), ss.XtX - pc.XtXa, rtol=1e-10)
    cu2 = float((pc.cu**2).sum())
    r2 = ss.yty - cu2 - float(pc.cbeta @ pc.cbeta)
    assert pc.r2 == pytest.approx(r2, rel=1e-10)


def test_fast_engine_many_responses_agree_with_one_at_a_time():
    res = mh.fit("Reaction ~ Days + (1 | Subject)", mh.load_dataset("sleepstudy"))
    Y = res.simulate(5, seed=3)
    table = res.refit_many(Y)
    for r in range(5):
        one = res.refit(Y[r], warn=False)
        assert table.loc[r, "loglik"] == pytest.approx(one.loglik, rel=1e-10)
        assert table.loc[r, "Days"] == pytest.approx(one.fixed.loc["Days", "estimate"], rel=1e-7)
        assert table.loc[r, "vcov_0"] == pytest.approx(one.varcorr["vcov"].iloc[0], rel=1e-6)


@pytest.mark.filterwarnings("ignore::mlm_helpers.FewGroupsWarning")
def test_blocked_form_equals_one_factor_form():
    """With one factor, the blocked (several-factor) deviance is the one-factor deviance."""
    model = build_model("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
    setup = general_setup(model)
    ss = sufficient_stats(model)
    for t in ([0.0, 0.0, 0.0], [0.3, 0.1, 0.2], [1.7, -0.5, 0.4]):
        for reml in (True, False):
            assert general_pieces(setup, np.array(t), reml)["deviance"] == pytest.approx(
                profiled_deviance(t, ss, reml), rel=1e-12)


def test_derivatives_match_central_gradient_and_hessian():
    from mlm_helpers.model._numerics import central_gradient, central_hessian, derivatives

    f = lambda pts: (pts[:, 0] - 0.3) ** 2 * (1 + pts[:, 1] ** 2) + np.exp(pts[:, 1])  # noqa: E731
    lb = np.array([0.0, -np.inf])
    for x in (np.array([0.7, 0.4]), np.array([0.00005, 0.4]), np.array([0.0, 0.4])):
        v, g, H = derivatives(f, x, lb, 1e-4)
        v0, g0 = central_gradient(f, x, lb, 1e-4)
        assert v == v0
        np.testing.assert_allclose(g, g0, rtol=1e-12)
        np.testing.assert_allclose(H, central_hessian(f, x, np.array([True, True])), rtol=1e-3, atol=1e-6)
