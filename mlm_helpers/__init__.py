"""mlm_helpers: data sets, simulators, fitters and plots for a course on multilevel models.

The public API is what this module lists in ``__all__``; everything loads on first use, so
``import mlm_helpers`` is quick and statsmodels loads only when its engine runs. The package's
folders show its architecture (see ARCHITECTURE.md at the repository's root):

- :mod:`mlm_helpers.model`: formula -> model frame -> engines -> result, with comparison (LRT),
  ICC, the profiled deviance (``mh.profiled_deviance``, ``mh.deviance_parts``) and the optimiser record;
- :mod:`mlm_helpers.simulation`: data simulators for two-level, crossed and three-level designs;
- :mod:`mlm_helpers.plots`: figures and the shared style;
- :mod:`mlm_helpers.explorers`: the slider explorers;
- :mod:`mlm_helpers.companions`: one module per chapter topic (``mh.clustering``, ``mh.montecarlo``...);
- :mod:`mlm_helpers.exercises`: the answer checker.

Examples
--------
>>> import mlm_helpers as mh
>>> mh.load_dataset("sleepstudy").shape
(180, 3)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    ConvergenceWarning,
    FewGroupsWarning,
    FitFailedError,
    InputWarning,
    MissingDataWarning,
    MLMInputError,
    MLMWarning,
    SingularFitWarning,
)

__version__ = "0.1.0"

#: Public functions and classes, by the module that defines them (loaded on first use).
_ATTRIBUTES: dict[str, str] = {
    "fit": "model.fitting",
    "ENGINES": "model.engines",
    "MixedResult": "model.result",
    "OptSummary": "model.optsummary",
    "lrt": "model.compare",
    "LRTResult": "model.compare",
    "chibar_pvalue": "model.compare",
    "icc": "model.icc",
    "wald_test": "inference.wald",
    "confint": "inference.confint",
    "r2": "inference.r2",
    "icc_anova": "model.icc",
    "design_effect": "model.icc",
    "profiled_deviance": "model.objective",
    "deviance_parts": "model.objective",
    "DevianceParts": "model.objective",
    "load_dataset": "datasets",
    "list_datasets": "datasets",
    "simulate_two_level": "simulation.two_level",
    "centre_grand": "companions.centring",
    "centre_within": "companions.centring",
    "within_between_effects": "companions.centring",
    "check_answer": "exercises",
    "list_exercises": "exercises",
}

#: Modules reachable as ``mh.<name>`` (and ``from mlm_helpers import <name>``).
_MODULES: dict[str, str] = {
    "check": "check",
    "numbers": "numbers",
    "datasets": "datasets",
    "errors": "errors",
    "model": "model",
    "inference": "inference",
    "simulation": "simulation",
    "plots": "plots",
    "explorers": "explorers",
    "companions": "companions",
    "exercises": "exercises",
    # chapter companions and explorers, by the short names the chapters use
    "clustering": "companions.clustering",
    "pooling": "companions.pooling",
    "centring": "companions.centring",
    "bayes": "companions.bayes",
    "simstudy": "companions.simstudy",
    "reporting": "companions.reporting",
    "diagnostics": "companions.diagnostics",
    "montecarlo": "companions.montecarlo",
    "casestudies": "companions.casestudies",
    "designs": "simulation.designs",
    "icc_explorer": "explorers.icc",
    "shrinkage_explorer": "explorers.shrinkage",
    "slopes_explorer": "explorers.slopes",
}

__all__ = [
    "ConvergenceWarning",
    "FewGroupsWarning",
    "FitFailedError",
    "InputWarning",
    "MLMInputError",
    "MLMWarning",
    "MissingDataWarning",
    "SingularFitWarning",
    "fit",
    "ENGINES",
    "MixedResult",
    "OptSummary",
    "lrt",
    "LRTResult",
    "chibar_pvalue",
    "icc",
    "wald_test",
    "confint",
    "r2",
    "icc_anova",
    "design_effect",
    "profiled_deviance",
    "deviance_parts",
    "DevianceParts",
    "load_dataset",
    "list_datasets",
    "simulate_two_level",
    "centre_grand",
    "centre_within",
    "within_between_effects",
    "check_answer",
    "list_exercises",
    "check",
    "numbers",
    "datasets",
    "errors",
    "model",
    "simulation",
    "plots",
    "explorers",
    "companions",
    "exercises",
    "clustering",
    "pooling",
    "centring",
    "bayes",
    "simstudy",
    "reporting",
    "diagnostics",
    "montecarlo",
    "casestudies",
    "designs",
    "icc_explorer",
    "shrinkage_explorer",
    "slopes_explorer",
]


def __getattr__(name: str) -> Any:
    if name in _ATTRIBUTES:
        value = getattr(importlib.import_module(f".{_ATTRIBUTES[name]}", __name__), name)
    elif name in _MODULES:
        value = importlib.import_module(f".{_MODULES[name]}", __name__)
    else:
        raise AttributeError(f"module 'mlm_helpers' has no attribute {name!r}")
    globals()[name] = value  # later look-ups are plain attribute access
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what static type checkers and editors see
    from . import check, numbers
    from .companions.centring import centre_grand, centre_within, within_between_effects
    from .datasets import list_datasets, load_dataset
    from .exercises import check_answer, list_exercises
    from .inference.confint import confint
    from .inference.r2 import r2
    from .inference.wald import wald_test
    from .model.compare import LRTResult, chibar_pvalue, lrt
    from .model.engines import ENGINES
    from .model.fitting import fit
    from .model.icc import design_effect, icc, icc_anova
    from .model.objective import DevianceParts, deviance_parts, profiled_deviance
    from .model.optsummary import OptSummary
    from .model.result import MixedResult
    from .simulation.two_level import simulate_two_level
