"""Inference on a fitted model: degrees of freedom, Wald tests, intervals, R².

The layer above :mod:`mlm_helpers.model`: every function here takes a fitted
:class:`~mlm_helpers.MixedResult` and evaluates the one profiled deviance of
:mod:`mlm_helpers.model.deviance` (never a copy of it).

- :mod:`.wald`: :func:`~.wald.wald_test`, multi-df Wald F (or chi-squared) tests with the fit's
  df method (the df themselves are part of the fixed-effects table: :mod:`mlm_helpers.model.ddf`);
- :mod:`.confint`: :func:`~.confint.confint`, profile, parametric-bootstrap and Wald intervals;
- :mod:`.profile`: the likelihood profiles behind ``confint(method="profile")``;
- :mod:`.r2`: :func:`~.r2.r2`, Nakagawa & Schielzeth's R² and Snijders & Bosker's reductions.

The model layer imports nothing from this one.
"""

from __future__ import annotations

__all__: list[str] = []
