"""mlm_helpers: data sets, simulators, fitters and plots for a course on multilevel models.

Examples
--------
>>> import mlm_helpers as mh
>>> mh.load_dataset("sleepstudy").shape
(180, 3)
"""

from .datasets import list_datasets, load_dataset
from .errors import (
    ConvergenceWarning,
    FewGroupsWarning,
    MissingDataWarning,
    MLMInputError,
    SingularFitWarning,
)
from .fitting import fit
from .result import MixedResult
from .simulate import simulate_two_level

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "FewGroupsWarning",
    "MLMInputError",
    "MissingDataWarning",
    "MixedResult",
    "SingularFitWarning",
    "fit",
    "list_datasets",
    "load_dataset",
    "simulate_two_level",
]
