"""mlm_helpers: data sets, simulators, fitters and plots for a course on multilevel models.

Examples
--------
>>> import mlm_helpers as mh
>>> mh.load_dataset("sleepstudy").shape
(180, 3)
"""

from __future__ import annotations

import importlib
from types import ModuleType

from . import numbers
from .centring import centre_grand, centre_within, within_between_effects
from .compare import LRTResult, chibar_pvalue, lrt
from .datasets import list_datasets, load_dataset
from .errors import (
    ConvergenceWarning,
    FewGroupsWarning,
    MissingDataWarning,
    MLMInputError,
    SingularFitWarning,
)
from .exercises import check_answer, list_exercises
from .fitting import fit
from .icc import design_effect, icc, icc_anova
from .optsummary import OptSummary
from .result import MixedResult
from .simulate import simulate_two_level

__version__ = "0.1.0"

# Submodules loaded on first use (``mh.check.run()``), not at import: ``python -m
# mlm_helpers.check`` would otherwise find the module already imported by the package and
# print a RuntimeWarning before running it.
_LAZY_SUBMODULES = ("check",)


def __getattr__(name: str) -> ModuleType:
    """Import the lazily loaded submodules (``mh.check``) on first access.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> mh.check.__name__
    'mlm_helpers.check'
    """
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))


__all__ = [
    "ConvergenceWarning",
    "FewGroupsWarning",
    "MLMInputError",
    "MissingDataWarning",
    "MixedResult",
    "OptSummary",
    "SingularFitWarning",
    "LRTResult",
    "centre_grand",
    "check",
    "numbers",
    "check_answer",
    "list_exercises",
    "centre_within",
    "within_between_effects",
    "chibar_pvalue",
    "design_effect",
    "fit",
    "icc",
    "icc_anova",
    "lrt",
    "list_datasets",
    "load_dataset",
    "simulate_two_level",
]
