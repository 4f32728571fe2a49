"""mlm_helpers: data sets, simulators, fitters and plots for a course on multilevel models.

Examples
--------
>>> import mlm_helpers as mh
>>> mh.load_dataset("sleepstudy").shape
(180, 3)
"""

from . import check, numbers
from .centring import centre_grand, centre_within, within_between_effects
from .compare import LRTResult, chibar_pvalue, lrt
from .datasets import list_datasets, load_dataset
from .errors import (
    ConvergenceWarning,
    FewGroupsWarning,
    InputWarning,
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

__all__ = [
    "ConvergenceWarning",
    "FewGroupsWarning",
    "InputWarning",
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
