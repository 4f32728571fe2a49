"""Inference on a fitted model: degrees of freedom, Wald tests, intervals, R².

The layer above :mod:`mlm_helpers.model`: every function here takes a fitted
:class:`~mlm_helpers.MixedResult` and evaluates the one profiled deviance of
:mod:`mlm_helpers.model.deviance` (never a copy of it).

- :mod:`.ddf`: denominator degrees of freedom of the fixed effects (Satterthwaite as lmerTest,
  Kenward-Roger as pbkrtest, between-within, normal) and :func:`~.ddf.wald_test`;
- :mod:`.confint`: :func:`~.confint.confint`, profile, parametric-bootstrap and Wald intervals;
- :mod:`.r2`: :func:`~.r2.r2`, Nakagawa & Schielzeth's R² and Snijders & Bosker's reductions;
- :mod:`.predict`: prediction and confidence intervals for ``MixedResult.predict``.

``MixedResult.fixed`` reaches :mod:`.ddf` by name at run time (``importlib``), as the engine
registry loads engines: the model layer has no static import of this one.
"""

from __future__ import annotations

__all__: list[str] = []
